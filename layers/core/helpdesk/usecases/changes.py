"""The one funnel of ticket changes: every rule's change passes here before it is written,
so what rides on every change (the SLA clocks, their timer, the report counters and the
complaints feed) is added once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from helpdesk import callbacks, costs, kb, reports, sla, tasks, topics
from helpdesk.jobs import TopicSyncJob
from helpdesk.models import Status, Ticket
from helpdesk.settings import Settings
from helpdesk.store import Write
from helpdesk.store.customers import reached
from helpdesk.store.kb import gap_write
from helpdesk.store.ledger import ledger_entry
from helpdesk.store.reports import complaint_writes, counter_writes
from helpdesk.store.table import estimated_write_units
from helpdesk.store.tasks import link_item
from helpdesk.store.tickets import writes_for
from helpdesk.store.topics import marked
from helpdesk.tickets import TicketChange


def tracked(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> TicketChange:
    """The change with the ticket's SLA clocks moved to follow it."""
    config = settings.direction(change.ticket.direction)
    ticket, history = sla.track(before, change.ticket, config, now)
    return TicketChange(ticket, [*change.history, *history], change.messages, change.jobs)


def report_writes(
    before: Ticket | None,
    change: TicketChange,
    settings: Settings,
    now: datetime,
    others: Sequence[Write] = (),
) -> list[Write]:
    """The report counters this change moves, the complaints feed and the cost ledger (a
    call's minutes), written with it: the change's transaction (refused whole on a
    redelivery) makes them count exactly once. The change's own AWS usage (an event, and the
    write units of `others` and these, estimated) is counted with them."""
    after = change.ticket
    config = settings.direction(after.direction)
    calendar = config.business_calendar()
    moves = reports.moves(before, after, change.messages, calendar, now)
    charged = []
    if charge := costs.call_charge(before, after, config.rate_card, now):
        moves += costs.charge_moves(charge, calendar.zone)
        charged.append(ledger_entry(charge, calendar.zone))
    extra = [*complaint_writes(before, after, now), *charged]

    def written(units: int) -> list[Write]:
        usage = costs.aws_moves(moves, reports.local_day(now, calendar.zone), units)
        counted = counter_writes(after.direction, after.id, reports.grouped([*moves, *usage]))
        return [*counted, *extra]

    units = estimated_write_units([*others, *written(0)])
    return written(units)


def ticket_writes(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> tuple[TicketChange, list[Write]]:
    """The tracked change and its writes (`before` None: a new ticket), with the client's
    reach record when an agent reached them (the missed-call sweep reads it), the staff
    group's mark and job when its topic has news, and the report counters it moves."""
    change = tracked(before, change, settings, now)
    writes = writes_for(change, before)
    after = callbacks.reached_at(change.ticket)
    if after and (before is None or callbacks.reached_at(before) != after):
        writes.append(reached(change.ticket.customer_id, change.ticket.id, after))
    writes += task_link_writes(before, change.ticket, now)
    change, marks = topic_writes(before, change, settings, now)
    writes += marks
    if kb.gap_opened(before, change.ticket):  # "no article covered this": the gaps list
        writes.append(gap_write(change.ticket, change.history[0].actor, now))
    writes += report_writes(before, change, settings, now, writes)
    return change, writes


def task_link_writes(before: Ticket | None, after: Ticket, now: datetime) -> list[Write]:
    """A hold naming a tracker task links the ticket to it in the same transaction, so the
    task's end finds every ticket that waits for it (usecases.trackers)."""
    url = after.external_task_url
    held = after.status == Status.ON_HOLD and (before is None or before.status != Status.ON_HOLD)
    if not url or not held:
        return []
    return [link_item(tasks.task_key(url), after.id, url, now)]


def topic_writes(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> tuple[TicketChange, list[Write]]:
    """The staff group's mark and job when the change gives the ticket's topic news (a
    message to post, a new name, closed or reopened); nothing otherwise (usecases.topics)."""
    group = settings.direction(change.ticket.direction).staff_group
    if group is None or not topics.has_news(before, change, group):
        return change, []
    job = TopicSyncJob(chat_id=group.chat_id)
    with_job = TicketChange(change.ticket, change.history, change.messages, [*change.jobs, job])
    return with_job, [marked(group.chat_id, change.ticket.id, now)]
