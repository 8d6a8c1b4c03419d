"""Telegram Bot API adapter: webhook verification, Update parsing and the sendMessage client.

Payload shapes follow https://core.telegram.org/bots/api (Update, Message, CallbackQuery,
PhotoSize, Document, setWebhook secret_token, sendMessage, answerCallbackQuery,
ResponseParameters). Only the fields the helpdesk reads are modelled; the rest is ignored.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk import clock, limits
from helpdesk.channels.base import (
    Attachment,
    Button,
    ButtonPress,
    InboundEvent,
    InboundMessage,
    OutboundText,
    PermanentSendError,
    RateLimited,
    SendResult,
    StaffPost,
    TransientSendError,
)
from helpdesk.channels.http import post_json

# InlineKeyboardButton.callback_data: "Data to be sent in a callback query ..., 1-64 bytes".
CALLBACK_DATA_MAX_BYTES = 64
# sendMessage.text: "Text of the message to be sent, 1-4096 characters after entities parsing".
TEXT_MAX_CHARS = 4096
# createForumTopic / editForumTopic name: "Topic name, 1-128 characters".
TOPIC_NAME_MAX_CHARS = 128
# Used when a 429 carries no parameters.retry_after (should not happen, but must not be 0).
DEFAULT_RETRY_AFTER = 30

_RETRY_AFTER_IN_TEXT = re.compile(r"retry after (\d+)", re.IGNORECASE)
_INTEGER_CHAT_ID = re.compile(r"-?\d+")


class MalformedPayload(ValueError):
    """The webhook body is not a Telegram Update: answer 400, never retry it."""


class _Model(BaseModel):
    # strict: Telegram sends real JSON ints/strings, so a "123" where an int belongs is a
    # forgery or a bug, not something to coerce silently.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, populate_by_name=True)


class User(_Model):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None


class Chat(_Model):
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


class PhotoSize(_Model):
    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int | None = None


class FileRef(_Model):
    """The common part of Document, Audio, Video, Voice and Sticker."""

    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


class Message(_Model):
    """A Message, or an InaccessibleMessage (which has only chat, message_id and date=0)."""

    message_id: int
    from_: User | None = Field(default=None, alias="from")
    chat: Chat
    date: int
    edit_date: int | None = None
    text: str | None = None
    caption: str | None = None
    photo: list[PhotoSize] | None = None
    document: FileRef | None = None
    audio: FileRef | None = None
    video: FileRef | None = None
    voice: FileRef | None = None
    sticker: FileRef | None = None
    # Forum supergroups (the staff group): the topic, and what a message answers. Every
    # message of a topic that is not an explicit reply has the topic's own first message
    # (the one with forum_topic_created) as its reply_to_message.
    message_thread_id: int | None = None
    is_topic_message: bool | None = None
    reply_to_message: Message | None = None
    forum_topic_created: dict[str, Any] | None = None


class CallbackQuery(_Model):
    id: str
    from_: User = Field(alias="from")
    message: Message | None = None
    inline_message_id: str | None = None
    chat_instance: str
    data: str | None = None


class Update(_Model):
    """At most one of the optional fields is present in any given update."""

    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    callback_query: CallbackQuery | None = None


def verify_secret(header_value: str | None, expected: str) -> bool:
    """Check X-Telegram-Bot-Api-Secret-Token against the secret_token given to setWebhook.

    Constant time, so the secret cannot be guessed byte by byte from response timings.
    An empty expected secret never matches: a misconfigured stage must not accept everyone.
    """
    if not header_value or not expected:
        return False
    return hmac.compare_digest(header_value.encode("utf-8"), expected.encode("utf-8"))


def parse_update(
    body: Any, service_id: str, *, received_at: datetime | None = None
) -> list[InboundEvent]:
    """Turn one webhook Update into helpdesk events; [] for updates we deliberately ignore.

    service_id says which bot received it. received_at stamps button presses, because a
    CallbackQuery carries no date of its own (defaults to now, UTC).
    """
    if not isinstance(body, dict):
        raise MalformedPayload(f"Telegram update must be a JSON object, got {type(body).__name__}")
    try:
        update = Update.model_validate(body)
    except ValidationError as exc:
        raise MalformedPayload(f"not a Telegram Update: {_first_error(exc)}") from None

    # update_id is only unique per bot, so the bot is part of the dedupe key.
    try:
        event_id = limits.identifier(f"tg:{service_id}:{update.update_id}", "update_id")
        _check_ids(update)
    except limits.LimitExceeded as error:
        raise MalformedPayload(str(error)) from None
    if update.message is not None:
        return _message_events(update.message, event_id, service_id, edited=False)
    if update.edited_message is not None:
        return _message_events(update.edited_message, event_id, service_id, edited=True)
    if update.callback_query is not None:
        pressed_at = received_at or clock.now()
        return _callback_events(update.callback_query, event_id, service_id, pressed_at)
    return []  # my_chat_member, channel_post, inline_query, ...: not a client's message


def _check_ids(update: Update) -> None:
    """Ids become keys: refuse numbers no Telegram object has (ids fit in 64 bits)."""
    for message in (update.message, update.edited_message):
        if message is not None:
            limits.identifier(str(message.chat.id), "chat.id", 32)
            limits.identifier(str(message.message_id), "message_id", 32)
    if update.callback_query is not None:
        limits.identifier(update.callback_query.id, "callback_query.id", 64)
        if update.callback_query.message is not None:
            limits.identifier(str(update.callback_query.message.chat.id), "chat.id", 32)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


def _message_events(
    msg: Message, event_id: str, service_id: str, *, edited: bool
) -> list[InboundEvent]:
    if msg.chat.type == "supergroup" and not edited:
        return _staff_posts(msg, event_id, service_id)
    if msg.chat.type != "private":
        return []  # the helpdesk talks to clients one to one; groups are not tickets
    attachments = _attachments(msg)
    text = limits.text(msg.text if msg.text is not None else (msg.caption or ""))
    if not text and not attachments:
        return []  # service messages, locations, polls...: nothing an agent can answer
    timestamp = msg.edit_date if edited and msg.edit_date else msg.date
    sent_at = _sent_at(timestamp)
    return [
        InboundMessage(
            channel="telegram",
            event_id=event_id,
            service_id=service_id,
            sender_id=str(msg.chat.id),
            provider_message_id=str(msg.message_id),
            text=text,
            sent_at=sent_at,
            sender_name=limits.optional_text(_sender_name(msg), limits.MAX_NAME),
            sender_username=limits.optional_text(_username(msg), limits.MAX_NAME),
            attachments=attachments,
            edited=edited,
        )
    ]


def _staff_posts(msg: Message, event_id: str, service_id: str) -> list[InboundEvent]:
    """A message in a supergroup: maybe staff in a ticket's topic (usecases.topics decides
    whether the group is a staff group and who wrote). An edit is not taken again: a comment
    once made stays as it was said."""
    attachments = _attachments(msg)
    text = limits.text(msg.text if msg.text is not None else (msg.caption or ""))
    author = msg.from_
    if author is None or (not text and not attachments):
        return []  # a service message (topic created, closed, a member joined) or anonymous
    replied = msg.reply_to_message
    explicit = (
        replied is not None
        and replied.forum_topic_created is None
        and replied.message_id != msg.message_thread_id
    )
    in_topic = bool(msg.is_topic_message) and msg.message_thread_id is not None
    return [
        StaffPost(
            channel="telegram",
            event_id=event_id,
            service_id=service_id,
            chat_id=str(msg.chat.id),
            thread_id=str(msg.message_thread_id) if in_topic else None,
            message_id=str(msg.message_id),
            author_id=str(author.id),
            author_name=limits.optional_text(_sender_name(msg), limits.MAX_NAME),
            author_is_bot=author.is_bot,
            text=text,
            sent_at=_sent_at(msg.date),
            attachments=attachments,
            reply_to_author_id=(
                str(replied.from_.id) if explicit and replied and replied.from_ else None
            ),
            reply_to_text=(
                limits.optional_text(replied.text or replied.caption, 200)
                if explicit and replied
                else None
            ),
        )
    ]


def _sent_at(timestamp: int) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise MalformedPayload(f"message date {timestamp} is not unix seconds") from None


def _attachments(msg: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if msg.photo:
        # Telegram sends every size it made; the largest is the one worth keeping.
        largest = max(msg.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(
            Attachment(
                kind="photo",
                file_id=limits.identifier(largest.file_id, "photo.file_id"),
                caption=limits.optional_text(msg.caption),
            )
        )
    for kind in ("document", "audio", "video", "voice"):
        ref: FileRef | None = getattr(msg, kind)
        if ref is not None:
            found.append(
                Attachment(
                    kind=kind,
                    file_id=limits.identifier(ref.file_id, f"{kind}.file_id"),
                    caption=limits.optional_text(msg.caption),
                    mime_type=limits.optional_text(ref.mime_type, 255),
                    file_name=limits.optional_text(ref.file_name, 255),
                )
            )
    if msg.sticker is not None:
        found.append(
            Attachment(
                kind="sticker",
                file_id=limits.identifier(msg.sticker.file_id, "sticker.file_id"),
                mime_type=limits.optional_text(msg.sticker.mime_type, 255),
            )
        )
    return tuple(found)


def _sender_name(msg: Message) -> str | None:
    person = msg.from_
    first = person.first_name if person else msg.chat.first_name
    last = person.last_name if person else msg.chat.last_name
    full = " ".join(part for part in (first, last) if part)
    return full or (person.username if person else msg.chat.username) or None


def _username(msg: Message) -> str | None:
    username = msg.from_.username if msg.from_ else msg.chat.username
    return f"@{username}" if username else None


def _callback_events(
    query: CallbackQuery, event_id: str, service_id: str, pressed_at: datetime
) -> list[InboundEvent]:
    # No message means an inline-mode button (we never send those); no data means a game.
    if query.message is None or query.data is None:
        return []
    if query.message.chat.type != "private":
        return []
    return [
        ButtonPress(
            channel="telegram",
            event_id=event_id,
            service_id=service_id,
            sender_id=str(query.message.chat.id),
            data=limits.text(query.data, CALLBACK_DATA_MAX_BYTES * 4),
            pressed_at=pressed_at,
            callback_query_id=query.id,
            replied_to_message_id=str(query.message.message_id),
        )
    ]


class TelegramClient:
    """Outbound Bot API calls, with provider errors mapped onto the channels.SendError family."""

    def __init__(
        self,
        base_url: str,
        token: str,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._bot_url = f"{base_url.rstrip('/')}/bot{token}"
        self._session = session or requests.Session()
        self._timeout = timeout

    def send(self, message: OutboundText) -> SendResult:
        """sendMessage, with the buttons (if any) as one row of an inline keyboard."""
        return self._send(send_message_payload(message))

    def edit(self, recipient_id: str, message_id: str, text: str) -> None:
        """editMessageText: a channel post brought up to date in place. The Bot API refuses
        an edit that changes nothing ("message is not modified"): that is already done."""
        try:
            self._call("editMessageText", edit_message_payload(recipient_id, message_id, text))
        except PermanentSendError as error:
            if "message is not modified" not in str(error):
                raise

    # -- the staff group's topics (forum supergroup; the bot an admin that manages topics) --

    def create_topic(self, chat_id: str, name: str) -> str:
        """createForumTopic: the new topic's message_thread_id."""
        result = self._call("createForumTopic", create_topic_payload(chat_id, name))
        thread = result.get("message_thread_id") if isinstance(result, dict) else None
        if not isinstance(thread, int):
            raise TransientSendError("telegram createForumTopic: no message_thread_id in result")
        return str(thread)

    def edit_topic(self, chat_id: str, thread_id: str, name: str) -> None:
        self._topic_call("editForumTopic", edit_topic_payload(chat_id, thread_id, name))

    def close_topic(self, chat_id: str, thread_id: str) -> None:
        self._topic_call("closeForumTopic", topic_payload(chat_id, thread_id))

    def reopen_topic(self, chat_id: str, thread_id: str) -> None:
        self._topic_call("reopenForumTopic", topic_payload(chat_id, thread_id))

    def post(self, chat_id: str, thread_id: str | None, text: str) -> str | None:
        """sendMessage into a topic (thread_id None: the general topic); the message id."""
        return self._send(topic_post_payload(chat_id, thread_id, text)).provider_message_id

    def _topic_call(self, method: str, payload: dict[str, Any]) -> None:
        """The Bot API refuses a change that changes nothing (TOPIC_NOT_MODIFIED: a name
        already set, a topic already closed): that is already done."""
        try:
            self._call(method, payload)
        except PermanentSendError as error:
            if "TOPIC_NOT_MODIFIED" not in str(error):
                raise

    def _send(self, payload: dict[str, Any]) -> SendResult:
        result = self._call("sendMessage", payload)
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return SendResult(provider_message_id=None if message_id is None else str(message_id))

    def _call(self, method: str, payload: dict[str, Any]) -> Any:
        # The URL holds the bot token: post_json never quotes it in an error.
        response, data = post_json(
            self._session,
            f"{self._bot_url}/{method}",
            payload,
            f"telegram {method}",
            timeout=self._timeout,
        )
        status = response.status_code
        if 200 <= status < 300 and data.get("ok") is True:
            return data.get("result")

        error_code = data.get("error_code")
        code = error_code if isinstance(error_code, int) else status
        description = str(data.get("description") or response.reason or "no description")
        detail = f"telegram {method} {code}: {description}"
        if status == 429 or code == 429:
            raise RateLimited(_retry_after(data, description), detail)
        if status >= 500 or code >= 500:
            raise TransientSendError(detail)
        if 400 <= code < 500 or 400 <= status < 500:
            # 403 bot blocked / user deactivated, 400 chat not found, 401/404 bad token:
            # sending the same request again cannot succeed.
            raise PermanentSendError(detail)
        raise TransientSendError(detail)  # ok=false on a 2xx, or no JSON at all


