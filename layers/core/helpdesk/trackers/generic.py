"""The generic signed tracker format (docs/generic-tracker.md): any tracker, or a small relay
script, says that a task is resolved or reopened.

`X-Tracker-Timestamp: <unix seconds>` and `X-Tracker-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>", the shared secret>`; a timestamp more than `TOLERANCE` seconds from
our clock is refused like a bad signature, so a captured request cannot be replayed later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from helpdesk.tasks import TaskEvent, task_key
from helpdesk.trackers.base import Payload, TrackerRequest, sha256_signature_matches, validated

TOLERANCE = 300  # seconds between the sender's timestamp and our clock


class GenericTaskEvent(Payload):
    event_id: str = Field(min_length=1, max_length=256)
    event: Literal["resolved", "reopened"]
    task_url: str = Field(min_length=1, max_length=2048)
    title: str | None = None
    resolution: str | None = None
    client_text: str | None = None
    by: str | None = None
    fixed: bool = True


def signature_for(timestamp: str, raw: bytes, secret: str) -> str:
    """The header value a sender computes (tests and infra.sign use it too)."""
    import hashlib
    import hmac

    signed = timestamp.encode("ascii") + b"." + raw
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify(request: TrackerRequest, secret: str, now: datetime) -> bool:
    timestamp = request.headers.get("x-tracker-timestamp", "")
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > TOLERANCE:
        return False
    signed = timestamp.encode("ascii") + b"." + request.raw
    return sha256_signature_matches(signed, request.headers.get("x-tracker-signature"), secret)


def parse(request: TrackerRequest, body: Any) -> TaskEvent:
    event = validated(GenericTaskEvent, body, "generic")
    return TaskEvent(
        provider="generic",
        event_id=event.event_id,
        task_key=task_key(event.task_url),
        kind=event.event,
        task_url=event.task_url,
        title=event.title,
        resolution=event.resolution,
        client_text=event.client_text,
        by=event.by,
        fixed=event.fixed,
    )
