"""Jira Cloud: `jira:issue_updated` whose changelog moves the status or the resolution.

An admin webhook with a secret is signed `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw
body>` (Atlassian, "Secure admin webhooks"). `X-Atlassian-Webhook-Identifier` (the same on
Jira's retries) is the event id. Done means a resolution is set or the status is in the
`done` category; a resolution taken away is a reopen. A resolution such as "Won't Do" or
"Duplicate" was not a fix: those tickets go back to the agent, never resolved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field

from helpdesk.tasks import TaskEvent, jira_key
from helpdesk.trackers.base import (
    Ignored,
    MalformedEvent,
    Payload,
    TrackerRequest,
    sha256_signature_matches,
    validated,
)

NOT_FIXED = ("won't do", "won't fix", "duplicate", "cannot reproduce", "declined")


class _Named(Payload):
    name: str | None = None


class _Category(Payload):
    key: str | None = None


class _Status(Payload):
    name: str | None = None
    statusCategory: _Category | None = None


class _Fields(Payload):
    summary: str | None = None
    status: _Status | None = None
    resolution: _Named | None = None


class _Issue(Payload):
    id: str | None = None
    key: str
    self: str | None = None
    fields: _Fields


class _Item(Payload):
    field: str
    fromString: str | None = None
    toString: str | None = None


class _Changelog(Payload):
    items: list[_Item] = Field(default_factory=list)


class _User(Payload):
    displayName: str | None = None


class IssueUpdated(Payload):
    webhookEvent: str
    timestamp: int | None = None
    issue: _Issue
    user: _User | None = None
    changelog: _Changelog | None = None


def verify(request: TrackerRequest, secret: str, now: datetime) -> bool:
    return sha256_signature_matches(request.raw, request.headers.get("x-hub-signature"), secret)


def parse(request: TrackerRequest, body: Any) -> TaskEvent:
    kind = body.get("webhookEvent") if isinstance(body, dict) else None
    if kind != "jira:issue_updated":
        raise Ignored(f"jira event {kind!r} is not jira:issue_updated")
    event = validated(IssueUpdated, body, "jira")
    items = event.changelog.items if event.changelog else []
    moved = [item for item in items if item.field.lower() in ("status", "resolution")]
    if not moved:
        raise Ignored(f"jira {event.issue.key}: neither the status nor the resolution changed")
    fields = event.issue.fields
    category = fields.status.statusCategory if fields.status else None
    resolution = fields.resolution.name if fields.resolution else None
    done = bool(resolution) or bool(category and category.key == "done")
    unresolved = any(
        item.field.lower() == "resolution" and item.fromString and not item.toString
        for item in moved
    )
    if not done and not unresolved:
        raise Ignored(f"jira {event.issue.key} moved but is not done")
    event_id = request.headers.get("x-atlassian-webhook-identifier")
    if not event_id:
        if event.timestamp is None:
            raise MalformedEvent("jira notification has no X-Atlassian-Webhook-Identifier")
        event_id = f"{event.issue.id or event.issue.key}:{event.timestamp}"
    status = fields.status.name if fields.status else None
    return TaskEvent(
        provider="jira",
        event_id=event_id,
        task_key=jira_key(event.issue.key),
        kind="resolved" if done else "reopened",
        task_url=_browse_url(event.issue.self, event.issue.key),
        title=fields.summary,
        resolution=resolution or status,
        by=event.user.displayName if event.user else None,
        fixed=not done or (resolution or "").strip().lower() not in NOT_FIXED,
    )


def _browse_url(api_url: str | None, key: str) -> str | None:
    """https://<site>/browse/KEY-1 from the issue's REST URL (…/rest/api/2/issue/10001)."""
    if not api_url:
        return None
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/browse/{key}" if parts.netloc else None
