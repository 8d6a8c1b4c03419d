"""Twilio Voice adapter: X-Twilio-Signature checks and status / recording callbacks as CallEvents.

Sources (Twilio docs, and twilio-python's RequestValidator, which is the reference code):
- Signature: base64(HMAC-SHA1(auth token, full URL + each POST key and value, keys sorted)).
  Twilio "generates signatures inconsistently" with and without the default port, so the
  validator accepts either form of the URL; so does `verify_signature`.
- Status callback (Call resource, "StatusCallback" / "StatusCallbackEvent"): CallSid, From, To,
  Direction (inbound, outbound-api, outbound-dial, ...), CallStatus, and on progress events
  Timestamp (UTC, RFC 2822), SequenceNumber (0-based order of firing; delivery order is not
  guaranteed), CallbackSource=call-progress-events; CallDuration (seconds) on the completed
  event. The "answered" progress event arrives as CallStatus=in-progress.
- CallStatus values: queued, initiated, ringing, in-progress, completed ("the call was answered
  and has ended normally"), busy, no-answer, canceled, failed.
- Progress events (initiated/ringing/answered) exist only for calls made through the REST API
  and for <Dial> child legs; a call into a Twilio number reports only its final status.
- Recording status callback: AccountSid, CallSid, RecordingSid, RecordingUrl, RecordingStatus
  (in-progress, completed, absent), RecordingDuration, RecordingChannels, RecordingStartTime,
  RecordingSource, RecordingTrack. It has no Timestamp. A *status* callback of a call made with
  Record=true also carries RecordingSid/RecordingUrl on its completed event, so a recording
  callback is told by RecordingStatus, not by RecordingSid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from helpdesk.phones import normalize_phone
from helpdesk.telephony.base import (
    CallDirection,
    CallEvent,
    CallKind,
    MalformedCallback,
    constant_time_equals,
    optional_int,
    received_time,
    required,
)

PROVIDER = "twilio"

_KIND_BY_STATUS: dict[str, CallKind] = {
    "queued": "started",
    "initiated": "started",
    "ringing": "ringing",
    "in-progress": "answered",
    "answered": "answered",  # DialCallStatus spelling; CallStatus says in-progress
    "completed": "ended",
    "busy": "ended",
    "no-answer": "ended",
    "canceled": "ended",
    "failed": "ended",
}
_RECORDING_STATUSES = frozenset({"in-progress", "completed", "absent"})
# Direction values for calls that come into us; outbound-api, outbound-dial and
# trunking-terminating go out.
_INBOUND_DIRECTIONS = frozenset({"inbound", "trunking-originating"})
_DEFAULT_PORTS = {"https": 443, "http": 80}


def signature_for(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio sends for a form POST of `params` to `url`."""
    payload = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(
    url: str, params: Mapping[str, str], header_value: str | None, auth_token: str
) -> bool:
    """True when the header signs exactly this URL (as Twilio called it) and these params.

    `url` must be the public URL Twilio requested, query string included, not the one a proxy
    or API Gateway stage rewrote it to. False, never an exception, for a missing header.
    """
    if not header_value or not auth_token:
        return False
    matched = False
    for candidate in _url_variants(url):
        # No early exit: every variant is computed whatever matched.
        matched |= constant_time_equals(signature_for(candidate, params, auth_token), header_value)
    return matched


def _url_variants(url: str) -> tuple[str, ...]:
    """The URL as given, with the scheme's default port and without any port."""
    parts = urlsplit(url)
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:  # not a number: no variant can be built, the URL is used as given
        return (url,)
    if default_port is None or parts.hostname is None:
        return (url,)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0] if port is not None else hostport
    prefix = userinfo + "@" if userinfo else ""
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port or default_port}"))
    without_port = urlunsplit(parts._replace(netloc=prefix + host))
    return tuple(dict.fromkeys((url, with_port, without_port)))


