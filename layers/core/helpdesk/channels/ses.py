"""Amazon SES's notifications, as SNS delivers them: a received mail (the receipt rule's S3
action with a topic) and feedback on mail we sent (bounce, complaint).

Formats: "Amazon SES email receiving notification contents" (`notificationType: Received`,
`receipt.action.bucketName / objectKey`, `receipt.spamVerdict` ...) and "Amazon SES
notification contents" for bounces and complaints (`notificationType: Bounce | Complaint`);
a configuration set's event destination names the same objects `eventType`. Samples:
events/email/*.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.models import utc_now

VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")


class MalformedNotification(ValueError):
    """Not an SES notification we can act on; the message names what is missing."""


@dataclass(frozen=True)
class Received:
    """A mail SES accepted for one of our mailboxes and stored in S3."""

    ses_message_id: str
    bucket: str
    key: str
    recipients: tuple[str, ...]
    source: str  # the envelope sender (MAIL FROM); "" for a bounce
    at: datetime
    verdicts: dict[str, str] = field(default_factory=dict)  # spam/virus/spf/dkim/dmarc: PASS ...


@dataclass(frozen=True)
class Feedback:
    """SES's word that a mail we sent bounced or was reported as spam."""

    kind: str  # bounce, complaint
    ses_message_id: str  # the id SES gave the mail we sent
    feedback_id: str
    sender: str  # our mailbox it went from
    recipients: tuple[tuple[str, str], ...]  # (address, why)
    permanent: bool  # a hard bounce or a complaint: the address goes on the suppression list
    at: datetime


def parse(notification: Any) -> Received | Feedback | None:
    """One SES notification (the SNS message's JSON); None for kinds we do not act on
    (deliveries, sends, opens, the subscription's own test)."""
    if not isinstance(notification, dict):
        raise MalformedNotification("an SES notification is a JSON object")
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") or {}
    if kind == "Received":
        receipt = notification.get("receipt") or {}
        action = receipt.get("action") or {}
        if action.get("type") != "S3" or not action.get("objectKey"):
            raise MalformedNotification("receipt.action is not an S3 action with an objectKey")
        return Received(
            ses_message_id=_text(mail, "messageId"),
            bucket=_text(action, "bucketName"),
            key=_text(action, "objectKey"),
            recipients=tuple(str(r).lower() for r in receipt.get("recipients") or []),
            source=str(mail.get("source") or ""),
            at=_time(mail.get("timestamp")),
            verdicts={
                name: str((receipt.get(f"{name}Verdict") or {}).get("status") or "")
                for name in VERDICTS
                if receipt.get(f"{name}Verdict")
            },
        )
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        why = f"bounce ({bounce.get('bounceType')}/{bounce.get('bounceSubType')})"
        bounced = [
            (r, " ".join(filter(None, [why, r.get("status"), r.get("diagnosticCode")])))
            for r in bounce.get("bouncedRecipients") or []
        ]
        return _feedback("bounce", bounce, mail, bounced, bounce.get("bounceType") == "Permanent")
    if kind == "Complaint":
        complaint = notification.get("complaint") or {}
        why = f"complaint ({complaint.get('complaintFeedbackType') or 'not given'})"
        complained = [(r, why) for r in complaint.get("complainedRecipients") or []]
        return _feedback("complaint", complaint, mail, complained, permanent=True)
    return None


def _feedback(
    kind: str,
    body: dict[str, Any],
    mail: dict[str, Any],
    recipients: list[tuple[dict[str, Any], str]],
    permanent: bool,
) -> Feedback:
    return Feedback(
        kind=kind,
        ses_message_id=_text(mail, "messageId"),
        feedback_id=_text(body, "feedbackId"),
        sender=str(mail.get("source") or "").lower(),
        recipients=tuple(
            (str(r.get("emailAddress") or "").lower(), why[:500]) for r, why in recipients
        ),
        permanent=permanent,
        at=_time(body.get("timestamp")),
    )


def from_sns(record: Any) -> Any:
    """The SES notification inside one SNS record of a Lambda event."""
    try:
        return json.loads(record["Sns"]["Message"])
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedNotification(f"not an SNS record with a JSON message: {error}") from error


def _text(source: dict[str, Any], name: str) -> str:
    value = source.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedNotification(f"{name} is missing")
    return value


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return utc_now()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
