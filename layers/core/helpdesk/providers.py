"""Outbound channel clients built from settings: the one place that picks a client per channel."""

from __future__ import annotations

from functools import cache

from helpdesk.channels import Channel, PermanentSendError
from helpdesk.jobs import AnswerButtonJob
from helpdesk.models import Channel as ChannelName
from helpdesk.sandbox import SandboxChannel
from helpdesk.settings import get_settings
from helpdesk.telegram import TelegramClient
from helpdesk.whatsapp import WhatsAppClient


@cache
def channel_for(name: ChannelName) -> Channel:
    settings = get_settings()
    if name == ChannelName.SANDBOX:
        return SandboxChannel(settings.sandbox_url)
    if name == ChannelName.TELEGRAM:
        return telegram_client()
    if name == ChannelName.WHATSAPP:
        if not settings.whatsapp_access_token or not settings.whatsapp_phone_number_id:
            raise PermanentSendError("WHATSAPP_ACCESS_TOKEN / WHATSAPP_PHONE_NUMBER_ID not set")
        return WhatsAppClient(
            settings.whatsapp_api_base,
            settings.whatsapp_api_version,
            settings.whatsapp_access_token.get_secret_value(),
            settings.whatsapp_phone_number_id,
        )
    raise PermanentSendError(f"no outbound client for the {name.value} channel")


@cache
def telegram_client() -> TelegramClient:
    settings = get_settings()
    if not settings.telegram_bot_token:
        raise PermanentSendError("TELEGRAM_BOT_TOKEN is not set")
    return TelegramClient(
        settings.telegram_api_base, settings.telegram_bot_token.get_secret_value()
    )


def answer_button(job: AnswerButtonJob) -> None:
    """Stop the spinner on the client's button (Telegram wants an answer to every press)."""
    telegram_client().answer_callback_query(job.callback_query_id, job.text)
