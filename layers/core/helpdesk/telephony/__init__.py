"""Telephony providers: one adapter per provider (twilio, zadarma, generic), each verifying
and parsing its notifications into `telephony.base.CallEvent`, and the registry below that
picks the adapter for a webhook request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from helpdesk import limits
from helpdesk.errors import BadRequest, NotFound, Unauthorized
from helpdesk.incidents import LineAnswer
from helpdesk.settings import DirectionConfig, get_settings
from helpdesk.telephony import generic, twilio, zadarma
from helpdesk.telephony.base import CallEvent, MalformedCallback, UnsupportedEvent

PROVIDERS = ("twilio", "zadarma", "generic")

__all__ = ["PROVIDERS", "CallEvent", "CallRequest", "UnsupportedEvent", "read_notification"]


@dataclass(frozen=True)
class CallRequest:
    """A telephony webhook request as the handler read it off API Gateway."""

    provider: str
    headers: dict[str, str]  # lower-case names
    raw: bytes
    public_url: str  # the URL the provider called, query string included


def form(raw: bytes) -> dict[str, str]:
    if len(raw) > limits.MAX_BODY_BYTES:
        raise BadRequest(f"the body is larger than {limits.MAX_BODY_BYTES} bytes")
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as error:
        raise BadRequest("the form body is not UTF-8") from error


def read_notification(request: CallRequest) -> CallEvent:
    """Verify and parse one notification (401 / 400 first); `UnsupportedEvent`: ignore it."""
    settings = get_settings()
    try:
        if request.provider == "twilio":
            params = form(request.raw)
            header = request.headers.get("x-twilio-signature")
            key = settings.secret("twilio_auth_token")
            if not twilio.verify_signature(request.public_url, params, header, key):
                raise Unauthorized("missing or wrong X-Twilio-Signature")
            return _bounded(twilio.parse_callback(params))
        if request.provider == "zadarma":
            params = form(request.raw)
            if ignored := zadarma.ignored_event(params):
                # Nothing of it is stored, so it needs no signature (Zadarma signs call events).
                raise UnsupportedEvent(f"zadarma event {ignored} is not tracked")
            header = request.headers.get("signature")
            if not zadarma.verify_signature(params, header, settings.secret("zadarma_api_secret")):
                raise Unauthorized("missing or wrong Signature")
            return _bounded(zadarma.parse_notification(params, settings.zadarma_timezone))
        if request.provider == "generic":
            header = request.headers.get("authorization") or request.headers.get("x-cti-token")
            if not generic.verify_token(header, settings.secret("generic_cti_token")):
                raise Unauthorized("missing or wrong token (Authorization: Bearer or X-CTI-Token)")
            try:
                body = limits.parse_json(request.raw)
            except limits.LimitExceeded as error:
                raise BadRequest(str(error)) from error
            except (ValueError, RecursionError) as error:
                raise BadRequest(f"the body is not valid JSON: {error}") from error
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            return _bounded(generic.parse_event(body))
    except UnsupportedEvent:
        raise
    except (MalformedCallback, limits.LimitExceeded) as error:
        raise BadRequest(str(error)) from error
    raise NotFound(f"unknown telephony provider {request.provider!r}", providers=PROVIDERS)


def _bounded(event: CallEvent) -> CallEvent:
    """Everything of a call that ends up in keys or items, within the edge limits."""
    limits.identifier(event.call_id, "call id", 128)
    limits.identifier(event.event_id, "event id", 512)
    for name in ("from_number", "to_number", "agent"):
        limits.optional_identifier(getattr(event, name), name, 128)
    limits.integer(event.duration_seconds, "duration")
    limits.optional_identifier(event.recording_url, "the recording URL", 2048)
    limits.optional_identifier(event.raw_status, "the call status", 64)
    return event


def url_check(provider: str, params: dict[str, str]) -> str:
    """Zadarma checks a webhook URL with GET ?zd_echo=<x> and expects <x> back."""
    if provider not in PROVIDERS:
        raise NotFound(f"unknown telephony provider {provider!r}", providers=PROVIDERS)
    echo = zadarma.echo_response(params) if provider == "zadarma" else None
    if echo is None:
        raise BadRequest("only Zadarma's zd_echo check is answered on GET")
    return echo


def call_instructions(
    request: CallRequest, answer: LineAnswer | None, config: DirectionConfig
) -> tuple[str, str] | None:
    """(content type, body) when the provider waits for call instructions in its webhook's
    response (Twilio's voice request, Zadarma's NOTIFY_START); None for everything else."""
    if request.provider == "twilio" and twilio.is_voice_request(form(request.raw)):
        text = answer.text if answer else None
        hang_up = bool(answer and answer.hang_up)
        body = twilio.twiml(text, config.language, hang_up, config.twilio_voice_url)
        return "text/xml", body
    if request.provider == "zadarma" and zadarma.is_call_start(form(request.raw)):
        if answer is None:
            return None
        file = (
            config.zadarma_incident_file
            if answer.reason == "incident"
            else config.zadarma_out_of_hours_file
        )
        instructions = zadarma.instructions(file, answer.hang_up)
        return ("application/json", json.dumps(instructions)) if instructions else None
    return None
