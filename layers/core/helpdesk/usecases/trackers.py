"""A tracker's task is done or reopened: every ticket held for it hears of it, once.

The tickets come from the task's links (`TASK#<key>`, written with each hold). Each ticket's
change goes through the ticket desk's one path (`TicketDesk.apply`) with the provider's event
id as its request id, so the funnel's dedupe marker (`request:<ticket>:tracker:<provider>:<event
id>`) makes a replayed event re-enqueue what the first delivery queued (the dispatcher's claim
makes that harmless) instead of telling the client twice; a second event or a second task finds
the ticket already resolved and leaves it alone. A resolve is the desk's own resolve: the
resolution notice and the rating prompt go to the client in their channel, WhatsApp outside
the 24-hour window with the direction's template. The webhook does the first page of links
(100 tickets); the rest go through the queue a page per `task_event` job, each page as the
webhook would have done it (the same request ids: a replayed page changes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import tasks
from helpdesk.errors import Conflict, InvalidTransition, NotFound
from helpdesk.jobs import Job, TaskEventJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Actor, Status, Ticket, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store
from helpdesk.tasks import TaskEvent
from helpdesk.tickets import TicketChange
from helpdesk.usecases.desk import TicketDesk

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # a ticket that changed between our read and our write is read again
PAGE = 100  # linked tickets a webhook (or a job) changes before it hands the rest on


@dataclass(frozen=True)
class TaskOutcome:
    """What the event did: per linked ticket `resolved`, `returned` (back to the agent, a
    draft note on it), `noted` (reopened task: a note), `unchanged` (already resolved or
    closed), `missing`; or `ignored` with the reason when no ticket waits for the task."""

    task_key: str
    tickets: dict[str, str] = field(default_factory=dict)
    ignored: str | None = None
    more: bool = False  # more linked tickets than a page: the rest follow on the queue


@dataclass
class TaskUpdates:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now
    page: int = PAGE

    def receive(self, event: TaskEvent) -> TaskOutcome:
        """The first page of the task's tickets now; the rest queued, a page per job."""
        ticket_ids, following = self.store.task_links.linked(event.task_key, limit=self.page)
        if not ticket_ids:
            reason = f"no ticket is linked to task {event.task_key}"
            logger.info("tracker event ignored", extra={"reason": reason, "event": event.event_id})
            return TaskOutcome(event.task_key, ignored=reason)
        results = self._page(event, ticket_ids, following)
        return TaskOutcome(event.task_key, results, more=following is not None)

    def continue_page(self, job: Job) -> None:
        """A `task_event` job: the next page of a task's tickets."""
        assert isinstance(job, TaskEventJob)
        event = TaskEvent(**job.event)  # type: ignore[arg-type]
        ticket_ids, following = self.store.task_links.linked(
            event.task_key, job.after, limit=self.page
        )
        self._page(event, ticket_ids, following)

    def _page(
        self, event: TaskEvent, ticket_ids: list[str], following: str | None
    ) -> dict[str, str]:
        desk = TicketDesk(self.store, self.queue, self.settings, self.clock)
        results = {ticket_id: self._one(desk, ticket_id, event) for ticket_id in ticket_ids}
        logger.info("tracker event handled", extra={"task": event.task_key, "tickets": results})
        if following is not None:
            self.queue.send([TaskEventJob(event=asdict(event), after=following)])
        return results

    def _one(self, desk: TicketDesk, ticket_id: str, event: TaskEvent) -> str:
        actor = Actor(user_id=f"tracker:{event.provider}", roles=frozenset())
        note = tasks.agent_note(event)
        settings = self.settings()

        def ours(ticket: Ticket) -> None:
            if not tasks.waits_for(ticket, event.task_key):
                raise InvalidTransition(f"ticket {ticket.id} waits for another task now")

        def done(ticket: Ticket, now: datetime, **_: Any) -> TicketChange:
            ours(ticket)
            mode = settings.direction(ticket.direction).tracker_resolution
            resolve = event.fixed and mode == "resolve"
            resolution = tasks.client_resolution(event)
            return tasks.task_done(
                ticket, now, actor=actor, note=note, resolution=resolution, resolve=resolve
            )

        def reopened(ticket: Ticket, now: datetime, **_: Any) -> TicketChange:
            ours(ticket)
            return tasks.task_reopened(ticket, now, actor=actor, note=note)

        rule = done if event.kind == "resolved" else reopened
        request_id = f"tracker:{event.provider}:{event.event_id}"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                ticket = desk.apply(ticket_id, None, rule, request_id)
            except InvalidTransition:
                return "unchanged"  # resolved or closed already, or held for another task
            except NotFound:
                return "missing"
            except Conflict:
                if attempt == ATTEMPTS:
                    raise  # 409: the tracker retries, and the dedupe marker keeps it once
                continue
            break
        if event.kind == "reopened":
            return "noted"
        return "resolved" if ticket.status == Status.RESOLVED else "returned"
