"""WhatsApp Cloud API adapter: webhook verification, notification parsing and the send client.

Shapes follow Meta's WhatsApp Cloud API docs: the messages webhook (text, interactive
button_reply / list_reply, button, media, unsupported, statuses), the GET verification
request (hub.mode / hub.verify_token / hub.challenge), X-Hub-Signature-256, and
POST /{version}/{phone-number-id}/messages with its Graph API error envelope.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk import limits
from helpdesk.channels.base import (
    Attachment,
    ButtonPress,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    OutboundText,
    PermanentSendError,
    RateLimited,
    SendResult,
    TransientSendError,
)
from helpdesk.channels.http import post_json

MAX_REPLY_BUTTONS = 3  # interactive reply buttons: "up to three predefined replies"
BUTTON_TITLE_MAX_CHARS = 20
BUTTON_ID_MAX_CHARS = 256
TEXT_BODY_MAX_CHARS = 4096  # text.body
INTERACTIVE_BODY_MAX_CHARS = 1024  # interactive.body.text
MAX_QUICK_REPLIES = 10  # quick-reply buttons of a template

# Graph API error codes (error.code), see the Cloud API error codes reference.
OUTSIDE_WINDOW_CODE = 131047  # Re-engagement message: the 24-hour window is closed
PAIR_RATE_LIMIT_CODE = 131056  # too many messages to the same user in a short time
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, PAIR_RATE_LIMIT_CODE})
TRANSIENT_CODES = frozenset({2, 131000, 131016})  # API service / something went wrong / unavailable
PAIR_RATE_LIMIT_RETRY_AFTER = 60
RATE_LIMIT_RETRY_AFTER = 30
THROUGHPUT_CODE = 130429  # the number's messages-per-second throughput was reached
THROUGHPUT_RETRY_AFTER = 2  # a per-second cap: the next seconds are free again

DELIVERY_STATUSES = frozenset({"sent", "delivered", "read", "failed"})
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


class MalformedPayload(ValueError):
    """The webhook body is not a WhatsApp Business Account notification: answer 400."""


class OutsideCustomerWindow(PermanentSendError):
    """Error 131047: free-form text is refused outside the 24-hour window; send a template."""


class _Model(BaseModel):
    # strict: Meta sends JSON strings for ids and timestamps; coercing other types would hide
    # a forged or broken body.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)


class Metadata(_Model):
    display_phone_number: str | None = None
    phone_number_id: str


class Profile(_Model):
    name: str | None = None


class Contact(_Model):
    wa_id: str | None = None
    profile: Profile | None = None


class TextBody(_Model):
    body: str


class ReplyChoice(_Model):
    """interactive.button_reply or interactive.list_reply: the id is what we set."""

    id: str
    title: str | None = None
    description: str | None = None


class Interactive(_Model):
    type: str
    button_reply: ReplyChoice | None = None
    list_reply: ReplyChoice | None = None


class QuickReply(_Model):
    """A tap on a template's quick-reply button (message type "button")."""

    payload: str
    text: str | None = None


class Media(_Model):
    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool | None = None


class Context(_Model):
    from_: str | None = Field(default=None, alias="from")
    id: str | None = None


class WaMessage(_Model):
    from_: str = Field(alias="from")
    id: str
    timestamp: str | int
    type: str
    context: Context | None = None
    text: TextBody | None = None
    interactive: Interactive | None = None
    button: QuickReply | None = None
    image: Media | None = None
    document: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    sticker: Media | None = None


class Status(_Model):
    id: str  # wamid of the message we sent
    status: str
    timestamp: str | int
    recipient_id: str
    conversation: dict[str, Any] | None = None
    pricing: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = []


class Value(_Model):
    messaging_product: str | None = None
    metadata: Metadata
    contacts: list[Contact] = []
    messages: list[WaMessage] = []
    statuses: list[Status] = []
    errors: list[dict[str, Any]] = []


class Change(_Model):
    field: str
    value: dict[str, Any]  # its shape depends on field; only "messages" is read


class Entry(_Model):
    id: str
    changes: list[Change] = []


class Notification(_Model):
    object: Literal["whatsapp_business_account"]
    entry: list[Entry]


