"""Webhook intake: verify a provider's request before anything is parsed or stored.

Each function raises `Unauthorized` (missing or wrong secret / signature) or `BadRequest`
(not JSON, not the provider's format) and otherwise returns the provider's events in the
plain types of `channels`. An unset secret refuses everything.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from helpdesk import telegram, whatsapp
from helpdesk.channels import InboundEvent
from helpdesk.errors import BadRequest, Forbidden, Unauthorized
from helpdesk.settings import get_settings


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value else ""


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from error


def telegram_events(secret_header: str | None, raw: bytes) -> list[InboundEvent]:
    settings = get_settings()
    expected = (
        settings.telegram_secret_token.get_secret_value() if settings.telegram_secret_token else ""
    )
    if not telegram.verify_secret(secret_header, expected):
        raise Unauthorized("missing or wrong X-Telegram-Bot-Api-Secret-Token")
    try:
        return telegram.parse_update(parse_json(raw), settings.telegram_bot_id())
    except telegram.MalformedPayload as error:
        raise BadRequest(str(error)) from error


def whatsapp_events(signature_header: str | None, raw: bytes) -> list[InboundEvent]:
    settings = get_settings()
    secret = _secret(settings.whatsapp_app_secret)
    if not secret or not whatsapp.verify_signature(raw, signature_header, secret):
        raise Unauthorized("missing or wrong X-Hub-Signature-256")
    try:
        return whatsapp.parse_notification(parse_json(raw))
    except whatsapp.MalformedPayload as error:
        raise BadRequest(str(error)) from error


def whatsapp_challenge(params: dict[str, str]) -> str:
    settings = get_settings()
    token = (
        settings.whatsapp_verify_token.get_secret_value() if settings.whatsapp_verify_token else ""
    )
    challenge = whatsapp.verify_challenge(params, token) if token else None
    if challenge is None:
        raise Forbidden("hub.mode must be 'subscribe' and hub.verify_token must match")
    return challenge
