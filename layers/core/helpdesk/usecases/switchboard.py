"""Telephony notifications: the call record, its ticket, and problem-call notices.

Every call is one ticket: the call record's conditional write decides who opens it, and the
ticket's call facts are recomputed from the merged call state on every notification
(`calls.merge`), so order and repeats do not matter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk import calls, incidents, tickets
from helpdesk.calls import CALLBACK_FLAG, PROBLEM_FLAG, CallState, apply_call, merge
from helpdesk.errors import Conflict
from helpdesk.incidents import LineAnswer
from helpdesk.jobs import ProblemCallNoticeJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Channel, Customer, HistoryEntry, Ticket, new_id, utc_now
from helpdesk.settings import DirectionConfig, Settings, get_settings
from helpdesk.store import Store, TransactionFailed, Write
from helpdesk.store.calls import call_record
from helpdesk.store.customers import new_customer
from helpdesk.store.identities import IdentityMoved, new_identity
from helpdesk.telephony.base import CallEvent
from helpdesk.tickets import TicketChange, plain
from helpdesk.usecases.callbacks import CallbackDesk
from helpdesk.usecases.changes import ticket_writes

MAX_ATTEMPTS = 5


class StillRacing(Exception):
    """The call kept changing under us: let the provider retry."""


@dataclass(frozen=True)
class CallOutcome:
    result: str  # created, updated, duplicate, pending
    ticket_id: str | None = None


@dataclass
class Switchboard:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def __post_init__(self) -> None:
        # Outbound calls count as callback attempts: the desk on the same store and clock.
        self.callbacks = CallbackDesk(self.store, self.queue, self.settings, self.clock)

    def record(self, event: CallEvent) -> CallOutcome:
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._record_once(event)
            except (Conflict, TransactionFailed, IdentityMoved):
                continue  # another notification of this call was recorded meanwhile: re-read
        raise StillRacing(f"call {event.call_id}: too many concurrent updates")

    def _record_once(self, event: CallEvent) -> CallOutcome:
        item = self.store.calls.get(event.provider, event.call_id)
        before = calls.state_from_item(item) if item else None
        if item and before and event.event_id in before.events:
            if item.get("problem"):
                # The first delivery may have died before enqueueing the notice; the notice
                # handler sends it at most once, so asking again is safe.
                self.queue.send([ProblemCallNoticeJob(ticket_id=item["ticket_id"])])
            self._callback_attempt(before)  # counted once per call, so asking again is safe
            return CallOutcome("duplicate", item.get("ticket_id"))
        state = merge(before, event)
        now = self.clock()
        ticket_id = (item or {}).get("ticket_id")
        version = (item or {}).get("version", 0)
        if ticket_id:
            outcome = self._update(ticket_id, state, version, event, now)
        elif not state.client_number:
            self.store.transact([self._record(state, None, version)])
            return CallOutcome("pending")
        else:
            outcome = self._open(state, version, event, now)
        self._callback_attempt(state)
        return outcome

    def line_answer(self, event: CallEvent) -> tuple[LineAnswer | None, DirectionConfig]:
        """What a caller hears first on the line they called: a red incident of its
        direction, or the out-of-hours message (one read: the direction's banner)."""
        settings = self.settings()
        config = settings.direction(settings.direction_for_phone_line(event.to_number))
        if event.call_direction != "inbound" or event.kind not in ("started", "ringing"):
            return None, config
        active, _ = self.store.notices.banner(config.id)
        working = config.business_calendar().is_working(self.clock())
        texts = config.client_texts()
        out_of_hours = texts.render("out_of_hours_call", direction=config.display_name())
        return incidents.line_answer(active, config.language, working, out_of_hours), config

    def _callback_attempt(self, state: CallState) -> None:
        """An outbound call that ended is a callback attempt on the client's missed calls."""
        if state.call_direction == "outbound" and state.ended and state.client_number:
            call = f"{state.provider}:{state.call_id}"
            self.callbacks.outbound_call(state.client_number, bool(state.answered), call)

    def _record(self, state: CallState, ticket: Ticket | None, version: int) -> Write:
        return call_record(
            state.provider,
            state.call_id,
            calls.state_to_item(state),
            version,
            ticket_id=ticket.id if ticket else None,
            direction=ticket.direction if ticket else None,
            problem=bool(ticket and PROBLEM_FLAG in ticket.flags),
            waiting_for_callback=bool(state.missed and ticket and CALLBACK_FLAG in ticket.flags),
            missed_at=calls.state_to_item(state).get("ended_at"),
            customer_id=ticket.customer_id if ticket else None,
            escalated=bool(ticket and (ticket.callback or {}).get("outcome") == "escalated"),
        )

    def _open(self, state: CallState, version: int, event: CallEvent, now: datetime) -> CallOutcome:
        settings = self.settings()
        direction = settings.direction_for_phone_line(state.line_number)
        config = settings.direction(direction)
        client = state.client_number or ""
        identity = self.store.identities.get("phone", client)
        customer_id = (identity or {}).get("customer_id") or new_id()
        known = self.store.customers.find(customer_id) if identity else None
        contact = tickets.Contact(
            direction=direction,
            channel=Channel.PHONE,
            customer_id=customer_id,
            subject=calls.subject(state),
            customer_name=known.name if known else None,
            our_client=bool(known and config.our_clients_group in known.groups),
            customer_address=client,
            recipient_id=client,
            service_id=state.line_number,
        )

        def opened(number: str) -> tuple[TicketChange, list[Write]]:
            change = tickets.open_ticket(number, contact, now, actor=f"telephony:{event.provider}")
            base = change.ticket
            ticket = apply_call(base, state, config)
            entry = _entry(number, event, now, base, ticket, "create")
            change, ticket_writes_ = ticket_writes(
                None, TicketChange(ticket, [entry]), settings, now
            )
            writes = [self._record(state, change.ticket, version), *ticket_writes_]
            if identity is None:
                writes.append(new_identity("phone", client, customer_id))
                customer = Customer(
                    id=customer_id, phone=client, identities=[f"phone:{client}"], created_at=now
                )
                writes.append(new_customer(customer))
            return change, writes

        self.store.preflight(opened(tickets.ticket_number(direction, 999_999))[1])
        number = tickets.ticket_number(direction, self.store.counters.next(direction))
        change, writes = opened(number)
        self.store.transact(writes)
        self._notify(change, None)
        return CallOutcome("created", number)

    def _update(
        self, ticket_id: str, state: CallState, version: int, event: CallEvent, now: datetime
    ) -> CallOutcome:
        ticket = self.store.tickets.get(ticket_id)
        config = self.settings().direction(ticket.direction)
        updated = apply_call(ticket, state, config).model_copy(
            update={"updated_at": now, "version": ticket.version + 1}
        )
        change, writes = ticket_writes(
            ticket,
            TicketChange(updated, [_entry(ticket_id, event, now, ticket, updated, "call")]),
            self.settings(),
            now,
        )
        self.store.transact([self._record(state, change.ticket, version), *writes])
        self._notify(change, ticket)
        return CallOutcome("updated", ticket_id)

    def _notify(self, change: TicketChange, before: Ticket | None) -> None:
        """The change's jobs (the staff group's topic), and the problem-call notice once:
        when the flag first appears."""
        after, jobs = change.ticket, list(change.jobs)
        if PROBLEM_FLAG in after.flags and (before is None or PROBLEM_FLAG not in before.flags):
            jobs.append(ProblemCallNoticeJob(ticket_id=after.id))
        if jobs:
            self.queue.send(jobs)


def _entry(
    ticket_id: str, event: CallEvent, now: datetime, before: Ticket, after: Ticket, action: str
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