def verify_signature(raw_body: bytes | str, header_value: str | None, app_secret: str) -> bool:
    """Check X-Hub-Signature-256 ("sha256=<hex HMAC-SHA256 of the raw body, app secret>").

    Must be given the body exactly as received (a str is taken as its UTF-8 bytes):
    re-serialised JSON would not match.
    """
    if not header_value or not app_secret:
        return False
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    prefix, sep, received = header_value.strip().partition("=")
    if not sep or prefix.lower() != "sha256" or not received:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.lower().encode("utf-8"), expected.encode("ascii"))


def verify_challenge(params: dict[str, str], verify_token: str) -> str | None:
    """Answer Meta's GET subscription check: the hub.challenge to echo, or None to refuse."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    token = params.get("hub.verify_token") or ""
    challenge = params.get("hub.challenge")
    if not challenge or not hmac.compare_digest(
        token.encode("utf-8"), verify_token.encode("utf-8")
    ):
        return None
    return challenge


def parse_notification(body: Any) -> list[InboundEvent]:
    """Turn one webhook notification into helpdesk events, in the order Meta listed them.

    Items we deliberately skip (reactions, unsupported or system messages, other webhook
    fields) yield nothing; a body that is not a notification raises MalformedPayload.
    """
    if not isinstance(body, dict):
        raise MalformedPayload(
            f"WhatsApp notification must be a JSON object, got {type(body).__name__}"
        )
    try:
        notification = Notification.model_validate(body)
    except ValidationError as exc:
        raise MalformedPayload(f"not a WhatsApp notification: {_first_error(exc)}") from None

    events: list[InboundEvent] = []
    for entry in notification.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue  # template status, account updates...: not conversation traffic
            try:
                value = Value.model_validate(change.value)
            except ValidationError as exc:
                raise MalformedPayload(
                    f"not a WhatsApp messages value: {_first_error(exc)}"
                ) from None
            try:
                events.extend(_value_events(value))
            except limits.LimitExceeded as error:
                raise MalformedPayload(str(error)) from None
    return events


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


def _value_events(value: Value) -> list[InboundEvent]:
    service_id = limits.identifier(value.metadata.phone_number_id, "metadata.phone_number_id")
    names = {c.wa_id: c.profile.name for c in value.contacts if c.wa_id and c.profile}
    events: list[InboundEvent] = []
    for message in value.messages:
        event = _message_event(message, service_id, names)
        if event is not None:
            events.append(event)
    for status in value.statuses:
        if status.status in DELIVERY_STATUSES:
            events.append(_status_event(status, service_id))
    return events


def _message_event(
    msg: WaMessage, service_id: str, names: dict[str, str | None]
) -> InboundEvent | None:
    message_id = limits.identifier(msg.id, "messages[].id")
    sender = limits.identifier(msg.from_, "messages[].from", 64)
    event_id = f"wa:{message_id}"
    at = _timestamp(msg.timestamp, f"message {message_id}")
    if msg.type in ("interactive", "button"):
        data = _pressed_data(msg)
        if data is None:
            return None  # e.g. a Flow's nfm_reply: not a button we sent
        return ButtonPress(
            channel="whatsapp",
            event_id=event_id,
            service_id=service_id,
            sender_id=sender,
            data=limits.text(data, BUTTON_ID_MAX_CHARS),
            pressed_at=at,
            replied_to_message_id=limits.optional_identifier(
                msg.context.id if msg.context else None, "context.id"
            ),
        )

    attachments: tuple[Attachment, ...]
    if msg.type == "text":
        if msg.text is None:
            raise MalformedPayload(f"message {msg.id}: type text without a text object")
        text, attachments = limits.text(msg.text.body), ()
    elif msg.type in MEDIA_TYPES:
        media: Media | None = getattr(msg, msg.type)
        if media is None:
            raise MalformedPayload(f"message {msg.id}: type {msg.type} without its media object")
        kind = "voice" if msg.type == "audio" and media.voice else msg.type
        attachment = Attachment(
            kind=kind,
            file_id=limits.identifier(media.id, f"{msg.type}.id"),
            caption=limits.optional_text(media.caption),
            mime_type=limits.optional_text(media.mime_type, 255),
            file_name=limits.optional_text(media.filename, 255),
        )
        text, attachments = limits.text(media.caption), (attachment,)
    else:
        return None  # unsupported, system, reaction, location, contacts, order...

    name = names.get(msg.from_)
    if name is None and len(names) == 1:
        name = next(iter(names.values()))
    return InboundMessage(
        channel="whatsapp",
        event_id=event_id,
        service_id=service_id,
        sender_id=sender,
        provider_message_id=message_id,
        text=text,
        sent_at=at,
        sender_name=limits.optional_text(name, limits.MAX_NAME),
        sender_phone=_e164(sender),
        attachments=attachments,
    )


def _pressed_data(msg: WaMessage) -> str | None:
    if msg.type == "button":
        if msg.button is None:
            raise MalformedPayload(f"message {msg.id}: type button without a button object")
        return msg.button.payload
    if msg.interactive is None:
        raise MalformedPayload(f"message {msg.id}: type interactive without an interactive object")
    choice = {
        "button_reply": msg.interactive.button_reply,
        "list_reply": msg.interactive.list_reply,
    }.get(msg.interactive.type)
    if msg.interactive.type in ("button_reply", "list_reply") and choice is None:
        raise MalformedPayload(f"message {msg.id}: interactive {msg.interactive.type} is missing")
    return choice.id if choice else None


def _status_event(status: Status, service_id: str) -> DeliveryStatus:
    wamid = limits.identifier(status.id, "statuses[].id")
    return DeliveryStatus(
        channel="whatsapp",
        # A status id is the wamid of our message, shared by its sent/delivered/read.
        event_id=f"wa:{wamid}:{status.status}",
        service_id=service_id,
        provider_message_id=wamid,
        recipient_id=limits.identifier(status.recipient_id, "statuses[].recipient_id", 64),
        status=status.status,
        at=_timestamp(status.timestamp, f"status {wamid}"),
        conversation=limits.scalar_map(status.conversation),
        pricing=limits.scalar_map(status.pricing),
        error=_error_reason(status.errors) if status.status == "failed" else None,
    )


def _error_reason(errors: list[dict[str, Any]]) -> str:
    """Meta's first error as one line: '131026 Message undeliverable: <details>'."""
    if not errors or not isinstance(errors[0], dict):
        return "failed (Meta gave no reason)"
    error = errors[0]
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    parts = [
        str(part)
        for part in (error.get("code"), error.get("title") or error.get("message"))
        if part is not None
    ]
    reason = " ".join(parts) or "failed"
    if details:
        reason += f": {details}"
    return limits.text(reason, 500)


