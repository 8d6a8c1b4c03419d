"""Request bodies of the staff API: validated at the door, limits documented in OpenAPI."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from helpdesk.models import Category, Priority

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
USER_ID = r"^[A-Za-z0-9@._+:-]{1,128}$"  # Cognito subs, usernames and e-mails fit


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise ValueError("contains a character that is not valid Unicode (a lone surrogate)")
        return value


class Versioned(_Body):
    version: int | None = Field(
        default=None,
        ge=0,
        le=10**9,
        description="The ticket version you last read; 409 if it moved on.",
    )


class CreateTicket(_Body):
    direction: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    customer_name: str | None = Field(default=None, max_length=200)
    customer_phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+()\- ]+$")
    priority: Priority = Priority.NORMAL


class ReplyBody(Versioned):
    text: str = Field(min_length=1, max_length=4000)
    request_id: str | None = Field(
        default=None,
        max_length=100,
        description="Your idempotency key: a retry with the same key sends nothing twice.",
    )
    wait_for_client: bool = Field(
        default=False,
        description="The reply asks the client something: the resolution clock pauses until "
        "they write; after a silence they get one reminder, then the ticket is resolved.",
    )


class CommentBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class AssignBody(Versioned):
    assignee: str | None = Field(
        pattern=USER_ID, description="User id of the agent; null to unassign."
    )


class UpdateBody(Versioned):
    category: Category | None = None
    topic: str | None = Field(default=None, max_length=100)
    priority: Priority | None = None
    difficulty: int | None = Field(default=None, ge=1, le=3, description="1 easy to 3 hard")


class HoldBody(Versioned):
    task_url: HttpUrl = Field(description="The developer's or analyst's task this waits for.")
    reason: str | None = Field(default=None, max_length=1000)


class ResolveBody(Versioned):
    resolution: str | None = Field(default=None, max_length=2000)


class ReopenBody(Versioned):
    reason: str | None = Field(default=None, max_length=1000)


class CustomerBody(Versioned):
    name: str | None = Field(default=None, max_length=200)
    groups: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]] | None = Field(
        default=None, max_length=20, description="e.g. ['our_clients']"
    )


class CallReviewBody(Versioned):
    verdict: Literal["ok", "coaching", "escalate"]
    note: str | None = Field(default=None, max_length=2000)
