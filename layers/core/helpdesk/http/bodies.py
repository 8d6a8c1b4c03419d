"""Request bodies of the staff API: validated at the door, limits documented in OpenAPI."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

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


class ComplaintParts(_Body):
    """The complaint reply, in the department's order (each part required when sent)."""

    thank: str = Field(default="", max_length=1000)
    why_it_matters: str = Field(default="", max_length=1000)
    apology: str = Field(default="", max_length=1000)
    action: str = Field(default="", max_length=1000)


class ReplyBody(Versioned):
    text: str | None = Field(
        default=None, min_length=1, max_length=4000, description="or template_id, or complaint"
    )
    template_id: str | None = Field(
        default=None,
        pattern=r"^[du]-[0-9a-f]{12}$",
        description="a canned reply (GET /kb/canned), filled in for this ticket",
    )
    complaint: ComplaintParts | None = Field(
        default=None,
        description="the four-part complaint reply (GET /tickets/{id}/complaint-reply)",
    )
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

    @model_validator(mode="after")
    def _one_text(self) -> ReplyBody:
        given = [self.text, self.template_id, self.complaint]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of text, template_id, complaint")
        return self


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
    no_article: bool = Field(
        default=False, description="no knowledge base article covered this (GET /kb/gaps)"
    )


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


NoticeText = Annotated[
    dict[
        Annotated[str, Field(pattern=r"^(ru|en)$")],
        Annotated[str, Field(min_length=1, max_length=1000)],
    ],
    Field(
        min_length=1,
        description="The text per language (ru, en), up to 1,000 characters each.",
        examples=[{"ru": "Не работает вход в приложение. Чиним.", "en": "Login is down."}],
    ),
]
RequestId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Your idempotency key: the same key again answers the first post.",
    ),
]


class _NoticeBody(_Body):
    @field_validator("text", check_fields=False)
    @classmethod
    def _not_blank(cls, text: dict[str, str]) -> dict[str, str]:
        for language, value in text.items():
            if not value.strip():
                raise ValueError(f"text.{language} is empty")
        return {language: value.strip() for language, value in text.items()}

    @field_validator("eta", check_fields=False)
    @classmethod
    def _aware(cls, eta: datetime | None) -> datetime | None:
        if eta is not None and eta.tzinfo is None:
            raise ValueError("eta needs a time zone (e.g. 2026-11-26T18:00:00Z)")
        return eta


class StartNotice(_NoticeBody):
    severity: Literal["red", "yellow", "green"] = Field(
        description="red: a outage (WhatsApp too); yellow: degraded; green: informational."
    )
    directions: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]] = Field(
        min_length=1, max_length=20
    )
    text: NoticeText
    request_id: RequestId
    eta: datetime | None = Field(default=None, description="When you expect it fixed.")
    channels: list[Literal["telegram", "whatsapp"]] | None = Field(
        default=None,
        description="Whom to tell: clients in these channels (default: telegram, and "
        "whatsapp for red); [] for the banner and the incident channel only.",
    )


class NoticeUpdate(_NoticeBody):
    text: NoticeText
    eta: datetime | None = None
    request_id: RequestId | None = None


class NoticeResolve(_NoticeBody):
    text: NoticeText
    request_id: RequestId | None = None
    resolve_linked: bool = Field(
        default=False,
        description="Also resolve the tickets opened during the incident (each client "
        "hears once, in their ticket).",
    )
