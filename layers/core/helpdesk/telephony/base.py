"""What the telephony adapters (twilio, zadarma, generic_cti) share: their error and helpers.

Each adapter verifies and parses one provider's notifications into `channels.CallEvent`; the
handler answers 400 to a `MalformedCallback` (the body will never parse, so retrying is useless)
and 200 to an `UnsupportedEvent` (a well-formed notification the helpdesk does not track).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from helpdesk import clock

CallKind = Literal["started", "ringing", "answered", "ended", "recording"]
CallDirection = Literal["inbound", "outbound"]


@dataclass(frozen=True)
class CallEvent:
    """One provider notification about a phone call, in one shape for every provider."""

    provider: str  # twilio, zadarma, generic
    call_id: str
    event_id: str  # unique per notification: duplicates of it change nothing
    kind: CallKind
    at: datetime
    call_direction: CallDirection = "inbound"
    from_number: str | None = None  # E.164 with '+' where it can be told, else as given
    to_number: str | None = None  # the called line
    status: str | None = (
        None  # final status on 'ended': completed, no-answer, busy, canceled, failed
    )
    answered: bool | None = None
    duration_seconds: int | None = None  # talk time when the provider gives it
    agent: str | None = None  # extension / agent id that answered or was meant to
    recording_url: str | None = None
    raw_status: str | None = None


class MalformedCallback(ValueError):
    """The notification cannot become a CallEvent; the message names the field or value."""


class UnsupportedEvent(MalformedCallback):
    """A valid notification of a kind the helpdesk ignores (e.g. Zadarma NOTIFY_IVR).

    A subclass so that callers catching MalformedCallback still stop, while a handler that
    cares can acknowledge it with 200 and spare the provider pointless retries.
    """


def constant_time_equals(a: str, b: str) -> bool:
    """Compare secrets without leaking, through timing, how long a prefix matched."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def required(params: Mapping[str, str], key: str, provider: str) -> str:
    """The non-empty value of `key`, or MalformedCallback naming it."""
    value = params.get(key)
    if value is None or value == "":
        raise MalformedCallback(f"{provider} notification has no {key}")
    return value


def optional_int(params: Mapping[str, str], key: str, provider: str) -> int | None:
    """A non-negative integer field, None when absent or empty; garbage is an error, not 0."""
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise MalformedCallback(f"{provider} {key} is not an integer: {value!r}") from None
    if number < 0:
        raise MalformedCallback(f"{provider} {key} is negative: {value!r}")
    return number


def received_time(received_at: datetime | None) -> datetime:
    """The time to stamp on a notification that carries none: the caller's, else now (UTC)."""
    if received_at is None:
        return clock.now()  # the core's clock (the local stack and tests may move it)
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(UTC)
