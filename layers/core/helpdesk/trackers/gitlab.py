"""GitLab: Issue Hook events (`object_kind: issue`), `object_attributes.action` `close` or
`reopen`.

Authenticated by the shared secret GitLab echoes in `X-Gitlab-Token` (compared in constant
time). The event id is `Idempotency-Key` (the same on GitLab's retries), else
`X-Gitlab-Event-UUID`; an older GitLab without either gets project, issue, action and time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.tasks import TaskEvent, gitlab_key
from helpdesk.trackers.base import (
    Ignored,
    Payload,
    TrackerRequest,
    constant_time_equals,
    validated,
)

ACTIONS = {"close": "resolved", "reopen": "reopened"}


class _Attributes(Payload):
    iid: int
    action: str
    url: str | None = None
    title: str | None = None
    updated_at: str | None = None


class _Project(Payload):
    id: int | None = None
    path_with_namespace: str


class _User(Payload):
    username: str | None = None
    name: str | None = None


class IssueHook(Payload):
    object_kind: str
    object_attributes: _Attributes
    project: _Project
    user: _User | None = None


def verify(request: TrackerRequest, secret: str, now: datetime) -> bool:
    token = request.headers.get("x-gitlab-token")
    return bool(secret and token) and constant_time_equals(token or "", secret)


def parse(request: TrackerRequest, body: Any) -> TaskEvent:
    kind = body.get("object_kind") if isinstance(body, dict) else None
    if kind != "issue":
        raise Ignored(f"gitlab event {kind!r} is not an issue event")
    attributes = body.get("object_attributes")
    action = attributes.get("action") if isinstance(attributes, dict) else None
    if not isinstance(action, str) or action not in ACTIONS:
        raise Ignored(f"gitlab issue action {action!r} is not close or reopen")
    event = validated(IssueHook, body, "gitlab")
    issue = event.object_attributes
    event_id = request.headers.get("idempotency-key") or request.headers.get("x-gitlab-event-uuid")
    if not event_id:
        event_id = f"{event.project.path_with_namespace}#{issue.iid}:{action}:{issue.updated_at}"
    user = event.user
    return TaskEvent(
        provider="gitlab",
        event_id=event_id,
        task_key=gitlab_key(event.project.path_with_namespace, issue.iid),
        kind="resolved" if ACTIONS[issue.action] == "resolved" else "reopened",
        task_url=issue.url,
        title=issue.title,
        by=(user.username or user.name) if user else None,
    )
