"""Zadarma PBX adapter: the zd_echo check, the Signature header and call notifications.

Source: Zadarma's official PHP library (github.com/zadarma/user-api-v1, lib/Webhook/*.php and
Api::getWebhookEvent), which follows zadarma.com/en/support/api/#api_webhooks:
- The notification URL is confirmed by a GET with `zd_echo`; the reply body must be its value.
- Notifications are form POSTs with `event` and, when the account has API keys, a `Signature`
  header: base64_encode(hash_hmac('sha1', <fields>, API secret)). PHP's hash_hmac returns
  lowercase hex by default, so the signature is base64 of the 40 hex characters, not of the raw
  digest. <fields> is a per-event concatenation (see _SIGNED_FIELDS).
- Fields: NOTIFY_START call_start, pbx_call_id, caller_id, called_did; NOTIFY_INTERNAL the same
  plus internal (the extension being rung); NOTIFY_ANSWER caller_id, destination, call_start,
  pbx_call_id, internal; NOTIFY_END call_start, pbx_call_id, caller_id, called_did, internal,
  duration (s), disposition, status_code (Q.931), is_recorded (1/0), call_id_with_rec;
  NOTIFY_OUT_START call_start, pbx_call_id, internal, destination; NOTIFY_OUT_END call_start,
  pbx_call_id, caller_id, destination, internal, duration, disposition, status_code,
  is_recorded, call_id_with_rec; NOTIFY_RECORD call_id_with_rec, pbx_call_id.
- disposition: answered, busy, cancel, no answer, failed, no money, unallocated number,
  no limit, no day limit, line limit, no money, no limit.
- A recording is not sent: NOTIFY_RECORD says it is ready, and the link comes from the API
  (GET /v1/pbx/record/request/ with call_id=call_id_with_rec or pbx_call_id; links expire).
  So a recording event carries `zadarma-record:<call_id_with_rec>` for a job to resolve.
- call_start is "YYYY-MM-DD HH:MM:SS" without a zone; it is the start of the whole call on
  every event (Zadarma sends no per-event time), in the PBX's own time zone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpdesk.phones import normalize_phone
from helpdesk.telephony.base import (
    CallDirection,
    CallEvent,
    CallKind,
    MalformedCallback,
    UnsupportedEvent,
    constant_time_equals,
    optional_int,
    received_time,
    required,
)

PROVIDER = "zadarma"
RECORDING_REF_PREFIX = "zadarma-record:"

# Which fields, in which order, each event's Signature covers (getSignatureString()).
_SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
# Documented events the helpdesk does not turn into call events.
_IGNORED_EVENTS = frozenset({"NOTIFY_IVR", "SPEECH_RECOGNITION", "SMS"})

# disposition -> (CallEvent.status, answered). Everything else Zadarma documents ("no money",
# "unallocated number", "line limit", ...) is a call that could not be made: failed.
_OUTCOMES: dict[str, tuple[str, bool]] = {
    "answered": ("completed", True),
    "busy": ("busy", False),
    "no answer": ("no-answer", False),
    "no answered": ("no-answer", False),  # spelling seen in third-party code, not in the docs
    "cancel": ("canceled", False),
    "failed": ("failed", False),
}
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def echo_response(params: Mapping[str, str]) -> str | None:
    """The body to answer Zadarma's URL check with (the zd_echo value), None if not a check."""
    return params.get("zd_echo")


def ignored_event(params: Mapping[str, str]) -> str | None:
    """The event name when it is one the helpdesk does not track (nothing of it is stored)."""
    event = params.get("event", "")
    return event if event in _IGNORED_EVENTS else None


def signature_for(params: Mapping[str, str], api_secret: str) -> str | None:
    """The Signature Zadarma sends with this notification; None for an event it does not sign."""
    fields = _SIGNED_FIELDS.get(params.get("event", ""))
    if fields is None:
        return None
    message = "".join(params.get(name, "") for name in fields)
    hex_digest = hmac.new(
        api_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha1
    ).hexdigest()
    return base64.b64encode(hex_digest.encode("ascii")).decode("ascii")


def verify_signature(params: Mapping[str, str], header_value: str | None, api_secret: str) -> bool:
    """True when the Signature header matches the event's signed fields under the API secret."""
    if not header_value or not api_secret:
        return False
    expected = signature_for(params, api_secret)
    return expected is not None and constant_time_equals(expected, header_value)


