"""Mail from clients and SES's feedback on ours: into tickets, once, without loops.

A received mail is read from S3 (the receipt rule stored it), its attachments are copied next
to it, and the inbox threads it like a messenger message: the ticket its headers or subject
name (when it is this client's), else the client's open ticket, else a new one. What no robot
may answer (an auto-reply, a list, spam, a virus, mail whose sender SES could not
authenticate) is stored without any automatic answer; mail from our own mailboxes and delivery
reports are refused with the reason logged (the raw message stays in S3). The dedupe key is
the mail's Message-ID, so SES or SNS delivering it again, or the client's server sending it
twice, stores it once.

Costs (make bench): GetObject, a PutObject per attachment, then the inbox's reads and one
transaction; a new ticket adds the counter and one SQS call.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpdesk.channels import email
from helpdesk.channels.base import Attachment, ButtonPress, DeliveryStatus, InboundMessage
from helpdesk.channels.objects import ATTACHMENTS_PREFIX, Objects, S3Objects
from helpdesk.channels.ses import Feedback, Received
from helpdesk.settings import Settings, get_settings
from helpdesk.usecases.inbox import Inbox, Outcome

logger = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024  # larger parts stay in the raw message only
MAX_ATTACHMENTS = 50


def event_id(message_id: str | None, ses_message_id: str) -> str:
    """The dedupe key: the client's Message-ID (hashed: it may be long), else SES's id."""
    source = message_id or f"ses:{ses_message_id}"
    return "email:" + hashlib.sha256(source.encode()).hexdigest()[:40]


def unanswerable(verdicts: dict[str, str]) -> str | None:
    """Why SES's verdicts forbid any automatic answer (and subject threading), or None."""
    for name in ("virus", "spam"):
        if verdicts.get(name) == "FAIL":
            return f"SES {name} verdict FAIL"
    if verdicts.get("dmarc") == "FAIL" or (
        verdicts.get("spf") == "FAIL" and verdicts.get("dkim") == "FAIL"
    ):
        return "the sender could not be authenticated (SPF and DKIM, or DMARC, FAIL)"
    return None