def _timestamp(raw: str | int, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedPayload(f"{what}: timestamp {raw!r} is not unix seconds") from None


def _e164(wa_id: str) -> str | None:
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    return f"+{digits}" if digits else None


class WhatsAppClient:
    """Cloud API /messages sender, with Graph API errors mapped onto the SendError family."""

    def __init__(
        self,
        base_url: str,
        api_version: str,
        access_token: str,
        default_phone_number_id: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._base_url = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        self._access_token = access_token
        self._default_phone_number_id = default_phone_number_id
        self._session = session or requests.Session()
        self._timeout = timeout

    def send(self, message: OutboundText) -> SendResult:
        """A template when template_name is set, reply buttons when buttons are, else text."""
        phone_number_id = message.service_id or self._default_phone_number_id
        response, data = post_json(
            self._session,
            f"{self._base_url}/{phone_number_id}/messages",
            message_payload(message),
            "whatsapp send",
            headers={"Authorization": f"Bearer {self._access_token}"},
            timeout=self._timeout,
        )
        if 200 <= response.status_code < 300 and "error" not in data:
            return SendResult(provider_message_id=_first_message_id(data))
        raise _send_error(response, data)


def message_payload(message: OutboundText) -> dict[str, Any]:
    """The /messages request body for one OutboundText, within Meta's documented limits
    (a send that would break one is a PermanentSendError with the reason, never a 400 later)."""
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.recipient_id,
    }
    if message.template_name:
        payload.update(type="template", template=_template(message))
        return payload
    limit = INTERACTIVE_BODY_MAX_CHARS if message.buttons else TEXT_BODY_MAX_CHARS
    if not message.text.strip() or len(message.text) > limit:
        raise PermanentSendError(
            f"whatsapp: a {'message with buttons' if message.buttons else 'text'} body must be "
            f"1-{limit} characters, got {len(message.text)}"
        )
    if len(message.buttons) > MAX_REPLY_BUTTONS:
        payload.update(type="interactive", interactive=_list(message))
    elif message.buttons:
        _check_titles(message, BUTTON_TITLE_MAX_CHARS)
        buttons = [
            {"type": "reply", "reply": {"id": button.data, "title": button.label}}
            for button in message.buttons
        ]
        payload.update(
            type="interactive",
            interactive={
                "type": "button",
                "body": {"text": message.text},
                "action": {"buttons": buttons},
            },
        )
    else:
        payload.update(type="text", text={"preview_url": False, "body": message.text})
    return payload


def _check_titles(message: OutboundText, limit: int) -> None:
    titles = [button.label for button in message.buttons]
    for button in message.buttons:
        if not 1 <= len(button.data) <= BUTTON_ID_MAX_CHARS:
            raise PermanentSendError(f"whatsapp: a button id must be 1-{BUTTON_ID_MAX_CHARS} chars")
        if not 1 <= len(button.label) <= limit:
            raise PermanentSendError(f"whatsapp: title {button.label!r} is over {limit} chars")
    if len(set(titles)) != len(titles):
        raise PermanentSendError(f"whatsapp: button titles must be unique: {titles}")


def _template(message: OutboundText) -> dict[str, Any]:
    """An approved template: body parameters in order, quick replies carrying our payloads
    (a rating pressed on a template button comes back as this payload)."""
    template: dict[str, Any] = {
        "name": message.template_name,
        "language": {"code": message.template_language or "en"},
    }
    components: list[dict[str, Any]] = []
    if message.template_params:
        parameters = [{"type": "text", "text": value} for value in message.template_params]
        components.append({"type": "body", "parameters": parameters})
    if len(message.buttons) > MAX_QUICK_REPLIES:
        raise PermanentSendError(f"whatsapp: a template has at most {MAX_QUICK_REPLIES} buttons")
    for index, button in enumerate(message.buttons):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": button.data}],
            }
        )
    if components:
        template["components"] = components
    return template


