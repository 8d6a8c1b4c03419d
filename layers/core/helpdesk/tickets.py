"""Ticket rules: opening a ticket, what each action may do in each status, what it records.

Pure: every rule takes the current ticket and returns a `TicketChange` (the new ticket, its
history entries, any messages to store and jobs to enqueue); `store.tickets.writes_for`
turns it into writes. One rule per fact: `open_ticket` opens every ticket (a message, a call,
an agent's hand), `raise_urgency` raises every priority a client's words raise.

Status transitions:

| action  | allowed from                    | to        |
|---------|---------------------------------|-----------|
| reply   | new, open, on_hold              | open (on_hold stays on_hold) |
| comment | any                             | unchanged |
| assign, update (category/topic/priority) | any but closed | unchanged |
| hold    | new, open                       | on_hold   |
| resolve | new, open, on_hold              | resolved  |
| close   | new, open, on_hold, resolved    | closed    |
| reopen  | on_hold, resolved, closed       | open      |
| a client writes | new, open, on_hold / resolved / closed | unchanged / open / a new ticket |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.errors import BadRequest, InvalidTransition
from helpdesk.jobs import Job, SendMessageJob
from helpdesk.models import (
    Actor,
    Category,
    Channel,
    DeliveryState,
    HistoryEntry,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    iso,
)

ACTIVE = (Status.NEW, Status.OPEN, Status.ON_HOLD)
ALLOWED_FROM: dict[str, tuple[Status, ...]] = {
    "reply": ACTIVE,
    "assign": (*ACTIVE, Status.RESOLVED),
    "update": (*ACTIVE, Status.RESOLVED),
    "hold": (Status.NEW, Status.OPEN),
    "resolve": ACTIVE,
    "close": (*ACTIVE, Status.RESOLVED),
    "reopen": (Status.ON_HOLD, Status.RESOLVED, Status.CLOSED),
}
MAX_TEXT = 4000  # what an agent may write in one reply (Telegram's limit is 4096)
SUBJECT_LENGTH = 120
URGENT = re.compile(r"(срочно|urgent)", re.IGNORECASE)
CUSTOMER = Actor(user_id="customer", roles=frozenset())
DELIVERY_FAILED_FLAG = "delivery_failed"
TASK_DONE_FLAG = "task_done"  # a tracker task this ticket waited for is done: the agent's turn


@dataclass
class TicketChange:
    ticket: Ticket
    history: list[HistoryEntry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)


@dataclass(frozen=True)
class Contact:
    """Who opened a ticket, where, and how to answer them."""

    direction: str
    channel: Channel
    customer_id: str
    subject: str
    customer_name: str | None = None
    customer_address: str | None = None  # a phone number, @username, chat id: for people
    recipient_id: str | None = None  # where the channel delivers replies (chat id, wa_id)
    service_id: str | None = None  # which bot / business number / line was contacted
    last_customer_message_at: datetime | None = None
    our_client: bool = False  # in the direction's "our clients" group: tighter promises


def ticket_number(direction: str, sequence: int) -> str:
    """D0-000123: what agents and clients say; the counter never reuses a sequence."""
    return f"{direction.upper()}-{sequence:06d}"


def urgency(text: str) -> str | None:
    """Why a client's words raise the priority ('client wrote "СРОЧНО"'), or None."""
    found = URGENT.search(text or "")
    return f"client wrote {found.group(0)!r}" if found else None


def subject_of(text: str, placeholder: str = "(attachment)") -> str:
    """The first line of the first message, or a placeholder for a bare attachment."""
    lines = (text or "").strip().splitlines()
    return lines[0].strip()[:SUBJECT_LENGTH] if lines else placeholder


def check_allowed(ticket: Ticket, action: str) -> None:
    allowed = ALLOWED_FROM[action]
    if ticket.status not in allowed:
        hint = " (reopen it first)" if ticket.status in (Status.CLOSED, Status.RESOLVED) else ""
        raise InvalidTransition(
            f"cannot {action.replace('reply', 'reply to')} a ticket that is "
            f"{ticket.status.value}{hint}",
            status=ticket.status.value,
            allowed_from=[status.value for status in allowed],
        )


def plain(value: Any) -> Any:
    """A value as history shows it: an enum as its value, a time in the one format."""
    if isinstance(value, datetime):
        return iso(value)
    return value.value if hasattr(value, "value") else value


def _changed(ticket: Ticket, now: datetime, **values: Any) -> tuple[Ticket, dict[str, list[Any]]]:
    changes = {
        name: [plain(getattr(ticket, name)), plain(value)]
        for name, value in values.items()
        if getattr(ticket, name) != value
    }
    updated = ticket.model_copy(update={**values, "updated_at": now, "version": ticket.version + 1})
    return updated, changes


def _entry(ticket: Ticket, actor: str, action: str, now: datetime, **kwargs: Any) -> HistoryEntry:
    return HistoryEntry(ticket_id=ticket.id, at=now, actor=actor, action=action, **kwargs)


def clean_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise BadRequest("text must not be empty", field="text")
    if len(cleaned) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters", field="text")
    return cleaned


