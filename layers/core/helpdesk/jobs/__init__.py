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


Job = Annotated[SendMessageJob | ProblemCallNoticeJob, Field(discriminator="type")]
JOB_ADAPTER: TypeAdapter[Job] = TypeAdapter(Job)


def job_key(job: Job) -> str:
    """A stable id for a job: the same side effect enqueued twice has the same key."""
    match job:
        case SendMessageJob():
            return f"send:{job.ticket_id}:{job.message_id}:{job.attempt}"
        case ProblemCallNoticeJob():
            return f"problem_call:{job.ticket_id}"
