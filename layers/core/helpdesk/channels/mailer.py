"""Sending e-mail: one stored message as a threaded mail, through SES or the local sandbox.

The sender reads what a mail needs beyond the text (the ticket's subject and number, the
client's last Message-ID, whether the message is automatic, the suppression list) through
`MailContext`; `channels.email.build_mail` writes it. SES replaces the Message-ID we write
with its own (`<id@region.amazonses.com>`): its id is what the dispatcher records as the
provider's, so a reply's In-Reply-To finds the message either way (channels.email.ticket_refs).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol

import requests

from helpdesk.channels.base import (
    OutboundText,
    PermanentSendError,
    RateLimited,
    SendResult,
    TransientSendError,
)
from helpdesk.channels.email import Outgoing, build_mail
from helpdesk.models import MessageKind
from helpdesk.settings import Settings

logger = logging.getLogger(__name__)


def aws_client(service: Literal["s3", "sesv2"]) -> Any:
    """A boto3 client, made when first needed (the import too: a cold start pays for it once)."""
    import boto3

    return boto3.client(service)


# SESv2 errors that no retry will change (the address, the identity, the account).
PERMANENT = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "NotFoundException",
        "BadRequestException",
    }
)
THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException", "Throttling"})


class MailContext(Protocol):
    """What the sender reads from the table (store-backed in the registry, fakes in tests)."""

    def outgoing(self, message: OutboundText) -> Outgoing: ...

    def suppressed(self, address: str) -> str | None: ...


class Transport(Protocol):
    def send(self, sender: str, recipient: str, raw: bytes, message_id: str) -> str: ...


@dataclass
class EmailSender:
    context: MailContext
    transport: Transport

    def send(self, message: OutboundText) -> SendResult:
        if not message.recipient_id or "@" not in message.recipient_id:
            raise PermanentSendError(f"not an e-mail address: {message.recipient_id!r}")
        if why := self.context.suppressed(message.recipient_id):
            raise PermanentSendError(f"{message.recipient_id} is on the suppression list: {why}")
        out = self.context.outgoing(message)
        mail = build_mail(out)
        provider_id = self.transport.send(
            out.sender, out.recipient, mail.as_bytes(), str(mail["Message-ID"])
        )
        return SendResult(provider_message_id=provider_id)


@dataclass
class StoreContext:
    """MailContext over the table: the message, its ticket, the thread, the list."""

    settings: Settings
    store: Any  # helpdesk.store.Store (imported lazily by the registry)

    def suppressed(self, address: str) -> str | None:
        record = self.store.mail.suppressed(address)
        return str(record.get("reason") or "suppressed") if record else None

    def outgoing(self, message: OutboundText) -> Outgoing:
        from helpdesk.errors import NotFound

        if not message.ticket_id or not message.message_id:
            raise PermanentSendError("an e-mail needs the ticket it belongs to")
        try:
            ticket = self.store.tickets.get(message.ticket_id)
        except NotFound as error:
            raise PermanentSendError(f"no ticket {message.ticket_id}") from error
        stored = self.store.messages.get(message.ticket_id, message.message_id)
        direction = self.settings.direction(ticket.direction)
        mailbox = (
            message.service_id
            or next(iter(direction.email.mailboxes), None)
            or self.settings.email_mailbox
        )
        if not mailbox:
            raise PermanentSendError(f"direction {ticket.direction} has no mailbox to send from")
        in_reply_to, references = self.store.mail.thread(ticket.id)
        return Outgoing(
            ticket_id=ticket.id,
            message_id=message.message_id,
            sender=mailbox,
            sender_name=direction.email.sender_name or direction.display_name(),
            recipient=message.recipient_id,
            subject=ticket.subject,
            text=message.text,
            buttons=tuple((b.label, b.data) for b in message.buttons),
            buttons_label=message.buttons_label,
            signature=direction.email.signature,
            automatic=stored is None or stored.kind != MessageKind.REPLY,
            in_reply_to=in_reply_to,
            references=tuple(references),
            at=stored.at if stored else None,
        )


class SesTransport:
    """SESv2 SendEmail with the raw message (our headers and both parts as written)."""

    def __init__(self, configuration_set: str | None = None, client: Any = None) -> None:
        self.configuration_set = configuration_set
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or aws_client("sesv2")

    def send(self, sender: str, recipient: str, raw: bytes, message_id: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return str(self.client.send_email(**request)["MessageId"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            detail = f"SES {code}: {error.response.get('Error', {}).get('Message', '')}"
            if code in THROTTLED:
                raise RateLimited(1, detail) from error
            if code in PERMANENT:
                raise PermanentSendError(detail) from error
            raise TransientSendError(detail) from error
        except ReadTimeoutError as error:
            raise TransientSendError(f"SES: {error}", maybe_sent=True) from error
        except BotoCoreError as error:
            raise TransientSendError(f"SES: {error}") from error


class OutboxTransport:
    """The local stack's sandbox (POST {url}): it shows the mail and sends nothing."""

    def __init__(self, url: str, session: requests.Session | None = None) -> None:
        self.url = url
        self.session = session or requests.Session()

    def send(self, sender: str, recipient: str, raw: bytes, message_id: str) -> str:
        body = {"from": sender, "to": recipient, "raw": base64.b64encode(raw).decode()}
        try:
            response = self.session.post(self.url, json=body, timeout=5)
        except requests.RequestException as error:
            raise TransientSendError(f"mail sandbox unreachable: {error}") from error
        if response.status_code >= 500:
            raise TransientSendError(f"mail sandbox answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentSendError(f"mail sandbox refused: {response.text[:200]}")
        return message_id
