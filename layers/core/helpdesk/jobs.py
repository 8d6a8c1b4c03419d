"""Typed jobs: every outbound side effect travels through the queue as one of these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter


class SendMessageJob(BaseModel):
    """Send a stored, queued message to the client in its ticket's channel."""

    type: Literal["send_message"] = "send_message"
    ticket_id: str
    message_id: str
    attempt: int = 0  # how many times a provider asked us to wait


class AnswerButtonJob(BaseModel):
    """Tell Telegram the button press was received (stops the client's spinner)."""

    type: Literal["answer_button"] = "answer_button"
    callback_query_id: str
    text: str | None = None


class ProblemCallNoticeJob(BaseModel):
    """Tell the review mailbox about a call longer than the direction's threshold."""

    type: Literal["problem_call_notice"] = "problem_call_notice"
    ticket_id: str


Job = Annotated[
    SendMessageJob | AnswerButtonJob | ProblemCallNoticeJob, Field(discriminator="type")
]
JOB_ADAPTER: TypeAdapter[Job] = TypeAdapter(Job)


def job_key(job: Job) -> str:
    """A stable id for a job: the same side effect enqueued twice has the same key."""
    match job:
        case SendMessageJob():
            return f"send:{job.ticket_id}:{job.message_id}:{job.attempt}"
        case AnswerButtonJob():
            return f"answer:{job.callback_query_id}"
        case ProblemCallNoticeJob():
            return f"problem_call:{job.ticket_id}"