def send_message_payload(message: OutboundText) -> dict[str, Any]:
    """The sendMessage parameters for one OutboundText, within the Bot API's limits."""
    if not message.text.strip() or len(message.text) > TEXT_MAX_CHARS:
        raise PermanentSendError(
            f"telegram sendMessage: text must be 1-{TEXT_MAX_CHARS} characters, "
            f"got {len(message.text)}"
        )
    payload: dict[str, Any] = {"chat_id": _chat_id(message.recipient_id), "text": message.text}
    if message.buttons:
        row = [_inline_button(button) for button in message.buttons]
        payload["reply_markup"] = {"inline_keyboard": [row]}
    return payload


def edit_message_payload(recipient_id: str, message_id: str, text: str) -> dict[str, Any]:
    """The editMessageText parameters that replace a message's text."""
    payload = send_message_payload(OutboundText(recipient_id=recipient_id, text=text))
    payload["message_id"] = int(message_id)
    return payload


def topic_post_payload(chat_id: str, thread_id: str | None, text: str) -> dict[str, Any]:
    payload = send_message_payload(OutboundText(recipient_id=chat_id, text=text))
    if thread_id is not None:
        payload["message_thread_id"] = int(thread_id)
    return payload


def create_topic_payload(chat_id: str, name: str) -> dict[str, Any]:
    return {"chat_id": _chat_id(chat_id), "name": _topic_name(name)}