# ---- opening and the client's own messages ----------------------------------------------


def open_ticket(
    number: str,
    contact: Contact,
    now: datetime,
    *,
    actor: str,
    note: str | None = None,
    first_message: Message | None = None,
) -> TicketChange:
    """A new ticket for a contact: the one way every ticket starts."""
    ticket = Ticket(
        id=number,
        direction=contact.direction,
        channel=contact.channel,
        customer_id=contact.customer_id,
        customer_name=contact.customer_name,
        customer_address=contact.customer_address,
        subject=contact.subject,
        recipient_id=contact.recipient_id,
        service_id=contact.service_id,
        created_at=now,
        updated_at=now,
        last_customer_message_at=contact.last_customer_message_at,
        our_client=contact.our_client,
        message_count=1 if first_message else 0,
        version=1,
    )
    messages = []
    if first_message:
        messages.append(first_message.model_copy(update={"ticket_id": number}))
    change = TicketChange(ticket, [_entry(ticket, actor, "create", now, note=note)], messages)
    if first_message and (why := urgency(first_message.text)):
        change = raise_urgency(change, why, now)
    return change


def raise_urgency(change: TicketChange, why: str, now: datetime) -> TicketChange:
    """The client's words make the ticket urgent; history says from what and why."""
    ticket = change.ticket
    if ticket.priority == Priority.URGENT:
        return change
    entry = _entry(
        ticket,
        CUSTOMER.user_id,
        "priority",
        now,
        changes={"priority": [ticket.priority.value, Priority.URGENT.value]},
        note=why,
    )
    updated = ticket.model_copy(update={"priority": Priority.URGENT, "priority_reason": why})
    return TicketChange(updated, [*change.history, entry], change.messages, change.jobs)


def client_wrote(ticket: Ticket, message: Message, now: datetime) -> TicketChange | None:
    """A client's message on their ticket; None when the ticket is closed (open a new one).

    A resolved ticket reopens: the client answering "it is still broken" is the same problem.
    """
    if ticket.status == Status.CLOSED:
        return None
    history: list[HistoryEntry] = []
    if ticket.status == Status.RESOLVED:
        reopened = reopen(ticket, now, actor=CUSTOMER, reason="the client wrote after resolution")
        ticket, history = reopened.ticket, reopened.history
    else:
        ticket = ticket.model_copy(update={"updated_at": now, "version": ticket.version + 1})
    ticket = ticket.model_copy(
        update={
            "message_count": ticket.message_count + 1,
            "last_customer_message_at": max(
                filter(None, (ticket.last_customer_message_at, message.at))
            ),
            # The client answered: we are no longer waiting on them.
            "waiting_on_client": False,
            "waiting_since": None,
            "reminded_at": None,
        }
    )
    change = TicketChange(ticket, history, [message.model_copy(update={"ticket_id": ticket.id})])
    if why := urgency(message.text):
        change = raise_urgency(change, why, now)
    return change


