"""Webhook intake: verify a provider's request before anything is parsed or stored.

Each function raises `Unauthorized` (missing or wrong secret / signature) or `BadRequest`
(not JSON, not the provider's format) and otherwise returns the provider's events in the
plain types of `channels`. An unset secret refuses everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import SecretStr

from helpdesk import generic_cti, telegram, twilio, whatsapp, zadarma
from helpdesk.channels import CallEvent, InboundEvent
from helpdesk.errors import BadRequest, Forbidden, NotFound, Unauthorized
from helpdesk.settings import get_settings
from helpdesk.telephony import MalformedCallback, UnsupportedEvent


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


# ---- telephony ------------------------------------------------------------------------

CALL_PROVIDERS = ("twilio", "zadarma", "generic")


@dataclass(frozen=True)
class CallRequest:
    """What a telephony webhook request carries, as the handler read it off API Gateway."""

    provider: str
    headers: dict[str, str]  # lower-case names
    raw: bytes
    public_url: str  # the URL the provider called, query string included


def form(raw: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as error:
        raise BadRequest("the form body is not UTF-8") from error


def call_event(request: CallRequest) -> CallEvent:
    """Verify and parse one telephony notification; `UnsupportedEvent` means ignore it."""
    settings = get_settings()
    try:
        if request.provider == "twilio":
            params = form(request.raw)
            header = request.headers.get("x-twilio-signature")
            key = _secret(settings.twilio_auth_token)
            if not twilio.verify_signature(request.public_url, params, header, key):
                raise Unauthorized("missing or wrong X-Twilio-Signature")
            return twilio.parse_callback(params)
        if request.provider == "zadarma":
            params = form(request.raw)
            if ignored := zadarma.ignored_event(params):
                # Nothing of it is stored, so it needs no signature (Zadarma signs call events).
                raise UnsupportedEvent(f"zadarma event {ignored} is not tracked")
            header = request.headers.get("signature")
            if not zadarma.verify_signature(params, header, _secret(settings.zadarma_api_secret)):
                raise Unauthorized("missing or wrong Signature")
            return zadarma.parse_notification(params, settings.zadarma_timezone)
        if request.provider == "generic":
            header = request.headers.get("authorization") or request.headers.get("x-cti-token")
            if not generic_cti.verify_token(header, _secret(settings.generic_cti_token)):
                raise Unauthorized("missing or wrong token (Authorization: Bearer or X-CTI-Token)")
            body = parse_json(request.raw)
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            return generic_cti.parse_event(body)
    except UnsupportedEvent:
        raise
    except MalformedCallback as error:
        raise BadRequest(str(error)) from error
    raise NotFound(f"unknown telephony provider {request.provider!r}", providers=CALL_PROVIDERS)


def call_url_check(provider: str, params: dict[str, str]) -> str:
    """Zadarma checks a webhook URL with GET ?zd_echo=<x> and expects <x> back."""
    if provider not in CALL_PROVIDERS:
        raise NotFound(f"unknown telephony provider {provider!r}", providers=CALL_PROVIDERS)
    echo = zadarma.echo_response(params) if provider == "zadarma" else None
    if echo is None:
        raise BadRequest("only Zadarma's zd_echo check is answered on GET")
    return echo
