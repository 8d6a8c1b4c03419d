"""The service desk: what agents and leads do to tickets (read, open by hand, work them).

`apply` is the one path of a staff action: read, check the caller's version, apply the rule
from `tickets`, fit what goes to the client to its channel, write all-or-nothing, enqueue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import csat, tickets
from helpdesk.channels import registry
from helpdesk.errors import Conflict
from helpdesk.jobs import SendMessageJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import (
    Actor,
    Channel,
    Customer,
    DeliveryState,
    HistoryEntry,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
    utc_now,
)
from helpdesk.phones import normalize_phone
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store, TicketQuery
from helpdesk.store.customers import new_customer
from helpdesk.store.events import Duplicate, dedupe
from helpdesk.store.identities import new_identity
from helpdesk.tickets import TicketChange
from helpdesk.usecases.changes import ticket_writes
from helpdesk.usecases.outbound import fit_reply, fit_resolution

MAX_ATTEMPTS = 4  # a comment, made again after a concurrent write


@dataclass
class TicketDesk:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def tickets(self, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None]:
        return self.store.tickets.page(query)

    def conversation(self, ticket_id: str) -> tuple[Ticket, list[Message], list[HistoryEntry]]:
        return self.store.tickets.conversation(ticket_id)

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
        """A ticket an agent opens by hand (a walk-in, a letter): nothing is sent from it."""
        settings = self.settings()
        settings.known_direction(direction)
        now = self.clock()
        phone = normalize_phone(customer_phone)
        identity = self.store.identities.get("phone", phone) if phone else None
        customer_id = identity["customer_id"] if identity else Customer(created_at=now).id
        known = self.store.customers.find(customer_id) if identity else None
        our_client = bool(known and settings.direction(direction).our_clients_group in known.groups)
        contact = tickets.Contact(
            direction=direction,
            channel=Channel.MANUAL,
            customer_id=customer_id,
            subject=subject.strip()[:200],
            customer_name=customer_name,
            customer_address=phone,
            recipient_id=phone,
            our_client=our_client,
        )
        first = Message(
            ticket_id="",
            kind=MessageKind.INBOUND,
            author="customer",
            text=tickets.clean_text(text),
            at=now,
            channel=Channel.MANUAL,
        )
        number = tickets.ticket_number(direction, self.store.counters.next(direction))
        change = tickets.open_ticket(
            number, contact, now, actor=actor.user_id, note="opened by hand", first_message=first
        )
        if priority != Priority.NORMAL:
            change.ticket.priority = priority
            change.ticket.priority_reason = f"set by {actor.user_id}"
        change, writes = ticket_writes(None, change, settings, now)
        if identity is None:
            writes.append(
                new_customer(
                    Customer(
                        id=customer_id,
                        name=customer_name,
                        phone=phone,
                        identities=[f"phone:{phone}"] if phone else [],
                        created_at=now,
                    )
                )
            )
            if phone:
                writes.append(new_identity("phone", phone, customer_id))
        self.store.transact(writes)
        return change.ticket

    def reply(
        self,
        ticket_id: str,
        expected_version: int | None,
        actor: Actor,
        text: str,
        request_id: str | None = None,
        wait_for_client: bool = False,
    ) -> Ticket:
        return self.apply(
            ticket_id,
            expected_version,
            tickets.reply,
            request_id,
            actor=actor,
            text=text,
            wait_for_client=wait_for_client,
        )

    def apply(
        self,
        ticket_id: str,
        expected_version: int | None,
        rule: Callable[..., TicketChange],
        request_id: str | None = None,
        origin: str | None = None,
        **arguments: Any,
    ) -> Ticket:
        """Read, check the caller's version, apply the rule, write all-or-nothing, enqueue.

        `request_id` (the client's idempotency key) makes a retried request a no-op that
        re-enqueues the first request's jobs, so a crash between store and enqueue is
        repaired by retrying, not by sending twice. `origin` marks the messages the rule
        writes with where staff wrote them (the ticket's Telegram topic).
        """
        request_key = f"request:{ticket_id}:{request_id}" if request_id else None
        if request_key and self._resend(ticket_id, request_key):
            return self.store.tickets.get(ticket_id)
        attempts = 0
        while True:
            try:
                return self._apply_once(
                    ticket_id, expected_version, rule, request_key, arguments, origin
                )
            except Conflict:
                # The ticket moved between our read and our write (a client's message): a
                # comment depends on nothing it read, so it is made again on the new version;
                # any other change answers 409, its caller must see what changed.
                attempts += 1
                if rule is not tickets.comment or attempts >= MAX_ATTEMPTS:
                    raise

    def _apply_once(
        self,
        ticket_id: str,
        expected_version: int | None,
        rule: Callable[..., TicketChange],
        request_key: str | None,
        arguments: dict[str, Any],
        origin: str | None = None,
    ) -> Ticket:
        ticket = self.store.tickets.get(ticket_id)
        if expected_version is not None and expected_version != ticket.version:
            raise Conflict(
                f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}; "
                "reload it and try again",
                current_version=ticket.version,
            )
        now = self.clock()
        change = rule(ticket, now, **arguments)
        if origin:
            stamped = [m.model_copy(update={"origin": origin}) for m in change.messages]
            change = TicketChange(change.ticket, change.history, stamped, change.jobs)
        change = self._fit(ticket, change, now)
        change, writes = ticket_writes(ticket, change, self.settings(), now)
        if request_key:
            message_ids = [message.id for message in change.messages]
            writes.append(dedupe(request_key, now, ids=message_ids))
        try:
            self.store.transact(writes)
        except Duplicate:
            self._resend(ticket_id, request_key or "")
            return self.store.tickets.get(ticket_id)
        if change.jobs:
            self.queue.send(change.jobs)
        return change.ticket

    def _fit(self, before: Ticket, change: TicketChange, now: datetime) -> TicketChange:
        """What goes to the client, fitted to its channel: a reply, the resolution notice."""
        config = self.settings().direction(before.direction)
        messages = [
            fit_reply(before, m, config, now) if m.kind == MessageKind.REPLY else m
            for m in change.messages
        ]
        ticket, history, jobs = change.ticket, change.history, change.jobs
        resolved_now = ticket.status == Status.RESOLVED and before.status != Status.RESOLVED
        if resolved_now and registry.can_send(ticket.channel):
            notice = fit_resolution(
                ticket, csat.resolution_messages(ticket, config, now), config, now
            )
            queued = [m for m in notice if m.delivery == DeliveryState.QUEUED]
            failed = [m for m in notice if m.delivery == DeliveryState.FAILED]
            if failed:
                flagged = tickets.delivery_failed(ticket, failed[0].id, failed[0].error or "", now)
                ticket = flagged.ticket.model_copy(update={"version": ticket.version})
                history = [*history, *flagged.history]
            messages = [*messages, *notice]
            jobs = [*jobs, *tickets.send_in_order(queued)]
        return TicketChange(ticket, history, messages, jobs)

    def _resend(self, ticket_id: str, request_key: str) -> bool:
        """Re-enqueue what an earlier request with this key stored; False if there was none."""
        record = self.store.events.get(request_key)
        if record is None:
            return False
        ids = record.get("ids", [])
        if ids:
            self.queue.send(
                [SendMessageJob(ticket_id=ticket_id, message_id=ids[0], then=list(ids[1:]))]
            )
        return True
