"""Missed calls to their end: the callback worklist, the closure sweep and callback attempts.

The worklist is read by key (the sparse `CALLBACK#<direction>` index of missed calls, oldest
first), never by Scan. The sweep closes what was settled elsewhere and escalates what two
working days did not settle; the switchboard reports every outbound call that ends, which
counts as a callback attempt. Each decision is one version-checked write of the ticket (and
the call leaving the worklist), so a rerun or a concurrent sweep decides once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import callbacks, tickets
from helpdesk.errors import Conflict, NotFound
from helpdesk.jobs import Job
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Channel, DeliveryState, MessageKind, Ticket, iso, utc_now
from helpdesk.settings import DirectionConfig, Settings, get_settings
from helpdesk.store import Store, Write
from helpdesk.store.calls import WorklistEntry, escalated_on_worklist, off_worklist
from helpdesk.store.items import summary_from_item, ticket_item
from helpdesk.tickets import TicketChange
from helpdesk.usecases.changes import ticket_writes
from helpdesk.usecases.outbound import staff_notices

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4


@dataclass
class CallbackDesk:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def worklist(self, direction: str) -> list[dict[str, Any]]:
        """The direction's missed calls waiting for a callback, oldest first."""
        ids = [entry.ticket_id for entry in self.store.calls.waiting_for_callback(direction)]
        found = {t.id: t for t in self.store.tickets.get_many(ids)}
        config = self.settings().direction(direction)
        entries = []
        for ticket_id in ids:
            ticket = found.get(ticket_id)
            if ticket is None or not callbacks.waiting(ticket):
                continue
            missed = callbacks.missed_at(ticket)
            entries.append(
                summary_from_item(ticket_item(ticket))
                | {
                    "missed_at": iso(missed),
                    "call_back_by": iso(
                        callbacks.deadline(
                            missed, config.business_calendar(), config.callbacks.working_days
                        )
                    ),
                    "attempts": int((ticket.callback or {}).get("attempts", 0)),
                    "escalated": (ticket.callback or {}).get("outcome") == "escalated",
                    "meant_for": ticket.assignee,
                    "client_number": ticket.customer_address,
                }
            )
        return entries

    def sweep(self) -> dict[str, int]:
        """Every direction's worklist: close what was settled, escalate what is late.

        The index entry and the client's reach record say which calls need a decision; only
        their tickets are read (items read: the worklist, one reach record per client, and
        the tickets decided), and their jobs go out together at the end.
        """
        counts = {"looked_at": 0, "contacted_elsewhere": 0, "escalated": 0}
        now = self.clock()
        jobs: list[Job] = []
        try:
            for direction in self.settings().direction_ids():
                self._sweep_direction(direction, now, counts, jobs)
        finally:
            if jobs:  # on a crash, the outbox sweep finds whatever this did not send
                self.queue.send(jobs)
        return counts

    def _sweep_direction(
        self, direction: str, now: datetime, counts: dict[str, int], jobs: list[Job]
    ) -> None:
        config = self.settings().direction(direction)
        entries = self.store.calls.waiting_for_callback(direction)
        reached = self.store.customers.last_reached(e.customer_id for e in entries if e.customer_id)
        for entry in entries:
            counts["looked_at"] += 1
            if not _needs_look(entry, reached, config, now):
                continue
            decided = self._retrying(
                entry.ticket_id, lambda t: self._decide(t, now, reached), now, jobs
            )
            if decided:
                counts[decided] += 1

    def outbound_call(self, client_number: str, answered: bool, call: str) -> list[str]:
        """An outbound call to a client ended: an attempt on each missed call waiting for them
        (once per call, whatever the redeliveries)."""
        identity = self.store.identities.get("phone", client_number)
        if identity is None:
            return []
        now = self.clock()
        done = []
        jobs: list[Job] = []
        for ticket in self.store.tickets.of_customer(str(identity["customer_id"])):
            if callbacks.waiting(ticket):
                outcome = self._retrying(
                    ticket.id, lambda t: self._attempt(t, answered, now, call), now, jobs
                )
                done.append(outcome or "attempt")
        if jobs:
            self.queue.send(jobs)
        return done

    # -- decisions ----------------------------------------------------------------------

    def _retrying(
        self,
        ticket_id: str,
        decide: Callable[[Ticket], TicketChange | None],
        now: datetime,
        jobs: list[Job],
    ) -> str | None:
        for _ in range(MAX_ATTEMPTS):
            try:
                ticket = self.store.tickets.get(ticket_id)
            except NotFound:
                return None
            if not callbacks.waiting(ticket):
                self._leave_worklist(ticket)
                return None
            change = decide(ticket)
            if change is None:
                return None
            change, writes = ticket_writes(ticket, change, self.settings(), now)
            outcome = (change.ticket.callback or {}).get("outcome")
            if outcome == "escalated" and ticket.call:
                writes.append(self._marked_escalated(ticket))
            elif outcome:
                writes.append(self._off(ticket))
            try:
                self.store.transact(writes)
            except Conflict:
                continue
            jobs.extend(change.jobs)
            return str(outcome) if outcome else None
        return None

    def _decide(
        self, ticket: Ticket, now: datetime, reached: dict[str, tuple[datetime, str] | None]
    ) -> TicketChange | None:
        config = self.settings().direction(ticket.direction)
        missed = callbacks.missed_at(ticket)
        if ticket.customer_id not in reached:  # a call recorded before its index said whose
            reached = self.store.customers.last_reached([ticket.customer_id])
        when, where = reached.get(ticket.customer_id) or (None, "")
        if when is not None and when > missed and where != ticket.id:
            other = self.store.tickets.find(where)
            return callbacks.conclude(
                ticket,
                "contacted_elsewhere",
                now,
                f"The client was reached in {where} after the missed call; closed.",
                topic=other.topic if other else None,
            )
        late = now > callbacks.deadline(
            missed, config.business_calendar(), config.callbacks.working_days
        )
        if late and (ticket.callback or {}).get("outcome") != "escalated":
            change = callbacks.conclude(
                ticket,
                "escalated",
                now,
                "Not called back within two working days: escalated to the lead.",
                close=False,
            )
            text = _escalation_text(ticket, config)
            notices = staff_notices(
                change.ticket,
                [config.lead_chat_id, config.team_chat_id],
                text,
                now,
                self.settings().own_telegram_bot_id(),
            )
            return TicketChange(
                change.ticket,
                change.history,
                [*change.messages, *notices],
                tickets.send_in_order(notices),
            )
        return None

    def _attempt(
        self, ticket: Ticket, answered: bool, now: datetime, call: str
    ) -> TicketChange | None:
        config = self.settings().direction(ticket.direction)
        change = callbacks.attempt(ticket, now, answered, config.callbacks.max_attempts, call)
        if change is None or (change.ticket.callback or {}).get("outcome") != "unreachable":
            return change
        told = self._tell_unreachable(change.ticket, config, now)
        return TicketChange(
            change.ticket,
            change.history,
            [*change.messages, *told],
            tickets.send_in_order(told),
        )

    def _tell_unreachable(
        self, ticket: Ticket, config: DirectionConfig, now: datetime
    ) -> list[Any]:
        """The client hears in a messenger we know them by, if any (the newest such ticket)."""
        written = [
            t
            for t in self.store.tickets.of_customer(ticket.customer_id)
            if t.channel in (Channel.TELEGRAM, Channel.WHATSAPP) and t.recipient_id
        ]
        if not written:
            return []
        via = written[0]
        text = config.client_texts().render(
            "unreachable", number=ticket.id, direction=config.display_name()
        )
        message = tickets.outbound_message(ticket, MessageKind.AUTO, "system", text, now)
        return [
            message.model_copy(
                update={
                    "channel": via.channel,
                    "recipient_id": via.recipient_id,
                    "service_id": via.service_id,
                    "delivery": DeliveryState.QUEUED,
                }
            )
        ]

    def _off(self, ticket: Ticket) -> Write:
        call = ticket.call or {}
        return off_worklist(str(call.get("provider")), str(call.get("call_id")))

    def _marked_escalated(self, ticket: Ticket) -> Write:
        call = ticket.call or {}
        return escalated_on_worklist(
            str(call.get("provider")),
            str(call.get("call_id")),
            iso(callbacks.missed_at(ticket)),
            ticket.id,
        )

    def _leave_worklist(self, ticket: Ticket) -> None:
        """A ticket no longer waiting (an agent closed it) leaves the worklist index."""
        if ticket.call:
            try:
                self.store.transact([self._off(ticket)])
            except Exception:
                logger.warning("could not take a call off the worklist", exc_info=True)


def _needs_look(
    entry: WorklistEntry,
    reached: dict[str, tuple[datetime, str] | None],
    config: DirectionConfig,
    now: datetime,
) -> bool:
    """Whether a worklist entry may need a decision now: its client was reached after the
    miss, or its two working days ran out and it is not escalated yet."""
    if entry.customer_id is None or entry.missed_at is None:
        return True
    when, where = reached.get(entry.customer_id) or (None, "")
    if when is not None and when > entry.missed_at and where != entry.ticket_id:
        return True
    if entry.escalated:
        return False
    due = callbacks.deadline(
        entry.missed_at, config.business_calendar(), config.callbacks.working_days
    )
    return now > due


def _escalation_text(ticket: Ticket, config: DirectionConfig) -> str:
    client = ticket.customer_name or ticket.customer_address or ticket.customer_id
    who = ticket.assignee or "—"
    if config.language == "ru":
        return (
            f"📞 Пропущенный звонок {ticket.id} не перезвонили за два рабочих дня. "
            f"Клиент: {client}. Кому звонили: {who}. Переназначьте или позвоните."
        )
    return (
        f"📞 Missed call {ticket.id} not called back within two working days. "
        f"Client: {client}. Meant for: {who}. Reassign it or call."
    )
