"""GitHub: Issues events (`X-GitHub-Event: issues`), action `closed` or `reopened`.

Signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, webhook secret>`;
`X-GitHub-Delivery` (a GUID, the same on a redelivery) is the event id. An issue closed as
`not_planned` (or `duplicate`) was not fixed: its tickets go back to the agent, never resolved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.tasks import TaskEvent, github_key
from helpdesk.trackers.base import (
    Ignored,
    MalformedEvent,
    Payload,
    TrackerRequest,
    sha256_signature_matches,
    validated,
)

ACTIONS = {"closed": "resolved", "reopened": "reopened"}
NOT_FIXED = ("not_planned", "duplicate")


class _Issue(Payload):
    number: int
    html_url: str | None = None
    title: str | None = None
    state_reason: str | None = None


class _Repository(Payload):
    full_name: str


class _User(Payload):
    login: str | None = None


class IssuesEvent(Payload):
    action: str
    issue: _Issue
    repository: _Repository
    sender: _User | None = None


def verify(request: TrackerRequest, secret: str, now: datetime) -> bool:
    return sha256_signature_matches(request.raw, request.headers.get("x-hub-signature-256"), secret)


def parse(request: TrackerRequest, body: Any) -> TaskEvent:
    kind = request.headers.get("x-github-event", "")
    if kind != "issues":
        raise Ignored(f"github event {kind or '(none)'!r} is not an issues event")
    action = body.get("action") if isinstance(body, dict) else None
    if not isinstance(action, str) or action not in ACTIONS:
        raise Ignored(f"github issues action {action!r} is not closed or reopened")
    event = validated(IssuesEvent, body, "github")
    delivery = request.headers.get("x-github-delivery")
    if not delivery:
        raise MalformedEvent("github notification has no X-GitHub-Delivery header")
    reason = event.issue.state_reason
    return TaskEvent(
        provider="github",
        event_id=delivery,
        task_key=github_key(event.repository.full_name, event.issue.number),
        kind="resolved" if ACTIONS[event.action] == "resolved" else "reopened",
        task_url=event.issue.html_url,
        title=event.issue.title,
        resolution=reason.replace("_", " ") if reason else None,
        by=event.sender.login if event.sender else None,
        fixed=reason not in NOT_FIXED,
    )
