"""Typed jobs: every outbound side effect travels through the queue as one of these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter


class SendMessageJob(BaseModel):
    """Send stored, queued messages to the client in their ticket's channel, in order."""

    type: Literal["send_message"] = "send_message"
    ticket_id: str
    message_id: str
    then: list[str] = Field(default_factory=list)  # sent after this one, in this order
    attempt: int = 0  # how many times a provider asked us to wait


class ProblemCallNoticeJob(BaseModel):
    """Tell the review mailbox about a call longer than the direction's threshold."""

    type: Literal["problem_call_notice"] = "problem_call_notice"
    ticket_id: str


class NoticeFanOutJob(BaseModel):
    """Expand one page of a direction's audience in a channel into delivery batches, and
    chain the next page (a page at a time: no function holds the whole audience)."""

    type: Literal["notice_fan_out"] = "notice_fan_out"
    notice_id: str
    revision: int
    direction: str
    channel: str
    generation: int = 1  # a stalled fan-out is expanded again, from the start
    after: str | None = None  # the last address of the page before


class Recipient(BaseModel):
    address: str  # the audience key: chat id (Telegram), E.164 phone (WhatsApp)
    recipient_id: str  # where the provider delivers: chat id, wa_id
    service_id: str | None = None  # the bot or business number the client wrote to
    last_inbound_at: str | None = None  # WhatsApp: whether the 24-hour window is open


class NoticeBatchJob(BaseModel):
    """Tell a few recipients one revision of a notice, paced, each at most once."""

    type: Literal["notice_batch"] = "notice_batch"
    notice_id: str
    revision: int
    direction: str
    channel: str
    batch: str  # which page and slice: the job's identity for logs and keys
    recipients: list[Recipient]
    attempt: int = 0


class ChannelPostJob(BaseModel):
    """Bring the incident's one post in the direction's channel up to the notice's latest
    revision: posted the first time, edited in place after."""

    type: Literal["channel_post"] = "channel_post"
    notice_id: str
    direction: str
    revision: int


class ResolveLinkedJob(BaseModel):
    """Resolve the tickets linked to a resolved incident, a page at a time."""

    type: Literal["resolve_linked"] = "resolve_linked"
    notice_id: str
    after: str | None = None


class ClientTextJob(BaseModel):
    """A one-off text to a client outside any ticket (the answer to /stop), once."""

    type: Literal["client_text"] = "client_text"
    key: str  # the provider event it answers: the dedupe key
    channel: str
    service_id: str | None
    recipient_id: str
    text: str


class BudgetAlertJob(BaseModel):
    """Tell the budget alerts topic (SNS) that a direction's month crossed a share of its
    budget, once per direction, month and threshold."""

    type: Literal["budget_alert"] = "budget_alert"
    direction: str
    month: str  # yyyy-mm, the direction's local month
    threshold: int  # percent: 80 or 100
    spent: int  # minor units when the watch saw it
    budget: int
    currency: str


class TopicSyncJob(BaseModel):
    """Bring the staff group's topics up to date with their tickets, at the group's pace:
    one mirror per group at a time; `token` is the lease a continuation carries on."""

    type: Literal["topic_sync"] = "topic_sync"
    chat_id: str
    token: str | None = None


class TaskEventJob(BaseModel):
    """The rest of a tracker task's linked tickets, a page at a time, after the webhook did
    the first page (a task many tickets wait for must not outlast the webhook's timeout)."""

    type: Literal["task_event"] = "task_event"
    event: dict[str, str | bool | None]  # tasks.TaskEvent's fields
    after: str  # the last ticket of the page before


Job = Annotated[
    SendMessageJob
    | ProblemCallNoticeJob
    | NoticeFanOutJob
    | NoticeBatchJob
    | ChannelPostJob
    | ResolveLinkedJob
    | ClientTextJob
    | BudgetAlertJob
    | TopicSyncJob
    | TaskEventJob,
    Field(discriminator="type"),
]
JOB_ADAPTER: TypeAdapter[Job] = TypeAdapter(Job)


def job_key(job: Job) -> str:
    """A stable id for a job: the same side effect enqueued twice has the same key."""
    match job:
        case SendMessageJob():
            return f"send:{job.ticket_id}:{job.message_id}:{job.attempt}"
        case ProblemCallNoticeJob():
            return f"problem_call:{job.ticket_id}"
        case NoticeFanOutJob():
            where = f"{job.notice_id}:{job.revision}:{job.direction}:{job.channel}"
            return f"fan_out:{where}:{job.generation}:{job.after}"
        case NoticeBatchJob():
            return f"notice:{job.notice_id}:{job.revision}:{job.channel}:{job.batch}:{job.attempt}"
        case ChannelPostJob():
            return f"channel_post:{job.notice_id}:{job.direction}:{job.revision}"
        case ResolveLinkedJob():
            return f"resolve_linked:{job.notice_id}:{job.after}"
        case ClientTextJob():
            return f"client_text:{job.key}"
        case BudgetAlertJob():
            return f"budget:{job.direction}:{job.month}:{job.threshold}"
        case TopicSyncJob():
            return f"topic_sync:{job.chat_id}:{job.token}"
        case TaskEventJob():
            return f"task_event:{job.event.get('provider')}:{job.event.get('event_id')}:{job.after}"
