"""Ticket use cases: read, apply a rule from `tickets`, persist atomically, enqueue jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import csat, tickets
from helpdesk.errors import Conflict
from helpdesk.models import (
    Actor,
    Channel,
    Customer,
    HistoryEntry,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    utc_now,
)
from helpdesk.queue import JobQueue
from helpdesk.settings import get_settings
from helpdesk.store import (
    Store,
    TicketQuery,
    Write,
    changed_ticket_write,
    customer_item,
    event_key,
    history_item,
    message_item,
    new_ticket_write,
    put_new,
)

DEDUPE_DAYS = 14  # longer than any provider's retry window (WhatsApp retries for 7 days)


class Duplicate(Exception):
    """The event was already stored; carries what the first delivery recorded."""

    def __init__(self, record: dict[str, Any] | None) -> None:
        super().__init__("duplicate event")
        self.record = record or {}


def dedupe_write(event_id: str, now: datetime, **record: Any) -> Write:
    """Marks an external event as stored, in the same transaction as what it stored."""
    item = {
        **event_key(event_id),
        "type": "event",
        "at": now.isoformat(),
        "expires_at": int(now.timestamp()) + DEDUPE_DAYS * 86400,
        **record,
    }
    return put_new(item, Duplicate(None))


@dataclass
class TicketService:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    clock: Callable[[], datetime] = utc_now

    def list(self, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None]:
        return self.store.list_tickets(query)

    def conversation(self, ticket_id: str) -> tuple[Ticket, list[Message], list[HistoryEntry]]:
        return self.store.get_conversation(ticket_id)

    def create(
        self,
        actor: Actor,
        direction: str,
        subject: str,
        text: str,
        customer_name: str | None,
        customer_phone: str | None,
        priority: Priority = Priority.NORMAL,
    ) -> Ticket:
        """A ticket an agent opens by hand (a walk-in, a letter); replies go to the sandbox."""
        now = self.clock()
        customer = Customer(name=customer_name, phone=customer_phone, created_at=now)
        ticket = Ticket(
            id=self.store.next_ticket_number(direction),
            direction=direction,
            channel=Channel.SANDBOX,
            customer_id=customer.id,
            subject=subject.strip()[:200],
            priority=priority,
            recipient_id=customer.phone or customer.id,
            created_at=now,
            updated_at=now,
            message_count=1,
            version=1,
        )
        message = Message(
            ticket_id=ticket.id,
            kind=MessageKind.INBOUND,
            author="customer",
            text=tickets._clean_text(text),
            at=now,
            channel=ticket.channel,
        )
        history = HistoryEntry(ticket_id=ticket.id, at=now, actor=actor.user_id, action="create")
        self.store.transact(
            [
                new_ticket_write(ticket),
                put_new(customer_item(customer)),
                put_new(message_item(message)),
                put_new(history_item(history)),
            ]
        )
        return ticket

    def apply(
        self,
        ticket_id: str,
        expected_version: int | None,
        rule: Callable[..., tickets.TicketChange],
        request_id: str | None = None,
        **arguments: Any,
    ) -> Ticket:
        """Read, check the caller's version, apply the rule, write all-or-nothing, enqueue.

        `request_id` (the client's idempotency key) makes a retried request a no-op that
        re-enqueues the first request's jobs, so a crash between store and enqueue is
        repaired by retrying, not by sending twice.
        """
        if request_id and self._resend(ticket_id, request_id):
            return self.store.get_ticket(ticket_id)
        ticket = self.store.get_ticket(ticket_id)
        if expected_version is not None and expected_version != ticket.version:
            raise Conflict(
                f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}; "
                "reload it and try again",
                current_version=ticket.version,
            )
        now = self.clock()
        change = rule(ticket, now, **arguments)
        if change.ticket.status == Status.RESOLVED and ticket.status != Status.RESOLVED:
            direction = get_settings().direction(ticket.direction)
            change = csat.announce_resolution(change, direction, now)
        writes = [changed_ticket_write(change.ticket, ticket.version)]
        writes += [put_new(message_item(message)) for message in change.messages]
        writes.append(put_new(history_item(change.history)))
        if request_id:
            message_ids = [message.id for message in change.messages]
            writes.append(dedupe_write(f"request:{ticket_id}:{request_id}", now, ids=message_ids))
        try:
            self.store.transact(writes)
        except Duplicate:
            self._resend(ticket_id, request_id or "")
            return self.store.get_ticket(ticket_id)
        if change.jobs:
            self.queue.send(change.jobs)
        return change.ticket

    def _resend(self, ticket_id: str, request_id: str) -> bool:
        """Re-enqueue what an earlier request with this key stored; False if there was none."""
        record = self.store.get(event_key(f"request:{ticket_id}:{request_id}"))
        if record is None:
            return False
        jobs = [
            tickets.SendMessageJob(ticket_id=ticket_id, message_id=message_id)
            for message_id in record.get("ids", [])
        ]
        if jobs:
            self.queue.send(jobs)
        return True
