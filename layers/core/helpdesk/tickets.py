"""Ticket rules: what each action may do in each status, and what it records.

Pure: every action takes the current ticket and returns a `TicketChange` (the new ticket,
its history entry, any messages to store and jobs to enqueue). `service` persists it.

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
"""

from __future__ import annotations

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
WRITTEN_CHANNELS = (Channel.TELEGRAM, Channel.WHATSAPP, Channel.SANDBOX)
MAX_TEXT = 4000  # Telegram's limit is 4096; WhatsApp's 4096 too


@dataclass
class TicketChange:
    ticket: Ticket
    history: HistoryEntry
    messages: list[Message] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)


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


def _changed(ticket: Ticket, now: datetime, **values: Any) -> tuple[Ticket, dict[str, list[Any]]]:
    changes = {
        name: [plain(getattr(ticket, name)), plain(value)]
        for name, value in values.items()
        if getattr(ticket, name) != value
    }
    updated = ticket.model_copy(update={**values, "updated_at": now, "version": ticket.version + 1})
    return updated, changes


def plain(value: Any) -> Any:
    """An enum as its value, for history entries."""
    return value.value if hasattr(value, "value") else value


def _entry(ticket: Ticket, actor: str, action: str, now: datetime, **kwargs: Any) -> HistoryEntry:
    return HistoryEntry(ticket_id=ticket.id, at=now, actor=actor, action=action, **kwargs)


def _clean_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise BadRequest("text must not be empty", field="text")
    if len(cleaned) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters", field="text")
    return cleaned


def outbound_message(
    ticket: Ticket,
    kind: MessageKind,
    author: str,
    text: str,
    now: datetime,
    message_id: str | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> tuple[Message, SendMessageJob]:
    """A message to the client, stored as queued, and the job that sends it."""
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
    if message_id:
        message = message.model_copy(update={"id": message_id})
    return message, SendMessageJob(ticket_id=ticket.id, message_id=message.id)


def reply(
    ticket: Ticket, now: datetime, *, actor: Actor, text: str, message_id: str | None = None
) -> TicketChange:
    check_allowed(ticket, "reply")
    if ticket.channel not in WRITTEN_CHANNELS:
        raise InvalidTransition(
            f"a {ticket.channel.value} ticket has no written channel to reply in; "
            "call the client back and add a comment",
            channel=ticket.channel.value,
        )
    message, job = outbound_message(
        ticket, MessageKind.REPLY, actor.user_id, _clean_text(text), now, message_id
    )
    values: dict[str, Any] = {"message_count": ticket.message_count + 1}
    if ticket.status == Status.NEW:
        values["status"] = Status.OPEN
    if ticket.first_response_at is None:
        values["first_response_at"] = now
    if ticket.assignee is None:
        values["assignee"] = actor.user_id
    updated, changes = _changed(ticket, now, **values)
    changes.pop("message_count", None)
    history = _entry(ticket, actor.user_id, "reply", now, changes=changes, note=message.id)
    return TicketChange(updated, history, [message], [job])


def comment(ticket: Ticket, now: datetime, *, actor: Actor, text: str) -> TicketChange:
    message = Message(
        ticket_id=ticket.id,
        kind=MessageKind.COMMENT,
        author=actor.user_id,
        text=_clean_text(text),
        at=now,
        channel=ticket.channel,
    )
    updated, _ = _changed(ticket, now, message_count=ticket.message_count + 1)
    history = _entry(ticket, actor.user_id, "comment", now, note=message.id)
    return TicketChange(updated, history, [message])


def assign(ticket: Ticket, now: datetime, *, actor: Actor, assignee: str | None) -> TicketChange:
    check_allowed(ticket, "assign")
    updated, changes = _changed(ticket, now, assignee=assignee or None)
    return TicketChange(updated, _entry(ticket, actor.user_id, "assign", now, changes=changes))


def update_fields(
    ticket: Ticket,
    now: datetime,
    *,
    actor: Actor,
    category: Category | None = None,
    topic: str | None = None,
    priority: Priority | None = None,
) -> TicketChange:
    check_allowed(ticket, "update")
    values: dict[str, Any] = {}
    if category is not None:
        values["category"] = category
    if topic is not None:
        values["topic"] = topic.strip() or None
    if priority is not None:
        values["priority"] = priority
        values["priority_reason"] = f"set by {actor.user_id}"
    if not values:
        raise BadRequest("nothing to change: give category, topic or priority")
    updated, changes = _changed(ticket, now, **values)
    return TicketChange(updated, _entry(ticket, actor.user_id, "update", now, changes=changes))


def hold(
    ticket: Ticket, now: datetime, *, actor: Actor, task_url: str, reason: str | None = None
) -> TicketChange:
    check_allowed(ticket, "hold")
    updated, changes = _changed(
        ticket, now, status=Status.ON_HOLD, external_task_url=task_url, hold_reason=reason
    )
    return TicketChange(updated, _entry(ticket, actor.user_id, "hold", now, changes=changes))


def resolve(
    ticket: Ticket, now: datetime, *, actor: Actor, resolution: str | None = None
) -> TicketChange:
    check_allowed(ticket, "resolve")
    updated, changes = _changed(
        ticket, now, status=Status.RESOLVED, resolved_at=now, resolution=resolution
    )
    return TicketChange(updated, _entry(ticket, actor.user_id, "resolve", now, changes=changes))


def close(ticket: Ticket, now: datetime, *, actor: Actor) -> TicketChange:
    check_allowed(ticket, "close")
    updated, changes = _changed(ticket, now, status=Status.CLOSED, closed_at=now)
    return TicketChange(updated, _entry(ticket, actor.user_id, "close", now, changes=changes))


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
    )
    history = _entry(ticket, actor.user_id, "reopen", now, changes=changes, note=reason)
    return TicketChange(updated, history)


REVIEW_VERDICTS = ("ok", "coaching", "escalate")


def review_call(
    ticket: Ticket, now: datetime, *, actor: Actor, verdict: str, note: str | None = None
) -> TicketChange:
    """A reviewer's verdict on a (problem) call; a later verdict replaces it, history keeps both."""
    if ticket.call is None:
        raise InvalidTransition("only phone tickets have a call to review", channel=ticket.channel)
    review = {"verdict": verdict, "note": note, "by": actor.user_id, "at": now.isoformat()}
    updated, changes = _changed(ticket, now, call_review=review)
    history = _entry(ticket, actor.user_id, "call_review", now, changes=changes, note=verdict)
    return TicketChange(updated, history)