@dataclass
class EmailIntake:
    inbox: Inbox = field(default_factory=Inbox)
    objects: Objects = field(default_factory=S3Objects)
    settings: Callable[[], Settings] = get_settings

    # -- a received mail ----------------------------------------------------------------

    def received(self, note: Received) -> Outcome:
        settings = self.settings()
        mailbox = next(
            (r for r in note.recipients if settings.direction_for_mailbox(r) is not None), None
        )
        if mailbox is None:
            logger.warning("mail for no mailbox of ours", extra={"to": list(note.recipients)})
            return Outcome("ignored")
        raw = self.objects.get(note.bucket, note.key)
        mail = email.read_mail(raw)
        where = {"ses_message_id": note.ses_message_id, "key": note.key}
        if mail.problems:
            logger.info("mail read with problems", extra={**where, "problems": mail.problems})
        sender = mail.from_address or note.source.lower()
        if sender in settings.own_mailboxes():
            logger.warning(
                "refused: From is one of our own mailboxes (a loop or forged)", extra=where
            )
            return Outcome("refused")
        if bounce := email.bounce_reason(mail):
            logger.warning(
                "refused: a delivery report, not a client's mail", extra={**where, "why": bounce}
            )
            return Outcome("refused")
        if "@" not in sender:
            logger.warning("refused: no sender address to answer", extra=where)
            return Outcome("refused")
        distrust = unanswerable(note.verdicts)
        key = event_id(mail.message_id, note.ses_message_id)
        rating = None if distrust else email.subject_rating(mail.subject)
        if rating:
            press = ButtonPress("email", key, mailbox, sender, rating, mail.sent_at or note.at)
            return self.inbox.receive([press])[0]
        quiet = distrust or email.auto_reason(mail, settings.own_mailboxes())
        attachments = self.keep_attachments(note.bucket, note.key, key, mail.parts)
        details: dict[str, Any] = {
            "subject": mail.subject,
            "message_id": mail.message_id,
            "in_reply_to": list(mail.in_reply_to),
            "references": list(mail.references),
            "to": list(mail.to)[:20],
            "raw": f"s3://{note.bucket}/{note.key}",
            "verdicts": note.verdicts,
        }
        if quiet:
            details["no_auto_reply"] = quiet
        if distrust:
            details["flagged"] = distrust
        if mail.problems:
            details["problems"] = list(mail.problems)[:10]
        text = mail.text or ("" if attachments else "(no text)")
        message = InboundMessage(
            channel="email",
            event_id=key,
            service_id=mailbox,
            sender_id=sender,
            provider_message_id=mail.message_id or note.ses_message_id,
            text=text,
            sent_at=mail.sent_at or note.at,
            sender_name=mail.from_name,
            attachments=attachments,
            ticket_hint=None if distrust else self._ticket_of(mail),
            subject=mail.subject or None,
            quiet=quiet,
            details=details,
        )
        outcome = self.inbox.receive([message])[0]
        if quiet:
            logger.info("stored without automatic answers", extra={**where, "why": quiet})
        return outcome

    def _ticket_of(self, mail: email.Mail) -> str | None:
        """The ticket a reply names: our Message-IDs, SES's ids of what we sent, the subject."""
        tickets, ses_ids = email.ticket_refs(mail)
        if tickets:
            return tickets[0]
        for ses_id in ses_ids[:3]:
            record = self.inbox.store.provider_messages.get("email", ses_id)
            if record and record.get("ticket_id"):
                return str(record["ticket_id"])
        return email.subject_ticket(mail.subject)

    def keep_attachments(
        self, bucket: str, raw_key: str, key: str, parts: tuple[email.Part, ...]
    ) -> tuple[Attachment, ...]:
        """Each part copied beside the raw message under a key made from the mail's dedupe
        key, so a redelivery writes the same objects again (harmless)."""
        stored = []
        for number, part in enumerate(parts[:MAX_ATTACHMENTS]):
            kind = "image" if part.mime_type.startswith("image/") else "document"
            caption = "inline" if part.inline else None
            if len(part.data) > MAX_ATTACHMENT_BYTES:
                logger.warning(
                    "attachment kept in the raw message only",
                    extra={"file": part.file_name, "bytes": len(part.data)},
                )
                stored.append(
                    Attachment(
                        kind,
                        f"s3://{bucket}/{raw_key}",
                        caption,
                        part.mime_type,
                        part.file_name,
                        len(part.data),
                        f"larger than {MAX_ATTACHMENT_BYTES // 2**20} MB: in the original",
                    )
                )
                continue
            object_key = (
                f"{ATTACHMENTS_PREFIX}{key.removeprefix('email:')}/{number}-{part.file_name}"
            )
            self.objects.put(bucket, object_key, part.data, part.mime_type)
            stored.append(
                Attachment(
                    kind,
                    f"s3://{bucket}/{object_key}",
                    caption,
                    part.mime_type,
                    part.file_name,
                    len(part.data),
                )
            )
        if len(parts) > MAX_ATTACHMENTS:
            logger.warning("more parts than kept", extra={"parts": len(parts)})
        return tuple(stored)

    # -- bounces and complaints ------------------------------------------------------------

    def feedback(self, note: Feedback) -> list[Outcome]:
        """The message we sent is marked failed with SES's reason (the ticket is flagged);
        a hard bounce or a complaint puts the address on the suppression list."""
        outcomes = []
        for address, why in note.recipients:
            if note.permanent and address:
                added = self.inbox.store.mail.suppress(address, why, note.at)
                logger.info("suppression list", extra={"added": added, "why": why})
            status = DeliveryStatus(
                channel="email",
                event_id=f"{note.feedback_id}:{address}",
                service_id=note.sender,
                provider_message_id=note.ses_message_id,
                recipient_id=address,
                status="failed",
                at=note.at,
                error=why,
            )
            outcomes.extend(self.inbox.receive([status]))
        return outcomes
