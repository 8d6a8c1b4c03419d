"""The one funnel of ticket changes: every rule's change passes here before it is written,
so what rides on every change (the SLA clocks, their timer, the report counters and the
complaints feed) is added once."""

from __future__ import annotations

from datetime import datetime

from helpdesk import callbacks, reports, sla
from helpdesk.models import Ticket
from helpdesk.settings import Settings
from helpdesk.store import Write
from helpdesk.store.customers import reached
from helpdesk.store.reports import complaint_writes, counter_writes
from helpdesk.store.tickets import writes_for
from helpdesk.tickets import TicketChange


def tracked(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> TicketChange:
    """The change with the ticket's SLA clocks moved to follow it."""
    config = settings.direction(change.ticket.direction)
    ticket, history = sla.track(before, change.ticket, config, now)
    return TicketChange(ticket, [*change.history, *history], change.messages, change.jobs)


def report_writes(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> list[Write]:
    """The report counters this change moves and the complaints feed, written with it: the
    change's transaction (refused whole on a redelivery) makes them count exactly once."""
    after = change.ticket
    calendar = settings.direction(after.direction).business_calendar()
    moved = reports.grouped(reports.moves(before, after, change.messages, calendar, now))
    return [
        *counter_writes(after.direction, after.id, moved),
        *complaint_writes(before, after, now),
    ]


def ticket_writes(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> tuple[TicketChange, list[Write]]:
    """The tracked change and its writes (`before` None: a new ticket), with the client's
    reach record when an agent reached them (the missed-call sweep reads it) and the report
    counters it moves."""
    change = tracked(before, change, settings, now)
    writes = writes_for(change, before)
    after = callbacks.reached_at(change.ticket)
    if after and (before is None or callbacks.reached_at(before) != after):
        writes.append(reached(change.ticket.customer_id, change.ticket.id, after))
    writes += report_writes(before, change, settings, now)
    return change, writes
