"""Phone calls: every call one ticket, whatever order its notifications arrive in.

A call's state is a merge of the set of its notifications (`merge` is order-independent and
idempotent: earliest start and answer, latest end, the final status from the 'ended' event,
the longest duration, the recording); the ticket's call facts are recomputed from that state
on every event. So out-of-order and repeated notifications give the same ticket.

A notification for a call we never saw (a hangup first, say) is a call all the same: it
opens the ticket as soon as the caller and the line are known. One without them (a Twilio
recording callback that overtook the call) is kept on the call record and joins the ticket
when the call's other notifications arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from helpdesk.models import Status, Ticket, iso
from helpdesk.settings import DirectionConfig
from helpdesk.telephony.base import CallEvent

MISSED_STATUSES = {"no-answer", "busy", "canceled", "failed"}
# When two 'ended' notifications disagree, the most conclusive wins, whatever their order.
STATUS_RANK = ["completed", "forwarded", "busy", "no-answer", "canceled", "failed"]


def _status_rank(status: str) -> tuple[int, str]:
    rank = STATUS_RANK.index(status) if status in STATUS_RANK else len(STATUS_RANK)
    return rank, status


PROBLEM_FLAG = "problem_call"
MISSED_FLAG = "missed_call"
CALLBACK_FLAG = "needs_callback"


@dataclass(frozen=True)
class CallState:
    provider: str
    call_id: str
    call_direction: str = "inbound"
    from_number: str | None = None
    to_number: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    status: str | None = None
    answered: bool | None = None
    duration_seconds: int | None = None
    agent: str | None = None  # who answered
    rang: tuple[str, ...] = ()  # agents / extensions the call was offered to
    recording_url: str | None = None
    events: frozenset[str] = frozenset()
    timeline: tuple[tuple[str, str, str], ...] = ()  # (at, kind, detail), sorted

    @property
    def client_number(self) -> str | None:
        return self.from_number if self.call_direction == "inbound" else self.to_number

    @property
    def line_number(self) -> str | None:
        return self.to_number if self.call_direction == "inbound" else self.from_number

    @property
    def ended(self) -> bool:
        return self.status is not None

    @property
    def missed(self) -> bool:
        """An inbound call that ended and nobody answered: it needs a callback."""
        return (
            self.call_direction == "inbound"
            and self.status in MISSED_STATUSES
            and not self.answered
            and self.answered_at is None
        )

    @property
    def talk_seconds(self) -> int | None:
        if self.duration_seconds is not None:
            return self.duration_seconds
        if self.answered_at and self.ended_at:
            return int((self.ended_at - self.answered_at).total_seconds())
        return None

    @property
    def meant_for(self) -> str | None:
        return self.agent or (self.rang[0] if self.rang else None)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def merge(state: CallState | None, event: CallEvent) -> CallState:
    """Fold one notification into the call; the same set of events gives the same state."""
    state = state or CallState(provider=event.provider, call_id=event.call_id)
    if event.event_id in state.events:
        return state
    answered = event.kind == "answered" or event.answered is True
    detail = event.raw_status or event.status or event.agent or ""
    values: dict[str, Any] = {
        "events": state.events | {event.event_id},
        "timeline": tuple(sorted({*state.timeline, (iso(event.at), event.kind, detail)})),
        "from_number": state.from_number or event.from_number,
        "to_number": state.to_number or event.to_number,
        "recording_url": state.recording_url or event.recording_url,
    }
    if event.kind != "recording":
        values["call_direction"] = event.call_direction
        values["started_at"] = _earliest(state.started_at, event.at)
    if event.kind == "answered":
        values["answered_at"] = _earliest(state.answered_at, event.at)
    if event.kind == "ended":
        values["ended_at"] = _latest(state.ended_at, event.at)
        candidates = [status for status in (state.status, event.status) if status]
        values["status"] = min(candidates, key=_status_rank) if candidates else None
    if answered:
        values["answered"] = True
    if event.duration_seconds is not None:
        values["duration_seconds"] = max(state.duration_seconds or 0, event.duration_seconds)
    if event.agent:
        if answered:
            values["agent"] = state.agent or event.agent
        if event.agent not in state.rang:
            values["rang"] = tuple(sorted({*state.rang, event.agent}))
    return replace(state, **values)


def state_to_item(state: CallState) -> dict[str, Any]:
    data = {
        "provider": state.provider,
        "call_id": state.call_id,
        "call_direction": state.call_direction,
        "from_number": state.from_number,
        "to_number": state.to_number,
        "started_at": iso(state.started_at) if state.started_at else None,
        "answered_at": iso(state.answered_at) if state.answered_at else None,
        "ended_at": iso(state.ended_at) if state.ended_at else None,
        "status": state.status,
        "answered": state.answered,
        "duration_seconds": state.duration_seconds,
        "agent": state.agent,
        "rang": list(state.rang),
        "recording_url": state.recording_url,
        "events": sorted(state.events),
        "timeline": [list(entry) for entry in state.timeline],
    }
    return {name: value for name, value in data.items() if value not in (None, [], {})}


def state_from_item(item: dict[str, Any]) -> CallState:
    def when(name: str) -> datetime | None:
        return datetime.fromisoformat(item[name]) if item.get(name) else None

    return CallState(
        provider=item["provider"],
        call_id=item["call_id"],
        call_direction=item.get("call_direction", "inbound"),
        from_number=item.get("from_number"),
        to_number=item.get("to_number"),
        started_at=when("started_at"),
        answered_at=when("answered_at"),
        ended_at=when("ended_at"),
        status=item.get("status"),
        answered=item.get("answered"),
        duration_seconds=item.get("duration_seconds"),
        agent=item.get("agent"),
        rang=tuple(item.get("rang", [])),
        recording_url=item.get("recording_url"),
        events=frozenset(item.get("events", [])),
        timeline=tuple(tuple(entry) for entry in item.get("timeline", [])),
    )


def call_facts(state: CallState, threshold: int) -> dict[str, Any]:
    """What the ticket shows about its call."""
    facts = state_to_item(state)
    facts.pop("events", None)
    facts["talk_seconds"] = state.talk_seconds
    facts["problem_threshold_seconds"] = threshold
    return {name: value for name, value in facts.items() if value is not None}


def apply_call(ticket: Ticket, state: CallState, config: DirectionConfig) -> Ticket:
    """The ticket as its call says it should be; agent decisions are left alone."""
    flags = set(ticket.flags)
    talk = state.talk_seconds or 0
    if talk > config.problem_call_seconds:
        flags.add(PROBLEM_FLAG)
    values: dict[str, Any] = {"call": call_facts(state, config.problem_call_seconds)}
    if state.missed:
        flags.update({MISSED_FLAG, CALLBACK_FLAG})
        missed_at = state.ended_at or state.started_at
        if ticket.callback is None and missed_at:
            values["callback"] = {"missed_at": iso(missed_at), "attempts": 0}
    elif state.answered:
        # A late 'answered' (out of order) corrects an earlier 'missed' verdict.
        flags.discard(MISSED_FLAG)
        flags.discard(CALLBACK_FLAG)
        values["callback"] = None
    values["flags"] = sorted(flags)
    values["subject"] = subject(state)
    if ticket.assignee is None and state.meant_for:
        values["assignee"] = state.meant_for
    if state.answered and ticket.status == Status.NEW and state.call_direction == "inbound":
        values["status"] = Status.OPEN
        values["first_response_at"] = ticket.first_response_at or state.answered_at
    if state.call_direction == "outbound":
        # We called the client: nobody waits for an answer from us. The ticket records the
        # contact and closes when the call ends (an agent can reopen it to follow up).
        values["first_response_at"] = ticket.first_response_at or state.started_at
        if state.ended and ticket.status in (Status.NEW, Status.OPEN):
            values["status"] = Status.CLOSED
            values["closed_at"] = ticket.closed_at or state.ended_at or state.started_at
        elif ticket.status == Status.NEW:
            values["status"] = Status.OPEN
    if state.call_direction == "inbound" and state.started_at:
        values["last_customer_message_at"] = state.started_at
    return ticket.model_copy(update=values)


def subject(state: CallState) -> str:
    kind = "Missed call" if state.missed else "Call"
    if state.call_direction == "outbound":
        kind = "Outbound call"
    return f"{kind} {state.client_number or 'from an unknown number'}"


def problem_call_notice(ticket: Ticket) -> tuple[str, str]:
    """Subject and text for the review mailbox: number, agent, duration, recording."""
    call = ticket.call or {}
    minutes, seconds = divmod(int(call.get("talk_seconds") or 0), 60)
    inbound = call.get("call_direction") == "inbound"
    client = call.get("from_number") if inbound else call.get("to_number")
    lines = [
        f"Ticket: {ticket.id} (direction {ticket.direction})",
        f"Agent: {call.get('agent') or ticket.assignee or 'unknown'}",
        f"Client: {client}",
        f"Duration: {minutes}:{seconds:02d} (over {call.get('problem_threshold_seconds')} s)",
        f"Recording: {call.get('recording_url') or 'not yet available'}",
        f"Started: {call.get('started_at')}",
        f"Store a verdict: POST /tickets/{ticket.id}/call-review",
    ]
    return f"Problem call {ticket.id}", "\n".join(lines)