def outbound_message(
    ticket: Ticket,
    kind: MessageKind,
    author: str,
    text: str,
    now: datetime,
    message_id: str | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> Message:
    """A message to the client, stored as queued until the dispatcher sends it."""
    message = Message(
        ticket_id=ticket.id,
        kind=kind,
        author=author,
        text=text,
        at=now,
        channel=ticket.channel,
        delivery=DeliveryState.QUEUED,
        recipient_id=ticket.recipient_id,
        service_id=ticket.service_id,
        buttons=buttons or [],
    )
    return message.model_copy(update={"id": message_id}) if message_id else message


def send_in_order(messages: list[Message]) -> list[Job]:
    """One job for messages the client must read in this order (greeting, then number)."""
    if not messages:
        return []
    first, *rest = messages
    return [
        SendMessageJob(ticket_id=first.ticket_id, message_id=first.id, then=[m.id for m in rest])
    ]


# ---- what agents do -----------------------------------------------------------------------


def reply(
    ticket: Ticket,
    now: datetime,
    *,
    actor: Actor,
    text: str,
    message_id: str | None = None,
    wait_for_client: bool = False,
) -> TicketChange:
    """An agent's answer; `wait_for_client` asks the client something back, which pauses the
    resolution clock until they write (a reminder, then resolution, if they never do)."""
    check_allowed(ticket, "reply")
    message = outbound_message(
        ticket, MessageKind.REPLY, actor.user_id, clean_text(text), now, message_id
    )
    values: dict[str, Any] = {
        "message_count": ticket.message_count + 1,
        # The agent has answered: a failed delivery and a returned task are dealt with.
        "flags": [f for f in ticket.flags if f not in (DELIVERY_FAILED_FLAG, TASK_DONE_FLAG)],
        "last_agent_reply_at": now,
        "waiting_on_client": wait_for_client,
        "waiting_since": now if wait_for_client else None,
        "reminded_at": None,
    }
    if ticket.status == Status.NEW:
        values["status"] = Status.OPEN
    if ticket.first_response_at is None:
        values["first_response_at"] = now
    if ticket.assignee is None:
        values["assignee"] = actor.user_id
    updated, changes = _changed(ticket, now, **values)
    for bookkeeping in ("message_count", "last_agent_reply_at", "waiting_since", "reminded_at"):
        changes.pop(bookkeeping, None)
    history = _entry(ticket, actor.user_id, "reply", now, changes=changes, note=message.id)
    return TicketChange(updated, [history], [message], send_in_order([message]))


def comment(ticket: Ticket, now: datetime, *, actor: Actor, text: str) -> TicketChange:
    message = Message(
        ticket_id=ticket.id,
        kind=MessageKind.COMMENT,
        author=actor.user_id,
        text=clean_text(text),
        at=now,
        channel=ticket.channel,
    )
    updated, _ = _changed(ticket, now, message_count=ticket.message_count + 1)
    history = _entry(ticket, actor.user_id, "comment", now, note=message.id)
    return TicketChange(updated, [history], [message])


def assign(ticket: Ticket, now: datetime, *, actor: Actor, assignee: str | None) -> TicketChange:
    check_allowed(ticket, "assign")
    updated, changes = _changed(ticket, now, assignee=assignee or None)
    return TicketChange(updated, [_entry(ticket, actor.user_id, "assign", now, changes=changes)])


def update_fields(
    ticket: Ticket,
    now: datetime,
    *,
    actor: Actor,
    category: Category | None = None,
    topic: str | None = None,
    priority: Priority | None = None,
    difficulty: int | None = None,
) -> TicketChange:
    check_allowed(ticket, "update")
    values: dict[str, Any] = {}
    if difficulty is not None:
        if difficulty not in (1, 2, 3):
            raise BadRequest("difficulty is 1, 2 or 3", field="difficulty")
        values["difficulty"] = difficulty
    if category is not None:
        values["category"] = category
    if topic is not None:
        values["topic"] = topic.strip() or None
    if priority is not None:
        values["priority"] = priority
        values["priority_reason"] = f"set by {actor.user_id}"
    if not values:
        raise BadRequest("nothing to change: give category, topic, priority or difficulty")
    updated, changes = _changed(ticket, now, **values)
    return TicketChange(updated, [_entry(ticket, actor.user_id, "update", now, changes=changes)])


def hold(
    ticket: Ticket, now: datetime, *, actor: Actor, task_url: str, reason: str | None = None
) -> TicketChange:
    check_allowed(ticket, "hold")
    updated, changes = _changed(
        ticket, now, status=Status.ON_HOLD, external_task_url=task_url, hold_reason=reason
    )
    return TicketChange(updated, [_entry(ticket, actor.user_id, "hold", now, changes=changes)])


def resolve(
    ticket: Ticket, now: datetime, *, actor: Actor, resolution: str | None = None
) -> TicketChange:
    check_allowed(ticket, "resolve")
    updated, changes = _changed(
        ticket,
        now,
        status=Status.RESOLVED,
        resolved_at=now,
        resolution=resolution,
        flags=[flag for flag in ticket.flags if flag != TASK_DONE_FLAG],
    )
    return TicketChange(updated, [_entry(ticket, actor.user_id, "resolve", now, changes=changes)])


def close(ticket: Ticket, now: datetime, *, actor: Actor) -> TicketChange:
    check_allowed(ticket, "close")
    updated, changes = _changed(ticket, now, status=Status.CLOSED, closed_at=now)
    return TicketChange(updated, [_entry(ticket, actor.user_id, "close", now, changes=changes)])


def reopen(
    ticket: Ticket, now: datetime, *, actor: Actor, reason: str | None = None
) -> TicketChange:
    check_allowed(ticket, "reopen")
    updated, changes = _changed(
        ticket,
        now,
        status=Status.OPEN,
        resolved_at=None,
        closed_at=None,
        hold_reason=None,
        resolution=None,
    )
    history = _entry(ticket, actor.user_id, "reopen", now, changes=changes, note=reason)
    return TicketChange(updated, [history])


REVIEW_VERDICTS = ("ok", "coaching", "escalate")


def review_call(
    ticket: Ticket, now: datetime, *, actor: Actor, verdict: str, note: str | None = None
) -> TicketChange:
    """A reviewer's verdict on a (problem) call; a later verdict replaces it, history keeps both."""
    if ticket.call is None:
        raise InvalidTransition("only phone tickets have a call to review", channel=ticket.channel)
    review = {"verdict": verdict, "note": note, "by": actor.user_id, "at": iso(now)}
    updated, changes = _changed(ticket, now, call_review=review)
    history = _entry(ticket, actor.user_id, "call_review", now, changes=changes, note=verdict)
    return TicketChange(updated, [history])


def delivery_failed(ticket: Ticket, message_id: str, reason: str, now: datetime) -> TicketChange:
    """A message did not reach the client: flag the ticket so an agent sees it in the queue."""
    flags = sorted({*ticket.flags, DELIVERY_FAILED_FLAG})
    updated, changes = _changed(ticket, now, flags=flags)
    history = _entry(ticket, "system", "delivery_failed", now, changes=changes, note=reason)
    history = history.model_copy(update={"note": f"{message_id}: {reason}"[:1000]})
    return TicketChange(updated, [history])
