"""The one funnel of ticket changes: every rule's change passes here before it is written,
so what rides on every change (the SLA clocks, their timer, later the report counters) is
added once."""

from __future__ import annotations

from datetime import datetime

from helpdesk import callbacks, sla, tasks
from helpdesk.models import Status, Ticket
from helpdesk.settings import Settings
from helpdesk.store import Write
from helpdesk.store.customers import reached
from helpdesk.store.tasks import link_item
from helpdesk.store.tickets import writes_for
from helpdesk.tickets import TicketChange


def tracked(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> TicketChange:
    """The change with the ticket's SLA clocks moved to follow it."""
    config = settings.direction(change.ticket.direction)
    ticket, history = sla.track(before, change.ticket, config, now)
    return TicketChange(ticket, [*change.history, *history], change.messages, change.jobs)


def ticket_writes(
    before: Ticket | None, change: TicketChange, settings: Settings, now: datetime
) -> tuple[TicketChange, list[Write]]:
    """The tracked change and its writes (`before` None: a new ticket), with the client's
    reach record when an agent reached them (the missed-call sweep reads it)."""
    change = tracked(before, change, settings, now)
    writes = writes_for(change, before)
    after = callbacks.reached_at(change.ticket)
    if after and (before is None or callbacks.reached_at(before) != after):
        writes.append(reached(change.ticket.customer_id, change.ticket.id, after))
    writes += task_link_writes(before, change.ticket, now)
    return change, writes


def task_link_writes(before: Ticket | None, after: Ticket, now: datetime) -> list[Write]:
    """A hold naming a tracker task links the ticket to it in the same transaction, so the
    task's end finds every ticket that waits for it (usecases.trackers)."""
    url = after.external_task_url
    held = after.status == Status.ON_HOLD and (before is None or before.status != Status.ON_HOLD)
    if not url or not held:
        return []
    return [link_item(tasks.task_key(url), after.id, url, now)]
