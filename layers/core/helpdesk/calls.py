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

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from helpdesk.channels import CallEvent
from helpdesk.errors import Conflict
from helpdesk.jobs import Job, ProblemCallNoticeJob
from helpdesk.models import Channel, Customer, HistoryEntry, Status, Ticket, new_id, utc_now
from helpdesk.queue import JobQueue
from helpdesk.settings import DirectionConfig, Settings, get_settings
from helpdesk.store import (
    Store,
    TransactionFailed,
    call_key,
    changed_ticket_write,
    customer_item,
    history_item,
    identity_item,
    identity_key,
    new_ticket_write,
    put,
    put_new,
)
from helpdesk.tickets import plain

logger = logging.getLogger(__name__)

MISSED_STATUSES = {"no-answer", "busy", "canceled", "failed"}
# When two 'ended' notifications disagree, the most conclusive wins, whatever their order.
STATUS_RANK = ["completed", "forwarded", "busy", "no-answer", "canceled", "failed"]


def _status_rank(status: str) -> tuple[int, str]:
    rank = STATUS_RANK.index(status) if status in STATUS_RANK else len(STATUS_RANK)
    return rank, status


PROBLEM_FLAG = "problem_call"
MISSED_FLAG = "missed_call"
CALLBACK_FLAG = "needs_callback"
MAX_ATTEMPTS = 5


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
        "timeline": tuple(sorted({*state.timeline, (event.at.isoformat(), event.kind, detail)})),
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
        "started_at": state.started_at.isoformat() if state.started_at else None,
        "answered_at": state.answered_at.isoformat() if state.answered_at else None,
        "ended_at": state.ended_at.isoformat() if state.ended_at else None,
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
        timeline=tuple(tuple(entry) for entry in item.get("timeline", [])),  # type: ignore[misc]
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
    elif state.answered:
        # A late 'answered' (out of order) corrects an earlier 'missed' verdict.
        flags.discard(MISSED_FLAG)
        flags.discard(CALLBACK_FLAG)
    values["flags"] = sorted(flags)
    values["subject"] = _subject(state)
    if ticket.assignee is None and state.meant_for:
        values["assignee"] = state.meant_for
    if state.answered and ticket.status == Status.NEW and state.call_direction == "inbound":
        values["status"] = Status.OPEN
        values["first_response_at"] = ticket.first_response_at or state.answered_at
    if state.call_direction == "inbound" and state.started_at:
        values["last_customer_message_at"] = state.started_at
    return ticket.model_copy(update=values)


def _subject(state: CallState) -> str:
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


@dataclass(frozen=True)
class CallOutcome:
    result: str  # created, updated, duplicate, pending
    ticket_id: str | None = None


