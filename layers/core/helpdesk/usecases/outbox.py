"""The outbox sweep: the safety net for every send that did not finish.

It finds, by key, unfinished messages whose time to be looked at has passed (a job lost
before the queue, a consumer that died, a job in the dead-letter queue, a 5xx that outlasted
the job's retries) and enqueues a send job for each; the dispatcher's claim decides whether
to send. A message that keeps failing is given up by the dispatcher, visibly (MAX_SEND_AGE).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.jobs import SendMessageJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import utc_now
from helpdesk.store import Store

GRACE = timedelta(minutes=2)  # a normal send is claimed within seconds; older means lost


def requeue_unfinished(
    store: Store | None = None, queue: JobQueue | None = None, now: datetime | None = None
) -> int:
    """Enqueue a send job for every unfinished message due before now - GRACE; how many."""
    store, queue = store or Store(), queue or JobQueue()
    stuck = store.messages.unfinished_before((now or utc_now()) - GRACE)
    # One job per ticket, its messages in conversation order (ids sort by time): two jobs
    # could be carried out in any order, and the client must read the greeting first.
    by_ticket: dict[str, list[str]] = {}
    for ticket, message in stuck:
        by_ticket.setdefault(ticket, []).append(message)
    jobs = []
    for ticket, ids in by_ticket.items():
        first, *rest = sorted(ids)
        jobs.append(SendMessageJob(ticket_id=ticket, message_id=first, then=rest))
    if jobs:
        queue.send(jobs)
    return len(stuck)
