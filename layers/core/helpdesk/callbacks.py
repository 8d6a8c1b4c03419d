"""The department's rule for every missed call, as pure decisions on its ticket.

Every missed call ends in a recorded outcome: `contacted_elsewhere` (an agent reached the
client another way after the miss: the ticket closes, linked to where), `called_back` (an
outbound call to the number was answered), `unreachable` (the attempts ran out; the client
is told in a messenger if we know one), or `escalated` (two working days passed, never
reached: the lead takes it; it stays on the worklist until one of the others).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from helpdesk.calendar import BusinessCalendar
from helpdesk.calls import CALLBACK_FLAG
from helpdesk.models import Actor, HistoryEntry, Message, MessageKind, Status, Ticket, iso
from helpdesk.tickets import ACTIVE, TicketChange

Outcome = Literal["contacted_elsewhere", "called_back", "unreachable", "escalated"]
SYSTEM = Actor(user_id="system", roles=frozenset())
SEARCH_DAYS = 60


def waiting(ticket: Ticket) -> bool:
    """On the worklist: a missed call whose client nobody has reached yet."""
    return (
        CALLBACK_FLAG in ticket.flags
        and ticket.callback is not None
        and ticket.callback.get("outcome") in (None, "escalated")
        and ticket.status in ACTIVE
    )


def missed_at(ticket: Ticket) -> datetime:
    assert ticket.callback is not None
    return datetime.fromisoformat(str(ticket.callback["missed_at"]))


def deadline(missed: datetime, calendar: BusinessCalendar, working_days: int = 2) -> datetime:
    """The end of the n-th working day after the day of the miss (a miss on a Friday
    evening or before a holiday still gets its two working days)."""
    day = missed.astimezone(calendar.tz).date()
    counted = 0
    for _ in range(SEARCH_DAYS):
        day += timedelta(days=1)
        intervals = calendar.intervals(day)
        if intervals:
            counted += 1
            if counted == working_days:
                return intervals[-1][1]
    return missed + timedelta(days=working_days)


def reached_at(ticket: Ticket) -> datetime | None:
    """When an agent last reached the client on this ticket: a reply in any channel, an
    answered inbound call, or an answered outbound call."""
    answered = (ticket.call or {}).get("answered_at")
    times = [
        ticket.last_agent_reply_at,
        datetime.fromisoformat(str(answered)) if answered else None,
    ]
    return max((t for t in times if t is not None), default=None)


def reached_after(missed: datetime, other: Ticket) -> bool:
    """Whether an agent reached the client on `other` after the miss."""
    reached = reached_at(other)
    return bool(reached and reached > missed)


def conclude(
    ticket: Ticket,
    outcome: Outcome,
    now: datetime,
    note: str,
    *,
    close: bool = True,
    topic: str | None = None,
) -> TicketChange:
    """Record the outcome; every outcome but escalated closes the ticket, with a comment."""
    callback: dict[str, Any] = {**(ticket.callback or {}), "outcome": outcome, "at": iso(now)}
    values: dict[str, Any] = {
        "callback": callback,
        "updated_at": now,
        "version": ticket.version + 1,
    }
    changes: dict[str, list[Any]] = {"callback": [None, outcome]}
    if outcome in ("called_back", "contacted_elsewhere"):
        values["first_response_at"] = ticket.first_response_at or now  # the client was reached
    if close:
        values["status"] = Status.CLOSED
        values["closed_at"] = now
        values["flags"] = [flag for flag in ticket.flags if flag != CALLBACK_FLAG]
        changes["status"] = [ticket.status.value, Status.CLOSED.value]
    if topic and not ticket.topic:
        values["topic"] = topic
        changes["topic"] = [None, topic]
    comment = Message(
        ticket_id=ticket.id,
        kind=MessageKind.COMMENT,
        author="system",
        text=note,
        at=now,
        channel=ticket.channel,
    )
    entry = HistoryEntry(
        ticket_id=ticket.id,
        at=now,
        actor="system",
        action=f"callback_{outcome}",
        changes=changes,
        note=note,
    )
    updated = ticket.model_copy(update={**values, "message_count": ticket.message_count + 1})
    return TicketChange(updated, [entry], [comment])


def attempt(
    ticket: Ticket, now: datetime, answered: bool, max_attempts: int, call: str
) -> TicketChange | None:
    """An outbound call to the client's number: answered closes it, else one more attempt.
    None when this call was counted before (a redelivered notification)."""
    counted_calls = list((ticket.callback or {}).get("calls", []))
    if call in counted_calls:
        return None
    attempts = int((ticket.callback or {}).get("attempts", 0)) + 1
    callback = {**(ticket.callback or {}), "attempts": attempts, "calls": [*counted_calls, call]}
    counted = ticket.model_copy(update={"callback": callback})
    if answered:
        return conclude(counted, "called_back", now, f"Called back (attempt {attempts}).")
    if attempts >= max_attempts:
        return conclude(
            counted,
            "unreachable",
            now,
            f"Unreachable after {attempts} callback attempts.",
        )
    entry = HistoryEntry(
        ticket_id=ticket.id,
        at=now,
        actor="system",
        action="callback_attempt",
        changes={"callback_attempts": [attempts - 1, attempts]},
        note="no answer",
    )
    updated = counted.model_copy(update={"updated_at": now, "version": ticket.version + 1})
    return TicketChange(updated, [entry])