@dataclass
class Switchboard:
    """Records call notifications: the call record, its ticket, and problem-call notices."""

    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def record(self, event: CallEvent) -> CallOutcome:
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._record_once(event)
            except (Conflict, TransactionFailed):
                continue  # someone recorded another event of this call meanwhile: re-read
        raise RuntimeError(f"call {event.call_id}: too many concurrent updates")

    def _record_once(self, event: CallEvent) -> CallOutcome:
        key = call_key(event.provider, event.call_id)
        item = self.store.get(key)
        before = state_from_item(item) if item else None
        if item and before and event.event_id in before.events:
            if item.get("problem"):
                # The first delivery may have died before enqueueing the notice; the notice
                # handler sends it at most once, so asking again is safe.
                self.queue.send([ProblemCallNoticeJob(ticket_id=item["ticket_id"])])
            return CallOutcome("duplicate", item.get("ticket_id"))
        state = merge(before, event)
        now = self.clock()
        ticket_id = (item or {}).get("ticket_id")
        version = (item or {}).get("version", 0)
        if ticket_id:
            return self._update_ticket(ticket_id, state, version, event, now)
        if not state.client_number:
            self.store.transact([self._call_write(key, state, None, version)])
            return CallOutcome("pending")
        return self._open_ticket(key, state, version, event, now)

    def _call_write(
        self,
        key: dict[str, str],
        state: CallState,
        ticket: Ticket | None,
        version: int,
    ) -> Any:
        # Timeline: two notifications of one call arrive together; both read version 3 and
        # write 4. The condition lets one through; the other re-reads and merges again.
        item = {**key, "type": "call", **state_to_item(state), "version": version + 1}
        if ticket:
            item["ticket_id"] = ticket.id
            item["direction"] = ticket.direction
            if PROBLEM_FLAG in ticket.flags:
                item["problem"] = True
        if state.missed and ticket and CALLBACK_FLAG in ticket.flags:
            # Sparse index of calls waiting for a callback, for the callback sweep (by key,
            # per direction, oldest first; no Scan at any table size).
            item["GSI3PK"] = f"CALLBACK#{ticket.direction}"
            item["GSI3SK"] = f"{state_to_item(state).get('ended_at', '')}#{ticket.id}"
        if version == 0:
            return put(item, "attribute_not_exists(PK)", None, Conflict("call changed"))
        return put(item, "version = :v", {":v": version}, Conflict("call changed"))

    def _open_ticket(
        self,
        key: dict[str, str],
        state: CallState,
        version: int,
        event: CallEvent,
        now: datetime,
    ) -> CallOutcome:
        settings = self.settings()
        direction = settings.direction_for_phone_line(state.line_number)
        config = settings.direction(direction)
        client = state.client_number or ""
        identity = self.store.get(identity_key("phone", client))
        customer_id = (identity or {}).get("customer_id") or new_id()
        number = self.store.next_ticket_number(direction)
        base = Ticket(
            id=number,
            direction=direction,
            channel=Channel.PHONE,
            customer_id=customer_id,
            subject=_subject(state),
            recipient_id=client,
            service_id=state.line_number,
            created_at=now,
            updated_at=now,
            message_count=0,
            version=1,
        )
        ticket = apply_call(base, state, config)
        writes = [
            self._call_write(key, state, ticket, version),
            new_ticket_write(ticket),
            put_new(history_item(self._entry(number, event, now, base, ticket, "create"))),
        ]
        if identity is None:
            identity = identity_item("phone", client, customer_id, {})
            customer = Customer(id=customer_id, phone=client, created_at=now)
            writes.append(put_new(identity, Conflict("identity created meanwhile")))
            writes.append(put_new(customer_item(customer)))
        self.store.transact(writes)
        self._notify(ticket, base)
        return CallOutcome("created", number)

    def _update_ticket(
        self, ticket_id: str, state: CallState, version: int, event: CallEvent, now: datetime
    ) -> CallOutcome:
        key = call_key(event.provider, event.call_id)
        ticket = self.store.get_ticket(ticket_id)
        config = self.settings().direction(ticket.direction)
        updated = apply_call(ticket, state, config).model_copy(
            update={"updated_at": now, "version": ticket.version + 1}
        )
        self.store.transact(
            [
                self._call_write(key, state, updated, version),
                changed_ticket_write(updated, ticket.version),
                put_new(history_item(self._entry(ticket_id, event, now, ticket, updated, "call"))),
            ]
        )
        self._notify(updated, ticket)
        return CallOutcome("updated", ticket_id)

    def _entry(
        self,
        ticket_id: str,
        event: CallEvent,
        now: datetime,
        before: Ticket,
        after: Ticket,
        action: str,
    ) -> HistoryEntry:
        changes = {
            name: [plain(getattr(before, name)), plain(getattr(after, name))]
            for name in ("status", "assignee", "flags")
            if getattr(before, name) != getattr(after, name)
        }
        return HistoryEntry(
            ticket_id=ticket_id,
            at=now,
            actor=f"telephony:{event.provider}",
            action=action,
            changes=changes,
            note=f"{event.kind} {event.raw_status or event.status or ''}".strip(),
        )

    def _notify(self, after: Ticket, before: Ticket) -> None:
        """The problem-call notice goes once: when the flag first appears."""
        jobs: list[Job] = []
        if PROBLEM_FLAG in after.flags and PROBLEM_FLAG not in before.flags:
            jobs.append(ProblemCallNoticeJob(ticket_id=after.id))
        if jobs:
            self.queue.send(jobs)
