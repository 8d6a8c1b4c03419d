"""What every messenger adapter turns its traffic into, and what every sender raises.

Adapters (telegram, whatsapp, and the ones to come) verify and parse provider payloads into
these plain types; the use cases never see a provider format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Attachment:
    kind: str  # photo, document, image, audio, video, voice, sticker, location
    file_id: str
    caption: str | None = None
    mime_type: str | None = None
    file_name: str | None = None
    size: int | None = None  # bytes, when the provider tells it (e-mail)
    note: str | None = None  # why it is not stored as it came (too large: in the original)


@dataclass(frozen=True)
class InboundMessage:
    """A client's message (or an edit of one) as a provider delivered it."""

    channel: str
    event_id: str  # provider's own unique id of this delivery's content: the dedupe key
    service_id: str  # which bot / business number received it: selects the direction
    sender_id: str  # chat id (Telegram) or wa_id (WhatsApp): where replies go
    provider_message_id: str
    text: str
    sent_at: datetime
    sender_name: str | None = None
    sender_username: str | None = None  # @username, when the provider tells it
    sender_phone: str | None = None  # E.164 with '+', when the provider tells it
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False
    # E-mail (channels/email.py): the ticket its headers or subject name, the subject, why
    # nothing automatic may answer it (an auto-reply, a list, spam), and what the message
    # keeps of its headers.
    ticket_hint: str | None = None
    subject: str | None = None
    quiet: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class ButtonPress:
    """A press on a button we sent (CSAT ratings come this way)."""

    channel: str
    event_id: str
    service_id: str
    sender_id: str
    data: str  # the payload / callback_data we put on the button
    pressed_at: datetime
    callback_query_id: str | None = None  # Telegram wants answerCallbackQuery
    replied_to_message_id: str | None = None


@dataclass(frozen=True)
class DeliveryStatus:
    """A provider's word on a message we sent: sent, delivered, read, failed."""

    channel: str
    event_id: str
    service_id: str
    provider_message_id: str
    recipient_id: str
    status: str
    at: datetime
    # WhatsApp's conversation and pricing objects, kept for finance, as plain scalars
    # (limits.scalar_map): no provider object is stored verbatim.
    conversation: dict[str, str | int | bool] = field(default_factory=dict)
    pricing: dict[str, str | int | bool] = field(default_factory=dict)
    error: str | None = None  # why a 'failed' status failed: "131026: Message undeliverable"


@dataclass(frozen=True)
class StaffPost:
    """A message in a direction's staff group (a forum supergroup), in a ticket's topic or in
    the general one: staff talking about a ticket, or answering its client from there."""

    channel: str
    event_id: str
    service_id: str  # the bot that received it
    chat_id: str  # the supergroup
    thread_id: str | None  # the topic (message_thread_id); None: the general topic
    message_id: str
    author_id: str  # the Telegram user who wrote it
    author_name: str | None
    author_is_bot: bool
    text: str
    sent_at: datetime
    attachments: tuple[Attachment, ...] = ()
    # An explicit reply (Telegram's Reply), not the topic's own first message that every
    # message of a topic points at: whose message it answers and how that message begins.
    reply_to_author_id: str | None = None
    reply_to_text: str | None = None


InboundEvent = InboundMessage | ButtonPress | DeliveryStatus | StaffPost


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class OutboundText:
    """A text to a client, optionally with reply buttons or as an approved template."""

    recipient_id: str
    text: str
    buttons: tuple[Button, ...] = ()
    buttons_label: str | None = None  # a menu of choices' own label (WhatsApp list button)
    service_id: str | None = None  # WhatsApp: the phone_number_id to send from
    template_name: str | None = None  # WhatsApp: approved template for outside the 24h window
    template_language: str | None = None
    template_params: tuple[str, ...] = field(default_factory=tuple)
    ticket_id: str | None = None  # the stored message this send is (e-mail reads its thread)
    message_id: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None


class SendError(Exception):
    """A send that did not happen; subclasses say whether to retry."""


class RateLimited(SendError):
    def __init__(self, retry_after_seconds: int, detail: str = "rate limited") -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class PermanentSendError(SendError):
    """The provider will never accept this send (blocked bot, invalid number): stop retrying."""


class TransientSendError(SendError):
    """Network trouble or a provider 5xx: retry later. `maybe_sent` when the request left
    and no answer came back (a read timeout, a dropped connection): the provider may have
    taken it, so what must go at most once is not sent again."""

    def __init__(self, detail: str = "transient send error", maybe_sent: bool = False) -> None:
        super().__init__(detail)
        self.maybe_sent = maybe_sent


class Sender(Protocol):
    """Delivers one message in a channel; raises a SendError subclass when it did not."""

    def send(self, message: OutboundText) -> SendResult: ...


@runtime_checkable
class Editor(Protocol):
    """A sender that can change a message it sent (Telegram's editMessageText)."""

    def send(self, message: OutboundText) -> SendResult: ...

    def edit(self, recipient_id: str, message_id: str, text: str) -> None: ...
