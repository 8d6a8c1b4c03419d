"""What the tracker adapters (github, gitlab, jira, generic) share: the request, the errors,
and the checks every signed body goes through.

Each adapter verifies one tracker's notification (401 first, before anything is parsed),
then reads it into `tasks.TaskEvent`; the handler answers 400 to a `MalformedEvent` (the body
will never parse, retrying is useless) and 200 `{"ignored": ...}` to an `Ignored` (a valid
notification the helpdesk does not act on: a comment, a label, a ping).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from helpdesk import limits

# GitHub's X-Hub-Signature-256, Jira's X-Hub-Signature and the generic X-Tracker-Signature are
# Meta's scheme: `sha256=<hex HMAC-SHA256 of the signed bytes>`, checked in constant time.
from helpdesk.channels.whatsapp import verify_signature as sha256_signature_matches
from helpdesk.tasks import TaskEvent
from helpdesk.telephony.base import constant_time_equals

__all__ = [
    "Ignored",
    "MalformedEvent",
    "Payload",
    "TrackerRequest",
    "bounded",
    "constant_time_equals",
    "sha256_signature_matches",
    "validated",
]


@dataclass(frozen=True)
class TrackerRequest:
    """A tracker webhook request as the handler read it off API Gateway."""

    headers: dict[str, str]  # lower-case names
    raw: bytes


class MalformedEvent(ValueError):
    """A signed notification that cannot become a TaskEvent; the message names the field."""


class Ignored(Exception):
    """A valid notification the helpdesk does not act on; the message says which."""


class Payload(BaseModel):
    """Provider payloads carry far more than we read: extra fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def validated[M: BaseModel](model: type[M], body: Any, provider: str) -> M:
    """The body as `model`, or MalformedEvent naming the first bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise MalformedEvent(f"{provider} payload: {where}: {problem['msg']}") from None


def bounded(event: TaskEvent) -> TaskEvent:
    """Everything of a task event that ends up in keys or items, within the edge limits."""
    limits.identifier(event.event_id, "event id", 256)
    limits.identifier(event.task_key, "task key", 512)
    cut: Callable[[str | None], str | None] = limits.optional_text
    return TaskEvent(
        provider=event.provider,
        event_id=event.event_id,
        task_key=event.task_key,
        kind=event.kind,
        task_url=limits.optional_text(event.task_url, 2048),
        title=cut(event.title),
        resolution=cut(event.resolution),
        client_text=limits.optional_text(event.client_text, limits.MAX_INBOUND_TEXT),
        by=limits.optional_text(event.by, limits.MAX_NAME),
        fixed=event.fixed,
    )
