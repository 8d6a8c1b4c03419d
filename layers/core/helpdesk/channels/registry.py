"""The channel registry: each channel's identity kind, direction lookup, webhook reader and
sender, so that a new channel (e-mail, the staff bot) is one entry here, never a new branch.

Provider adapters are imported where they are used: the tickets API never loads a webhook
parser or an HTTP client (its cold start stays short).

Senders are keyed by channel and service id (the bot or business number a ticket talks
through), so a second bot or number can send; they are built from settings once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from helpdesk import limits
from helpdesk.channels.base import (
    ButtonPress,
    InboundEvent,
    InboundMessage,
    PermanentSendError,
    Sender,
)
from helpdesk.errors import BadRequest, Forbidden, NotFound, Unauthorized
from helpdesk.models import Channel
from helpdesk.settings import Settings, get_settings

if TYPE_CHECKING:
    from helpdesk.channels.telegram import TelegramClient

WHATSAPP_WINDOW = timedelta(hours=24)  # Meta: free-form messages only within 24 h


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's request as API Gateway delivered it: lower-case headers, exact bytes."""

    headers: dict[str, str]
    raw: bytes


@dataclass(frozen=True)
class ChannelSpec:
    channel: Channel
    identity_kind: str  # whose address space: WhatsApp senders are phones, shared with calls
    address_of: Callable[[InboundMessage | ButtonPress], str]
    display_address: Callable[[InboundMessage], str | None]
    direction_for: Callable[[Settings, str], str | None]  # None: not ours, ignore the traffic
    read_webhook: Callable[[Settings, WebhookRequest], list[InboundEvent]] | None
    make_sender: Callable[[Settings, str | None], Sender] | None
    reply_window: timedelta | None = None  # only approved templates outside it
    greets: bool = True  # a messenger's first contact is greeted; a mail gets only its number
    # The resolution notice and the rating prompt in one message (a mail: no body limit
    # forces them apart, and two mails for one event read as noise).
    one_resolution_message: bool = False


def _read_telegram(settings: Settings, request: WebhookRequest) -> list[InboundEvent]:
    from helpdesk.channels import telegram

    header = request.headers.get("x-telegram-bot-api-secret-token")
    if not telegram.verify_secret(header, settings.secret("telegram_secret_token")):
        raise Unauthorized("missing or wrong X-Telegram-Bot-Api-Secret-Token")
    try:
        return telegram.parse_update(parse_body(request.raw), settings.own_telegram_bot_id())
    except telegram.MalformedPayload as error:
        raise BadRequest(str(error)) from error


def _read_whatsapp(settings: Settings, request: WebhookRequest) -> list[InboundEvent]:
    from helpdesk.channels import whatsapp

    secret = settings.secret("whatsapp_app_secret")
    header = request.headers.get("x-hub-signature-256")
    if not secret or not whatsapp.verify_signature(request.raw, header, secret):
        raise Unauthorized("missing or wrong X-Hub-Signature-256")
    try:
        return whatsapp.parse_notification(parse_body(request.raw))
    except whatsapp.MalformedPayload as error:
        raise BadRequest(str(error)) from error


def parse_body(raw: bytes) -> object:
    """A verified body as JSON within the edge limits, or 400 naming the problem."""
    try:
        return limits.parse_json(raw)
    except limits.LimitExceeded as error:
        raise BadRequest(str(error)) from error
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from error


def _telegram_sender(settings: Settings, service_id: str | None) -> Sender:
    from helpdesk.channels import telegram

    if not settings.telegram_bot_token:
        raise PermanentSendError("TELEGRAM_BOT_TOKEN is not set")
    if service_id and service_id != settings.own_telegram_bot_id():
        raise PermanentSendError(f"no token for the Telegram bot {service_id}")
    return telegram.TelegramClient(
        settings.telegram_api_base, settings.secret("telegram_bot_token")
    )


def _whatsapp_sender(settings: Settings, service_id: str | None) -> Sender:
    from helpdesk.channels import whatsapp

    if not settings.whatsapp_access_token:
        raise PermanentSendError("WHATSAPP_ACCESS_TOKEN is not set")
    number = service_id or settings.whatsapp_phone_number_id
    if not number:
        raise PermanentSendError("no WhatsApp business number to send from")
    return whatsapp.WhatsAppClient(
        settings.whatsapp_api_base,
        settings.whatsapp_api_version,
        settings.secret("whatsapp_access_token"),
        number,
    )


