"""The domain's data: tickets, their messages and history, customers.

Plain pydantic models; `store` maps them to and from DynamoDB items. Times are UTC.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer

from helpdesk import clock


def utc_now() -> datetime:
    """Now, in UTC: the one clock of the core (the local stack and tests may set it)."""
    return clock.now()


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and 'Z': sorts as text in the order of time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# Every time the core stores or returns: UTC, milliseconds, 'Z' (one format, sorts as text).
UtcTime = Annotated[
    datetime, PlainSerializer(lambda moment: iso(moment), return_type=str, when_used="json")
]


def new_id() -> str:
    return uuid.uuid4().hex


_sequence = itertools.count()


def sequential_id() -> str:
    """Unique, and increasing within a process: entries made one after another in the same
    millisecond (one change's history) keep their order in a key that sorts by id."""
    return f"{next(_sequence):010d}{uuid.uuid4().hex[:10]}"


def time_ordered_id(moment: datetime | None = None, sequence: int = 0) -> str:
    """An id that sorts by time (then by `sequence` within one instant): messages keyed by it
    read back in conversation order."""
    stamp = (moment or utc_now()).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{sequence}{uuid.uuid4().hex[:8]}"


class Status(StrEnum):
    NEW = "new"  # nobody from support has answered yet
    OPEN = "open"
    ON_HOLD = "on_hold"  # waiting for an external task (developer, analyst)
    RESOLVED = "resolved"
    CLOSED = "closed"


class Category(StrEnum):
    QUESTION = "question"
    SUGGESTION = "suggestion"
    PROBLEM = "problem"
    COMPLAINT = "complaint"
    FEEDBACK = "feedback"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Channel(StrEnum):
    """Where a ticket came from and where its replies go (channels.registry knows each)."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    PHONE = "phone"  # calls: nothing written is sent; agents call back
    MANUAL = "manual"  # opened by an agent (a walk-in, a letter): nothing is sent
    SANDBOX = "sandbox"  # the local stack's stand-in client: sends land in its outbox
    EMAIL = "email"  # SES in and out (channels/email.py)


class MessageKind(StrEnum):
    INBOUND = "inbound"  # from the client
    REPLY = "reply"  # from an agent to the client
    COMMENT = "comment"  # internal, never sent
    AUTO = "auto"  # greeting, acknowledgement, resolution notice, CSAT prompt
    NOTICE = "notice"  # to staff about the ticket (an SLA warning in the team chat)


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class Clock(BaseModel):
    """One SLA promise of a ticket (helpdesk.sla keeps them)."""

    state: Literal["running", "paused", "met", "stopped"]
    target_seconds: int
    started_at: UtcTime
    due: UtcTime | None = None  # while running
    warn_at: UtcTime | None = None  # while running and not yet warned
    remaining_seconds: int | None = None  # while paused: working time left
    warned_at: UtcTime | None = None
    breached_at: UtcTime | None = None
    met_at: UtcTime | None = None


class Ticket(BaseModel):
    id: str  # the human-readable number, e.g. D0-000123
    direction: str
    channel: Channel
    customer_id: str
    customer_name: str | None = None  # shown in lists: who the client is
    customer_address: str | None = None  # phone number, @username or chat id
    status: Status = Status.NEW
    category: Category | None = None
    topic: str | None = None
    priority: Priority = Priority.NORMAL
    priority_reason: str | None = None
    assignee: str | None = None
    subject: str = ""
    recipient_id: str | None = None  # where the channel delivers replies (chat id, wa_id)
    service_id: str | None = None  # which bot / business number the client wrote to
    external_task_url: str | None = None
    hold_reason: str | None = None
    resolution: str | None = None
    created_at: UtcTime
    updated_at: UtcTime
    first_response_at: UtcTime | None = None
    last_customer_message_at: UtcTime | None = None
    resolved_at: UtcTime | None = None
    closed_at: UtcTime | None = None
    message_count: int = 0
    csat: dict[str, Any] | None = None
    call: dict[str, Any] | None = None  # phone tickets: the call's timeline and facts
    call_review: dict[str, Any] | None = None  # a reviewer's verdict on a problem call
    problem_notice_at: UtcTime | None = None  # when the review mailbox was told
    flags: list[str] = Field(default_factory=list)
    difficulty: int | None = None  # 1-3, set by the agent
    our_client: bool = False  # the customer is in the direction's "our clients" group
    last_agent_reply_at: UtcTime | None = None
    waiting_on_client: bool = False  # an agent asked the client something: resolution pauses
    waiting_since: UtcTime | None = None
    reminded_at: UtcTime | None = None
    sla: dict[str, Clock] = Field(default_factory=dict)  # first_response, next_response, ...
    attention_at: UtcTime | None = None  # when the SLA sweep must look at it next
    callback: dict[str, Any] | None = None  # missed calls: attempts and the outcome
    incident_ids: list[str] = Field(default_factory=list)  # opened during these incidents
    version: int = 0


class Message(BaseModel):
    ticket_id: str
    id: str = Field(default_factory=time_ordered_id)
    kind: MessageKind
    author: str  # 'customer', an agent's user id, or 'system'
    text: str
    at: UtcTime
    channel: Channel
    delivery: DeliveryState | None = None  # only for what we send
    recipient_id: str | None = None
    service_id: str | None = None
    buttons: list[dict[str, str]] = Field(default_factory=list)
    buttons_label: str | None = None  # a menu of buttons' own label ("Оценить")
    provider_message_id: str | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    edited: bool = False
    sent_at: UtcTime | None = None
    template_name: str | None = None  # WhatsApp outside the 24-hour window
    template_language: str | None = None
    template_params: list[str] = Field(default_factory=list)
    status_history: list[dict[str, Any]] = Field(default_factory=list)  # provider statuses
    attempts: int = 0  # send attempts the dispatcher made
    last_error: str | None = None  # why the last attempt did not send (it is tried again)
    origin: str | None = None  # "topic": written by staff in the ticket's Telegram topic
    email: dict[str, Any] | None = None  # e-mail only: subject, Message-ID, references, verdicts


class HistoryEntry(BaseModel):
    """Who did what to a ticket and when; never changed once written."""

    ticket_id: str
    id: str = Field(default_factory=sequential_id)
    at: UtcTime
    actor: str
    action: str
    changes: dict[str, list[Any]] = Field(default_factory=dict)  # field -> [old, new]
    note: str | None = None


class Customer(BaseModel):
    id: str = Field(default_factory=new_id)
    name: str | None = None
    phone: str | None = None
    created_at: UtcTime
    groups: list[str] = Field(default_factory=list)  # e.g. 'our_clients'
    identities: list[str] = Field(default_factory=list)  # "telegram:<chat id>", "phone:+7..."
    updated_at: UtcTime | None = None
    version: int = 0


class Actor(BaseModel):
    """The authenticated caller of the staff API."""

    user_id: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))