def parse_notification(
    params: Mapping[str, str], tz: str = "UTC", *, received_at: datetime | None = None
) -> CallEvent:
    """One PBX notification as a CallEvent; `tz` is the PBX's zone (zoneinfo name).

    `at` is call_start converted from `tz` to UTC, except for NOTIFY_RECORD, which has no time
    and is stamped `received_at` (default now). Raises MalformedCallback for a body that is not
    a call notification, UnsupportedEvent for documented events the helpdesk ignores.
    """
    event = required(params, "event", PROVIDER)
    if event in _IGNORED_EVENTS:
        raise UnsupportedEvent(f"zadarma event {event} is not a call state and is ignored")
    if event not in _SIGNED_FIELDS:
        raise MalformedCallback(f"zadarma event {event!r} is not a known notification")
    pbx_call_id = required(params, "pbx_call_id", PROVIDER)
    zone = _zone(tz)

    if event == "NOTIFY_RECORD":
        rec_id = required(params, "call_id_with_rec", PROVIDER)
        # Direction is not in this notification; join it to the call by call_id.
        return CallEvent(
            provider=PROVIDER,
            call_id=pbx_call_id,
            event_id=f"zadarma:{pbx_call_id}:{event}:{rec_id}",
            kind="recording",
            at=received_time(received_at),
            recording_url=RECORDING_REF_PREFIX + rec_id,
        )

    at = _call_start(required(params, "call_start", PROVIDER), zone)
    internal = params.get("internal") or None
    if event == "NOTIFY_START":
        return _event(params, "started", at, "inbound", to=params.get("called_did"))
    if event == "NOTIFY_INTERNAL":
        # A ring group rings several extensions: one notification, and one event id, each.
        return _event(
            params,
            "ringing",
            at,
            "inbound",
            to=params.get("called_did"),
            agent=internal,
            per_agent=True,
        )
    if event == "NOTIFY_ANSWER":
        # destination is who picked up: the extension, or the phone a call was forwarded to.
        answerer = internal or params.get("destination") or None
        return _event(
            params, "answered", at, "inbound", agent=answerer, answered=True, per_agent=True
        )
    if event == "NOTIFY_OUT_START":
        return _event(
            params, "started", at, "outbound", to=params.get("destination"), agent=internal
        )
    if event == "NOTIFY_END":
        return _ended(params, at, "inbound", to=params.get("called_did"))
    return _ended(params, at, "outbound", to=params.get("destination"))  # NOTIFY_OUT_END


def _event(
    params: Mapping[str, str],
    kind: CallKind,
    at: datetime,
    direction: CallDirection,
    *,
    to: str | None = None,
    agent: str | None = None,
    answered: bool | None = None,
    per_agent: bool = False,
) -> CallEvent:
    """A non-final event; `per_agent` puts the agent in the event id (one per extension)."""
    pbx_call_id, event = params["pbx_call_id"], params["event"]
    event_id = f"zadarma:{pbx_call_id}:{event}"
    if per_agent:
        event_id += f":{agent or ''}"
    return CallEvent(
        provider=PROVIDER,
        call_id=pbx_call_id,
        event_id=event_id,
        kind=kind,
        at=at,
        call_direction=direction,
        from_number=normalize_phone(params.get("caller_id")),
        to_number=normalize_phone(to),
        answered=answered,
        agent=agent,
        raw_status=event,
    )


def _ended(
    params: Mapping[str, str], at: datetime, direction: CallDirection, *, to: str | None
) -> CallEvent:
    event = params["event"]
    disposition = required(params, "disposition", PROVIDER)
    status, answered = _OUTCOMES.get(disposition, ("failed", False))
    rec_id = params.get("call_id_with_rec") or None
    recording = (
        RECORDING_REF_PREFIX + rec_id if rec_id and params.get("is_recorded") == "1" else None
    )
    pbx_call_id = params["pbx_call_id"]
    return CallEvent(
        provider=PROVIDER,
        call_id=pbx_call_id,
        event_id=f"zadarma:{pbx_call_id}:{event}",
        kind="ended",
        at=at,
        call_direction=direction,
        from_number=normalize_phone(params.get("caller_id")),
        to_number=normalize_phone(to),
        status=status,
        answered=answered,
        duration_seconds=optional_int(params, "duration", PROVIDER),
        agent=params.get("internal") or None,
        recording_url=recording,
        raw_status=disposition,
    )


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _call_start(value: str, zone: ZoneInfo) -> datetime:
    try:
        local = datetime.strptime(value, _TIME_FORMAT)
        return local.replace(tzinfo=zone).astimezone(UTC)  # OverflowError at year 1 / 9999
    except (ValueError, OverflowError):
        raise MalformedCallback(
            f"zadarma call_start is not 'YYYY-MM-DD HH:MM:SS': {value!r}"
        ) from None


def is_call_start(params: Mapping[str, str]) -> bool:
    """NOTIFY_START: an incoming call reached the PBX, which waits for our answer (what to
    play, where to send it) before it routes the call."""
    return params.get("event") == "NOTIFY_START"


def instructions(file_id: str | None, hang_up: bool) -> dict[str, str | int] | None:
    """The NOTIFY_START answer: play an audio file uploaded to the PBX (the PBX cannot speak
    text), then hang up or route as usual. None: nothing to play, route as usual."""
    if not file_id:
        return None
    answer: dict[str, str | int] = {"ivr_play": file_id}
    if hang_up:
        answer["hangup"] = 1
    return answer