def parse_callback(params: Mapping[str, str], *, received_at: datetime | None = None) -> CallEvent:
    """One voice status callback or recording status callback as a CallEvent.

    `at` is Twilio's Timestamp; a callback without one (recording callbacks have none) is
    stamped `received_at`, default now. `agent` is always None: Twilio has no extension, and
    ForwardedFrom is the carrier's forwarding number, not who answered. A completed call counts
    as answered, as Twilio defines "completed"; for a call into a Twilio number that means
    Twilio (the TwiML) answered it, not necessarily a person, so whether an agent picked up is
    told by the <Dial> child leg's status (its own CallSid, with ParentCallSid).
    """
    call_sid = required(params, "CallSid", PROVIDER)
    if params.get("RecordingStatus") or ("RecordingSid" in params and "CallStatus" not in params):
        return _recording(call_sid, params, received_at)
    status = required(params, "CallStatus", PROVIDER)
    kind = _KIND_BY_STATUS.get(status)
    if kind is None:
        raise MalformedCallback(f"twilio CallStatus {status!r} is not a known call status")
    sequence = params.get("SequenceNumber")
    event_id = f"twilio:{call_sid}:{sequence}" if sequence else f"twilio:{call_sid}:{status}"
    ended = kind == "ended"
    return CallEvent(
        provider=PROVIDER,
        call_id=call_sid,
        event_id=event_id,
        kind=kind,
        at=_timestamp(params.get("Timestamp"), received_at),
        call_direction=_direction(params.get("Direction")),
        from_number=normalize_phone(params.get("From")),
        to_number=normalize_phone(params.get("To")),
        status=status if ended else None,
        answered=_answered(status),
        duration_seconds=optional_int(params, "CallDuration", PROVIDER),
        agent=None,
        recording_url=None,
        raw_status=status,
    )


def _recording(call_sid: str, params: Mapping[str, str], received_at: datetime | None) -> CallEvent:
    recording_sid = required(params, "RecordingSid", PROVIDER)
    status = required(params, "RecordingStatus", PROVIDER)
    if status not in _RECORDING_STATUSES:
        raise MalformedCallback(f"twilio RecordingStatus {status!r} is not a known status")
    # The media URL (add .mp3 or .wav) needs the account's credentials when HTTP auth on media
    # is on; only a completed recording is worth fetching.
    url = (params.get("RecordingUrl") or None) if status == "completed" else None
    return CallEvent(
        provider=PROVIDER,
        call_id=call_sid,  # always the parent leg, per Twilio
        event_id=f"twilio:rec:{recording_sid}:{status}",
        kind="recording",
        at=received_time(received_at),
        duration_seconds=optional_int(params, "RecordingDuration", PROVIDER),
        recording_url=url,
        raw_status=status,
    )


def _answered(status: str) -> bool | None:
    if status in ("in-progress", "answered", "completed"):
        return True
    if status in ("busy", "no-answer", "canceled", "failed"):
        return False
    return None  # not yet known


def _direction(value: str | None) -> CallDirection:
    # Twilio always sends Direction on voice callbacks; when a relay drops it, keep the
    # CallEvent default rather than invent an outbound call.
    if value is None or value == "" or value in _INBOUND_DIRECTIONS:
        return "inbound"
    return "outbound"


def _timestamp(value: str | None, received_at: datetime | None) -> datetime:
    if not value:
        return received_time(received_at)
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000" means UTC with unknown local zone
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)  # OverflowError past year 9999
    except (TypeError, ValueError, OverflowError):
        raise MalformedCallback(f"twilio Timestamp is not an RFC 2822 date: {value!r}") from None


# <Say> voices that speak each language (Amazon Polly through Twilio).
VOICES = {"ru": ("ru-RU", "Polly.Tatyana"), "en": ("en-US", "Polly.Joanna")}


def is_voice_request(params: Mapping[str, str]) -> bool:
    """Twilio's request for instructions when a call comes in to the number (its Voice URL),
    as opposed to a status callback: no CallbackSource, no recording, the call ringing."""
    return (
        "CallbackSource" not in params
        and "RecordingStatus" not in params
        and params.get("CallStatus") in ("ringing", "queued")
        and params.get("Direction") in _INBOUND_DIRECTIONS
    )


def twiml(text: str | None, language: str, hang_up: bool, then_url: str | None) -> str:
    """<Response>: say the text, then hang up or hand the call to the agents' TwiML."""
    response = ElementTree.Element("Response")
    if text:
        code, voice = VOICES.get(language, VOICES["en"])
        ElementTree.SubElement(response, "Say", language=code, voice=voice).text = text
    if hang_up:
        ElementTree.SubElement(response, "Hangup")
    elif then_url:
        ElementTree.SubElement(response, "Redirect", method="POST").text = then_url
    return '<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(
        response, encoding="unicode"
    )