def edit_topic_payload(chat_id: str, thread_id: str, name: str) -> dict[str, Any]:
    return {**topic_payload(chat_id, thread_id), "name": _topic_name(name)}


def topic_payload(chat_id: str, thread_id: str) -> dict[str, Any]:
    return {"chat_id": _chat_id(chat_id), "message_thread_id": int(thread_id)}


def _topic_name(name: str) -> str:
    if not name.strip() or len(name) > TOPIC_NAME_MAX_CHARS:
        raise PermanentSendError(
            f"telegram topic name must be 1-{TOPIC_NAME_MAX_CHARS} characters, got {len(name)}"
        )
    return name


def answer_callback_query(callback_query_id: str, text: str | None = None) -> dict[str, Any]:
    """An answerCallbackQuery call given as the webhook's own response (the Bot API allows one
    method call in the reply to an update): the client's spinner stops at once, and a
    refusal of a stale query can never be retried into the dead-letter queue."""
    reply: dict[str, Any] = {
        "method": "answerCallbackQuery",
        "callback_query_id": callback_query_id,
    }
    if text:
        reply["text"] = text[:200]
    return reply


def _chat_id(recipient_id: str) -> int | str:
    # Numeric ids go out as JSON integers, as the Bot API documents chat_id.
    return int(recipient_id) if _INTEGER_CHAT_ID.fullmatch(recipient_id) else recipient_id


def _inline_button(button: Button) -> dict[str, str]:
    size = len(button.data.encode("utf-8"))
    if not 1 <= size <= CALLBACK_DATA_MAX_BYTES:
        raise PermanentSendError(
            f"callback_data must be 1-{CALLBACK_DATA_MAX_BYTES} bytes in UTF-8, "
            f"got {size} for button {button.label!r}"
        )
    return {"text": button.label, "callback_data": button.data}


def _retry_after(data: dict[str, Any], description: str) -> int:
    parameters = data.get("parameters")
    if isinstance(parameters, dict):
        value = parameters.get("retry_after")
        if isinstance(value, int) and value > 0:
            return value
    match = _RETRY_AFTER_IN_TEXT.search(description)
    return int(match.group(1)) if match else DEFAULT_RETRY_AFTER
