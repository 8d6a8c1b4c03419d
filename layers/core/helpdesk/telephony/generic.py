"""Generic CTI: a documented JSON format for PBXs the helpdesk has no adapter for.

Modelled on Zammad's generic CTI push API (events newCall, answer, hangup; direction in/out;
hangup causes normalClearing, busy, cancel, noAnswer, congestion, notFound, forwarded), in
snake_case, with a `recording` event and a header token instead of a token in the URL.
The format and its mapping onto tickets are documented in docs/generic-cti.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from helpdesk.phones import normalize_phone
from helpdesk.telephony.base import (
    CallEvent,
    CallKind,
    MalformedCallback,
    constant_time_equals,
    received_time,
)

PROVIDER = "generic"

EventName = Literal["newCall", "answer", "hangup", "recording"]
Cause = Literal[
    "normalClearing", "busy", "cancel", "noAnswer", "congestion", "notFound", "forwarded"
]

_KIND: dict[str, CallKind] = {
    "newCall": "started",
    "answer": "answered",
    "hangup": "ended",
    "recording": "recording",
}
# cause -> (CallEvent.status, answered), after Zammad's definitions: normalClearing is a hangup
# after the call was established; cancel is the caller giving up before anyone picked up.
# A forwarded call is neither answered nor missed here: its new leg reports its own outcome.
_OUTCOMES: dict[str, tuple[str, bool | None]] = {
    "normalClearing": ("completed", True),
    "busy": ("busy", False),
    "cancel": ("canceled", False),
    "noAnswer": ("no-answer", False),
    "congestion": ("failed", False),
    "notFound": ("failed", False),
    "forwarded": ("forwarded", None),
}
_BEARER = "bearer "


class GenericCallEvent(BaseModel):
    """One call event as a PBX posts it (see docs/generic-cti.md)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    event: EventName
    # callId is accepted too, so a PBX already speaking Zammad's format needs no renaming.
    call_id: str = Field(
        min_length=1, max_length=250, validation_alias=AliasChoices("call_id", "callId")
    )
    direction: Literal["in", "out"]
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    user: str | None = None  # the agent: extension, login or id
    cause: Cause | None = None
    duration: int | None = Field(default=None, ge=0)  # talk time in seconds
    recording_url: str | None = Field(default=None, pattern=r"^https?://")
    timestamp: AwareDatetime | None = None
    event_id: str | None = Field(default=None, min_length=1, max_length=250)

    @model_validator(mode="after")
    def _fields_the_event_needs(self) -> GenericCallEvent:
        if self.event == "hangup" and self.cause is None:
            raise ValueError("cause is required for a hangup event")
        if self.event == "recording" and self.recording_url is None:
            raise ValueError("recording_url is required for a recording event")
        return self


def verify_token(header_value: str | None, expected: str) -> bool:
    """True when the Authorization ("Bearer <token>") or X-CTI-Token value is the token."""
    if not header_value or not expected:
        return False
    token = header_value.strip()
    if token[: len(_BEARER)].lower() == _BEARER:
        token = token[len(_BEARER) :].strip()
    return constant_time_equals(token, expected)


def parse_event(body: Mapping[str, Any], *, received_at: datetime | None = None) -> CallEvent:
    """A JSON body as a CallEvent; MalformedCallback names every bad field at once.

    `at` is the body's timestamp, else `received_at` (default now).
    """
    if not isinstance(body, Mapping):
        raise MalformedCallback("generic CTI body must be a JSON object")
    try:
        event = GenericCallEvent.model_validate(body)
    except ValidationError as exc:
        raise MalformedCallback(f"invalid generic CTI event: {_describe(exc)}") from None
    status, answered = _outcome(event)
    try:
        at = event.timestamp.astimezone(UTC) if event.timestamp else received_time(received_at)
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        raise MalformedCallback(f"timestamp {event.timestamp} is out of range") from None
    return CallEvent(
        provider=PROVIDER,
        call_id=event.call_id,
        event_id=(
            f"generic:{event.event_id}"
            if event.event_id
            else f"generic:{event.call_id}:{event.event}"
        ),
        kind=_KIND[event.event],
        at=at,
        call_direction="inbound" if event.direction == "in" else "outbound",
        from_number=normalize_phone(event.from_),
        to_number=normalize_phone(event.to),
        status=status,
        answered=answered,
        duration_seconds=event.duration,
        agent=event.user or None,
        recording_url=event.recording_url,
        raw_status=event.cause or event.event,
    )


def _outcome(event: GenericCallEvent) -> tuple[str | None, bool | None]:
    if event.event == "hangup" and event.cause is not None:
        return _OUTCOMES[event.cause]
    if event.event == "answer":
        return None, True
    return None, None


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as one line: 'call_id: Field required; direction: Input should be ...'."""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}")
    return "; ".join(parts)
