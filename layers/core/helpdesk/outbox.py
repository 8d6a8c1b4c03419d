"""The outbox sweep: the safety net for a crash between storing a message and enqueueing it."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.jobs import SendMessageJob
from helpdesk.models import utc_now
from helpdesk.queue import JobQueue
from helpdesk.store import Store

GRACE = timedelta(minutes=2)  # a normal send is claimed within seconds; older means lost


def requeue_stuck_messages(store: Store | None = None, queue: JobQueue | None = None) -> int:
    """Enqueue a send job for every message queued before now - GRACE; returns how many."""
    store, queue = store or Store(), queue or JobQueue()
    stuck = store.queued_before(utc_now() - GRACE)
    jobs = [SendMessageJob(ticket_id=ticket, message_id=message) for ticket, message in stuck]
    if jobs:
        queue.send(jobs)
    return len(jobs)