MAX_LIST_ROWS = 10
LIST_ROW_TITLE_MAX_CHARS = 24


def _list(message: OutboundText) -> dict[str, Any]:
    """More than three choices (e.g. 1-5 stars) go as a list message: up to ten rows."""
    if len(message.buttons) > MAX_LIST_ROWS:
        raise PermanentSendError(f"whatsapp: lists hold at most {MAX_LIST_ROWS} rows")
    _check_titles(message, LIST_ROW_TITLE_MAX_CHARS)
    label = (message.buttons_label or "Choose")[:BUTTON_TITLE_MAX_CHARS]
    rows = [{"id": button.data, "title": button.label} for button in message.buttons]
    return {
        "type": "list",
        "body": {"text": message.text},
        "action": {"button": label, "sections": [{"title": label[:24], "rows": rows}]},
    }


def _first_message_id(data: dict[str, Any]) -> str | None:
    messages = data.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        message_id = messages[0].get("id")
        return message_id if isinstance(message_id, str) else None
    return None


def _send_error(response: requests.Response, data: dict[str, Any]) -> Exception:
    status = response.status_code
    error = data.get("error")
    if not isinstance(error, dict):
        error = {}
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    text = details or error.get("message") or response.reason or "no message"
    detail = f"whatsapp send {status} (code {code}): {text}"

    if code == OUTSIDE_WINDOW_CODE:
        return OutsideCustomerWindow(detail)
    if status == 429 or code in RATE_LIMIT_CODES:
        return RateLimited(_retry_after(response, code), detail)
    if code in TRANSIENT_CODES or status >= 500:
        return TransientSendError(detail)
    if 400 <= status < 500:
        # 100 invalid parameter, 131008/131009 bad request, 131026 undeliverable,
        # 131030 not in the test allow-list, 131051 unsupported type, 132000/132001 template.
        return PermanentSendError(detail)
    return TransientSendError(detail)  # an error body on a 2xx, or an unexpected status


def _retry_after(response: requests.Response, code: int | None) -> int:
    header = (response.headers.get("Retry-After") or "").strip()
    if header.isdigit() and int(header) > 0:
        return int(header)
    if code == THROUGHPUT_CODE:
        return THROUGHPUT_RETRY_AFTER
    return PAIR_RATE_LIMIT_RETRY_AFTER if code == PAIR_RATE_LIMIT_CODE else RATE_LIMIT_RETRY_AFTER
