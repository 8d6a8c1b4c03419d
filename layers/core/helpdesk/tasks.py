"""Tracker tasks: a ticket held for a developer's task, and what the task's end does to it.

Pure. `task_key` turns the link an agent gives on hold into the key a tracker's event names
the same task by; `TaskEvent` is one tracker notification in one shape for every provider
(trackers/ parses them); `task_done` and `task_reopened` are the ticket rules.

- GitHub: `https://github.com/<owner>/<repo>/issues/<n>` -> `github:<owner>/<repo>#<n>`
- GitLab, any host: `https://<host>/<group>/<project>/-/issues/<iid>` ->
  `gitlab:<group>/<project>#<iid>` (GitHub's and GitLab's paths in lower case)
- Jira, any site: `https://<site>/browse/KEY-123` (or `?selectedIssue=KEY-123`) -> `jira:KEY-123`
- anything else: `url:<the URL without its fragment or trailing slash>`
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from helpdesk import tickets
from helpdesk.errors import InvalidTransition
from helpdesk.models import Actor, HistoryEntry, Status, Ticket
from helpdesk.tickets import TicketChange

TaskKind = Literal["resolved", "reopened"]
TASK_DONE_FLAG = tickets.TASK_DONE_FLAG
MAX_KEY = 400  # a task key is part of a table key (DynamoDB: 1 KB partition keys)

_GITHUB_HOSTS = ("github.com", "www.github.com")
_GITHUB_PATH = re.compile(r"^/([\w.-]+)/([\w.-]+)/issues/(\d+)/?$")
_GITLAB_PATH = re.compile(r"^/((?:[\w.-]+/)+[\w.-]+)/-/(?:issues|work_items)/(\d+)/?$")
_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")
_JIRA_PATH = re.compile(r"/browse/([A-Za-z][A-Za-z0-9_]+-\d+)/?$")


@dataclass(frozen=True)
class TaskEvent:
    """A tracker says a task is done or open again, in one shape for every tracker."""

    provider: str  # github, gitlab, jira, generic
    event_id: str  # the provider's id of this notification: replays of it change nothing
    task_key: str
    kind: TaskKind
    task_url: str | None = None
    title: str | None = None  # internal: goes into the agent's note, never to the client
    resolution: str | None = None  # what the tracker calls the outcome ("Done", "Fixed")
    client_text: str | None = None  # generic only: a text written for the client
    by: str | None = None  # who closed or reopened it in the tracker
    fixed: bool = True  # False: closed without a fix (not planned, won't do): never resolves


def bounded(key: str) -> str:
    """A key longer than `MAX_KEY` bytes is kept as its SHA-256 (both sides derive it so)."""
    if len(key.encode("utf-8")) > MAX_KEY:
        return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


def github_key(repository: str, number: int) -> str:
    return bounded(f"github:{repository.lower()}#{number}")


def gitlab_key(project: str, iid: int) -> str:
    return bounded(f"gitlab:{project.lower()}#{iid}")


def jira_key(issue_key: str) -> str:
    return bounded(f"jira:{issue_key.upper()}")


def task_key(url: str) -> str:
    """The canonical key of the task a URL points at (the table above)."""
    return bounded(_key_of(url.strip()))


def _key_of(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _GITHUB_HOSTS and (found := _GITHUB_PATH.match(parts.path)):
        return github_key(f"{found.group(1)}/{found.group(2)}", int(found.group(3)))
    if found := _GITLAB_PATH.match(parts.path):
        return gitlab_key(found.group(1), int(found.group(2)))
    if found := _JIRA_PATH.search(parts.path):
        return jira_key(found.group(1))
    selected = parse_qs(parts.query).get("selectedIssue", [""])[0]
    if selected and _JIRA_KEY.match(selected.upper()):
        return jira_key(selected)
    return bounded(f"url:{parts._replace(fragment='').geturl().rstrip('/')}")


def waits_for(ticket: Ticket, key: str) -> bool:
    """The ticket's task is this one (a ticket held again for another task keeps the old
    link item, which must no longer move it)."""
    return bool(ticket.external_task_url) and task_key(ticket.external_task_url or "") == key


def agent_note(event: TaskEvent) -> str:
    """What the agent reads on the ticket: which task, what became of it, who did it."""
    where = event.task_url or event.task_key
    what = "done" if event.kind == "resolved" else "reopened"
    lines = [f"Tracker task {where} is {what}" + (f" by {event.by}" if event.by else "") + "."]
    if event.title:
        lines.append(f"Task: {event.title}")
    if event.resolution:
        lines.append(f"Resolution: {event.resolution}")
    if event.client_text:
        lines.append(f"For the client: {event.client_text}")
    return "\n".join(lines)


def client_resolution(event: TaskEvent) -> str | None:
    """What the client's resolution notice says: the generic format's client text, else the
    tracker's resolution name; never the task's title (written for developers)."""
    return event.client_text or event.resolution


def task_done(
    ticket: Ticket,
    now: datetime,
    *,
    actor: Actor,
    note: str,
    resolution: str | None,
    resolve: bool,
) -> TicketChange:
    """The linked task is done: the tracker's note goes on the ticket for the agent, then the
    ticket is resolved (`resolve`: the client is told, as when an agent resolves) or handed
    back to the agent (off hold, flagged `task_done`). A ticket already resolved or closed is
    left alone: its client has been told."""
    if ticket.status not in tickets.ACTIVE:
        raise InvalidTransition(
            f"ticket {ticket.id} is {ticket.status.value}: the task's end changes nothing",
            status=ticket.status.value,
        )
    noted = tickets.comment(ticket, now, actor=actor, text=note)
    if resolve:
        after = tickets.resolve(noted.ticket, now, actor=actor, resolution=resolution)
    else:
        after = _back_to_agent(noted.ticket, now, actor)
    updated = after.ticket.model_copy(update={"version": ticket.version + 1})
    return TicketChange(updated, [*noted.history, *after.history], noted.messages, after.jobs)


def task_reopened(ticket: Ticket, now: datetime, *, actor: Actor, note: str) -> TicketChange:
    """The task is open again: a note for the agent, nothing else. A ticket resolved with the
    task is not reopened behind the client's back: the agent decides (docs/decisions.md)."""
    return tickets.comment(ticket, now, actor=actor, text=note)


def _back_to_agent(ticket: Ticket, now: datetime, actor: Actor) -> TicketChange:
    values: dict[str, object] = {"flags": sorted({*ticket.flags, TASK_DONE_FLAG})}
    if ticket.status == Status.ON_HOLD:
        values.update(status=Status.OPEN, hold_reason=None)
    changes = {
        name: [tickets.plain(getattr(ticket, name)), tickets.plain(value)]
        for name, value in values.items()
        if getattr(ticket, name) != value
    }
    updated = ticket.model_copy(update={**values, "updated_at": now})
    entry = HistoryEntry(
        ticket_id=ticket.id, at=now, actor=actor.user_id, action="task_done", changes=changes
    )
    return TicketChange(updated, [entry])