def _sandbox_sender(settings: Settings, service_id: str | None) -> Sender:
    from helpdesk.channels.sandbox import SandboxChannel

    if not settings.sandbox_url:
        raise PermanentSendError("the sandbox channel exists only on the local stack")
    return SandboxChannel(settings.sandbox_url)


def _email_sender(settings: Settings, service_id: str | None) -> Sender:
    from helpdesk.channels.mailer import EmailSender, OutboxTransport, SesTransport, StoreContext
    from helpdesk.store import Store

    transport = (
        OutboxTransport(settings.email_outbox_url)
        if settings.email_outbox_url
        else SesTransport(settings.email_configuration_set)
    )
    return EmailSender(StoreContext(settings, Store()), transport)


def _phone(message: InboundMessage | ButtonPress) -> str:
    phone = getattr(message, "sender_phone", None)
    return phone or f"+{message.sender_id.lstrip('+')}"


def _not_ours(settings: Settings, service_id: str) -> str | None:
    return None


SPECS: dict[Channel, ChannelSpec] = {
    Channel.TELEGRAM: ChannelSpec(
        Channel.TELEGRAM,
        identity_kind="telegram",
        address_of=lambda message: message.sender_id,
        display_address=lambda message: message.sender_username or message.sender_id,
        direction_for=lambda settings, bot: settings.direction_for_telegram_bot(bot),
        read_webhook=_read_telegram,
        make_sender=_telegram_sender,
    ),
    Channel.WHATSAPP: ChannelSpec(
        Channel.WHATSAPP,
        identity_kind="phone",
        address_of=_phone,
        display_address=_phone,
        direction_for=lambda settings, number: settings.direction_for_whatsapp_number(number),
        read_webhook=_read_whatsapp,
        make_sender=_whatsapp_sender,
        reply_window=WHATSAPP_WINDOW,
    ),
    Channel.EMAIL: ChannelSpec(
        Channel.EMAIL,
        identity_kind="email",  # an address of its own: never merged with phones by itself
        address_of=lambda message: message.sender_id.lower(),
        display_address=lambda message: message.sender_id.lower(),
        direction_for=lambda settings, mailbox: settings.direction_for_mailbox(mailbox),
        read_webhook=None,  # SES delivers through S3 and SNS: functions/email_intake
        make_sender=_email_sender,
        greets=False,
        one_resolution_message=True,
    ),
    Channel.SANDBOX: ChannelSpec(
        Channel.SANDBOX,
        identity_kind="sandbox",
        address_of=lambda message: message.sender_id,
        display_address=lambda message: message.sender_id,
        direction_for=_not_ours,
        read_webhook=None,
        make_sender=_sandbox_sender,
    ),
}


def spec(channel: Channel | str) -> ChannelSpec:
    try:
        return SPECS[Channel(channel)]
    except (ValueError, KeyError):
        raise NotFound(f"no channel {channel!r}", channels=[c.value for c in SPECS]) from None


def can_send(channel: Channel, settings: Settings | None = None) -> bool:
    """Whether anything written can reach a client in this channel (phone, manual: never)."""
    found = SPECS.get(channel)
    if found is None or found.make_sender is None:
        return False
    if channel == Channel.SANDBOX:
        return bool((settings or get_settings()).sandbox_url)
    return True


def read_webhook(channel: Channel, request: WebhookRequest) -> list[InboundEvent]:
    """Verify, then parse, a provider's webhook request (401 / 400 before anything else)."""
    reader = spec(channel).read_webhook
    if reader is None:
        raise NotFound(f"the {channel.value} channel has no webhook")
    return reader(get_settings(), request)


def whatsapp_challenge(params: dict[str, str]) -> str:
    from helpdesk.channels import whatsapp

    token = get_settings().secret("whatsapp_verify_token")
    challenge = whatsapp.verify_challenge(params, token) if token else None
    if challenge is None:
        raise Forbidden("hub.mode must be 'subscribe' and hub.verify_token must match")
    return challenge


@cache
def sender_for(channel: Channel, service_id: str | None) -> Sender:
    """The sender for a channel and service id, built once per process."""
    make = spec(channel).make_sender
    if make is None:
        raise PermanentSendError(f"nothing is sent in the {channel.value} channel")
    return make(get_settings(), service_id)


def staff_bot(settings: Settings) -> TelegramClient:
    """The bot as it works in the staff groups (topics, posts); refuses without a token."""
    from helpdesk.channels import telegram

    sender = sender_for(Channel.TELEGRAM, settings.own_telegram_bot_id())
    if not isinstance(sender, telegram.TelegramClient):
        raise PermanentSendError("the Telegram sender cannot manage topics")
    return sender
