"""The dispatcher through real-format SQS events: partial failures, rate limits, duplicates."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from helpdesk import outbox, providers
from helpdesk.channels import (
    OutboundText,
    PermanentSendError,
    RateLimited,
    SendResult,
    TransientSendError,
)
from helpdesk.jobs import SendMessageJob
from helpdesk.models import utc_now
from infra.lambda_runtime import LambdaContext, load_function, scheduled_event, sqs_event
from infra.template import functions
from tests.integration.conftest import Api


class FakeChannel:
    """Records sends; raises the scripted errors first."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[OutboundText] = []

    def send(self, message: OutboundText) -> SendResult:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)
        return SendResult(provider_message_id=f"p-{len(self.sent)}")


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any]) -> FakeChannel:
    fake = FakeChannel()
    module = load_function(functions()["DispatcherFunction"])
    monkeypatch.setattr(module.dispatcher, "channel_for", lambda name: fake)
    return fake


def dispatch(aws: dict[str, Any], bodies: list[str]) -> dict[str, Any]:
    """Send bodies through the real queue, receive them, and hand the batch to the function."""
    for body in bodies:
        aws["sqs"].send_message(QueueUrl=aws["queue_url"], MessageBody=body)
    received = aws["sqs"].receive_message(
        QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    spec = functions()["DispatcherFunction"]
    event = sqs_event(received, "arn:aws:sqs:us-east-1:123456789012:jobs")
    return load_function(spec).lambda_handler(event, LambdaContext(spec.logical_id)), received


def reply(agent_api: Api, aws: dict[str, Any], text: str = "Hello") -> tuple[str, str]:
    _, ticket = agent_api.call("POST", "/tickets", {"direction": "d0", "subject": "s", "text": "t"})
    agent_api.call("POST", f"/tickets/{ticket['id']}/replies", {"text": text})
    message = aws["sqs"].receive_message(QueueUrl=aws["queue_url"])["Messages"][0]
    aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return ticket["id"], message["Body"]


def delivery(agent_api: Api, ticket_id: str) -> dict[str, Any]:
    messages = agent_api.call("GET", f"/tickets/{ticket_id}")[1]["messages"]
    return next(m for m in messages if m["kind"] == "reply")


def test_a_reply_is_sent_once_even_when_its_job_arrives_three_times(
    agent_api: Api, aws: dict[str, Any], channel: FakeChannel
) -> None:
    ticket_id, body = reply(agent_api, aws)
    result, _ = dispatch(aws, [body, body, body])
    assert result == {"batchItemFailures": []}
    assert [m.text for m in channel.sent] == ["Hello"]
    sent = delivery(agent_api, ticket_id)
    assert sent["delivery"] == "sent"
    assert sent["provider_message_id"] == "p-1"


def test_only_the_failing_record_is_reported(
    agent_api: Api, aws: dict[str, Any], channel: FakeChannel
) -> None:
    _, good = reply(agent_api, aws, "first")
    bad_ticket, bad = reply(agent_api, aws, "second")
    channel.errors = [TransientSendError("provider 502")]
    result, received = dispatch(aws, [bad, good, "{not a job"])
    ids = {m["Body"]: m["MessageId"] for m in received}
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(
        [ids[bad], ids["{not a job"]]
    )
    assert [m.text for m in channel.sent] == ["first"]
    assert delivery(agent_api, bad_ticket)["delivery"] == "queued"  # claim released for retry


def test_rate_limit_delays_that_job_only_and_never_drops_it(
    agent_api: Api, aws: dict[str, Any], channel: FakeChannel
) -> None:
    ticket_id, body = reply(agent_api, aws)
    channel.errors = [RateLimited(retry_after_seconds=7)]
    result, _ = dispatch(aws, [body])
    assert result == {"batchItemFailures": []}  # not failed: re-enqueued with a delay
    assert channel.sent == []
    assert delivery(agent_api, ticket_id)["delivery"] == "queued"
    assert aws["sqs"].receive_message(QueueUrl=aws["queue_url"]).get("Messages") is None
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=aws["queue_url"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_rate_limited_job_is_re_enqueued_with_its_attempt_counted(
    agent_api: Api, aws: dict[str, Any], channel: FakeChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, body = reply(agent_api, aws)
    channel.errors = [RateLimited(retry_after_seconds=3)]
    module = load_function(functions()["DispatcherFunction"])
    sent: list[tuple[list[Any], int]] = []
    monkeypatch.setattr(
        module.dispatcher.queue,
        "send",
        lambda jobs, delay_seconds=0: sent.append((jobs, delay_seconds)),
    )
    dispatch(aws, [body])
    ((jobs, delay),) = sent
    assert delay == 3
    assert jobs == [SendMessageJob.model_validate({**json.loads(body), "attempt": 1})]


def test_permanent_refusal_marks_the_message_failed_and_stops(
    agent_api: Api, aws: dict[str, Any], channel: FakeChannel
) -> None:
    ticket_id, body = reply(agent_api, aws)
    channel.errors = [PermanentSendError("Forbidden: bot was blocked by the user")]
    result, _ = dispatch(aws, [body])
    assert result == {"batchItemFailures": []}
    failed = delivery(agent_api, ticket_id)
    assert failed["delivery"] == "failed"
    assert "blocked" in failed["error"]
    dispatch(aws, [body])  # a duplicate job does not try again
    assert channel.sent == []


def test_outbox_sweep_requeues_messages_whose_job_was_lost(
    agent_api: Api, aws: dict[str, Any], channel: FakeChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_id, _lost = reply(agent_api, aws)  # the job is deleted: as if enqueueing crashed
    spec = functions()["OutboxSweepFunction"]
    handler = load_function(spec).lambda_handler
    assert handler(scheduled_event("sweep"), LambdaContext(spec.logical_id)) == {"requeued": 0}
    later = utc_now() + outbox.GRACE + timedelta(seconds=1)
    monkeypatch.setattr(outbox, "utc_now", lambda: later)
    assert handler(scheduled_event("sweep"), LambdaContext(spec.logical_id)) == {"requeued": 1}
    requeued = aws["sqs"].receive_message(QueueUrl=aws["queue_url"])["Messages"][0]
    aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=requeued["ReceiptHandle"])
    dispatch(aws, [requeued["Body"]])
    assert delivery(agent_api, ticket_id)["delivery"] == "sent"
    assert handler(scheduled_event("sweep"), LambdaContext(spec.logical_id)) == {"requeued": 0}


def test_sandbox_channel_is_what_manual_tickets_use(aws: dict[str, Any]) -> None:
    from helpdesk.models import Channel
    from helpdesk.sandbox import SandboxChannel

    assert isinstance(providers.channel_for(Channel.SANDBOX), SandboxChannel)
