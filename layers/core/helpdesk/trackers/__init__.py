"""Issue trackers: one adapter per tracker (github, gitlab, jira, generic), each verifying and
reading its notifications into `tasks.TaskEvent`, and the registry below that picks the
adapter for a webhook request and maps its failures to HTTP (401, 400, 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from helpdesk import clock, limits
from helpdesk.channels.registry import parse_body
from helpdesk.errors import BadRequest, NotFound, Unauthorized
from helpdesk.settings import get_settings
from helpdesk.tasks import TaskEvent
from helpdesk.trackers import generic, github, gitlab, jira
from helpdesk.trackers.base import Ignored, MalformedEvent, TrackerRequest, bounded


class Adapter(Protocol):
    """What each tracker module offers."""

    def verify(self, request: TrackerRequest, secret: str, now: datetime) -> bool: ...

    def parse(self, request: TrackerRequest, body: Any) -> TaskEvent: ...


ADAPTERS: dict[str, Adapter] = {
    "jira": jira,
    "github": github,
    "gitlab": gitlab,
    "generic": generic,
}
PROVIDERS = tuple(ADAPTERS)
SECRETS = {
    "github": "github_webhook_secret",
    "gitlab": "gitlab_webhook_token",
    "jira": "jira_webhook_secret",
    "generic": "generic_tracker_secret",
}
REFUSED = {
    "github": "missing or wrong X-Hub-Signature-256",
    "gitlab": "missing or wrong X-Gitlab-Token",
    "jira": "missing or wrong X-Hub-Signature",
    "generic": "missing or wrong X-Tracker-Signature, or X-Tracker-Timestamp out of range",
}

__all__ = ["PROVIDERS", "Ignored", "TrackerRequest", "read_event"]


def read_event(provider: str, request: TrackerRequest) -> TaskEvent:
    """Verify, then read one notification: 404 for an unknown tracker, 401 for a bad
    signature (before the body is even parsed), 400 naming what is wrong with a signed body;
    `Ignored` for a valid notification that changes nothing."""
    if provider not in PROVIDERS:
        raise NotFound(f"unknown tracker {provider!r}", providers=list(PROVIDERS))
    adapter = ADAPTERS[provider]
    if not adapter.verify(request, get_settings().secret(SECRETS[provider]), clock.now()):
        raise Unauthorized(REFUSED[provider])
    body = parse_body(request.raw)
    try:
        return bounded(adapter.parse(request, body))
    except (MalformedEvent, limits.LimitExceeded) as error:
        raise BadRequest(str(error)) from error
