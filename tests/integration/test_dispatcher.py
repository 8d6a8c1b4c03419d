"""The dispatcher through real-format SQS events: partial failures, rate limits, duplicates,
order, and the paths by which a send that did not finish is found again."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from helpdesk.channels import registry
from helpdesk.channels.base import (
    OutboundText,
    PermanentSendError,
    RateLimited,
    SendResult,
    TransientSendError,
)
from helpdesk.jobs import SendMessageJob
from helpdesk.models import Channel, iso, utc_now
from helpdesk.usecases import dispatch, outbox
from infra.lambda_runtime import LambdaContext, load_function, scheduled_event
from infra.template import functions
from tests.integration.conftest import Api
from tests.support import TG_SECRET, DispatchDriver, event_bytes, use_messengers


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
def channel(dispatcher: DispatchDriver) -> FakeChannel:
    fake = FakeChannel()
    dispatcher.use(fake)
    return fake


def reply(
    agent_api: Api, aws: dict[str, Any], client_ticket: Any, text: str = "Hello"
) -> tuple[str, str]:
    ticket_id = client_ticket()
    agent_api.call("POST", f"/tickets/{ticket_id}/replies", {"text": text})
    message = aws["sqs"].receive_message(QueueUrl=aws["queue_url"])["Messages"][0]
    aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    return ticket_id, message["Body"]


def delivery(agent_api: Api, ticket_id: str) -> dict[str, Any]:
    messages = agent_api.call("GET", f"/tickets/{ticket_id}")[1]["messages"]
    return next(m for m in messages if m["kind"] == "reply")


def sweep(monkeypatch: pytest.MonkeyPatch, after: timedelta = timedelta()) -> int:
    """Run the outbox sweep function, its clock moved `after` into the future."""
    monkeypatch.setenv("HELPDESK_NOW", iso(utc_now() + after))
    spec = functions()["OutboxSweepFunction"]
    try:
        result = load_function(spec).lambda_handler(
            scheduled_event("sweep"), LambdaContext(spec.logical_id)
        )
    finally:
        monkeypatch.delenv("HELPDESK_NOW")
    return int(result["requeued"])


def test_a_reply_is_sent_once_even_when_its_job_arrives_three_times(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    client_ticket: Any,
) -> None:
    ticket_id, body = reply(agent_api, aws, client_ticket)
    result, _ = dispatcher.run([body, body, body])
    assert result == {"batchItemFailures": []}
    assert [m.text for m in channel.sent] == ["Hello"]
    sent = delivery(agent_api, ticket_id)
    assert sent["delivery"] == "sent"
    assert sent["provider_message_id"] == "p-1"


def test_only_the_failing_record_is_reported(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    client_ticket: Any,
) -> None:
    _, good = reply(agent_api, aws, client_ticket, "first")
    bad_ticket, bad = reply(agent_api, aws, client_ticket, "second")
    channel.errors = [TransientSendError("provider 502")]
    result, received = dispatcher.run([bad, good, "{not a job"])
    ids = {m["Body"]: m["MessageId"] for m in received}
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(
        [ids[bad], ids["{not a job"]]
    )
    assert [m.text for m in channel.sent] == ["first"]
    failed = delivery(agent_api, bad_ticket)
    assert failed["delivery"] == "queued"  # claim released for retry
    assert failed["last_error"] == "provider 502"
    assert failed["attempts"] == 1


def test_rate_limit_delays_that_job_only_and_never_drops_it(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    client_ticket: Any,
) -> None:
    ticket_id, body = reply(agent_api, aws, client_ticket)
    channel.errors = [RateLimited(retry_after_seconds=7)]
    result, _ = dispatcher.run([body])
    assert result == {"batchItemFailures": []}  # not failed: re-enqueued with a delay
    assert channel.sent == []
    assert delivery(agent_api, ticket_id)["delivery"] == "queued"
    assert aws["sqs"].receive_message(QueueUrl=aws["queue_url"]).get("Messages") is None
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=aws["queue_url"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_rate_limited_job_is_re_enqueued_with_its_attempt_counted(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
    client_ticket: Any,
) -> None:
    _, body = reply(agent_api, aws, client_ticket)
    channel.errors = [RateLimited(retry_after_seconds=3)]
    sent: list[tuple[list[Any], int]] = []
    monkeypatch.setattr(
        dispatcher.module.dispatcher.queue,
        "send",
        lambda jobs, delay_seconds=0: sent.append((jobs, delay_seconds)),
    )
    dispatcher.run([body])
    ((jobs, delay),) = sent
    assert delay == 3
    assert jobs == [SendMessageJob.model_validate({**json.loads(body), "attempt": 1})]


def test_greeting_and_number_keep_their_order_through_a_rate_limit(
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    agent_api: Api,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The client must read the greeting first, even when the greeting hit a 429."""
    use_messengers(monkeypatch)
    webhook = Api("MessengerWebhookFunction", None)
    raw = event_bytes("telegram/text_message")
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    assert webhook.call("POST", "/webhooks/telegram", raw=raw, headers=headers)[0] == 200
    messages = agent_api.call("GET", "/tickets/D0-000001")[1]["messages"]
    greeting, ack = messages[1], messages[2]
    channel.errors = [RateLimited(retry_after_seconds=0)]
    dispatcher.run([])
    assert channel.sent == []  # the acknowledgement did not overtake the greeting
    dispatcher.drain()
    assert [m.text for m in channel.sent] == [greeting["text"], ack["text"]]


def test_permanent_refusal_marks_the_message_failed_and_flags_the_ticket(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    client_ticket: Any,
) -> None:
    ticket_id, body = reply(agent_api, aws, client_ticket)
    channel.errors = [PermanentSendError("Forbidden: bot was blocked by the user")]
    result, _ = dispatcher.run([body])
    assert result == {"batchItemFailures": []}
    failed = delivery(agent_api, ticket_id)
    assert failed["delivery"] == "failed"
    assert "blocked" in failed["error"]
    dispatcher.run([body])  # a duplicate job does not try again
    assert channel.sent == []
    view = agent_api.call("GET", f"/tickets/{ticket_id}")[1]
    assert "delivery_failed" in view["ticket"]["flags"]
    assert view["history"][-1]["action"] == "delivery_failed"
    assert "blocked" in view["history"][-1]["note"]
    flagged = agent_api.call("GET", "/tickets", query="flag=delivery_failed")[1]["tickets"]
    assert [t["id"] for t in flagged] == [ticket_id]


def test_outbox_sweep_requeues_messages_whose_job_was_lost(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
    client_ticket: Any,
) -> None:
    ticket_id, _lost = reply(agent_api, aws, client_ticket)  # as if enqueueing had crashed
    assert sweep(monkeypatch) == 0
    assert sweep(monkeypatch, outbox.GRACE + timedelta(seconds=1)) == 1
    dispatcher.drain()
    assert delivery(agent_api, ticket_id)["delivery"] == "sent"
    assert sweep(monkeypatch, outbox.GRACE + timedelta(seconds=1)) == 0


def test_a_send_that_fails_until_the_dead_letter_queue_is_found_again_and_sent(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
    client_ticket: Any,
) -> None:
    """Every attempt of the job fails (5 receives, then the DLQ): the message stays in the
    outbox index, the sweep finds it, and it is sent when the provider is back."""
    ticket_id, body = reply(agent_api, aws, client_ticket)
    channel.errors = [TransientSendError("provider 503")] * 5
    for _ in range(5):
        result, _ = dispatcher.run([body])
        assert len(result["batchItemFailures"]) == 1
    waiting = delivery(agent_api, ticket_id)
    assert (waiting["delivery"], waiting["attempts"]) == ("queued", 5)
    assert waiting["last_error"] == "provider 503"
    # The job is in the dead-letter queue now; the sweep does not need it.
    assert sweep(monkeypatch, dispatch.TRANSIENT_BACKOFF + outbox.GRACE) == 1
    dispatcher.drain()
    assert delivery(agent_api, ticket_id)["delivery"] == "sent"
    assert [m.text for m in channel.sent] == ["Hello"]


def test_a_send_that_never_goes_through_ends_failed_with_its_reason(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
    client_ticket: Any,
) -> None:
    ticket_id, body = reply(agent_api, aws, client_ticket)
    channel.errors = [TransientSendError("provider 503")]
    dispatcher.run([body])
    monkeypatch.setenv("HELPDESK_NOW", iso(utc_now() + dispatch.MAX_SEND_AGE + timedelta(1)))
    dispatcher.run([body])
    gave_up = delivery(agent_api, ticket_id)
    assert gave_up["delivery"] == "failed"
    assert gave_up["error"] == "gave up after 1 attempts: provider 503"
    assert channel.sent == []


def test_a_crash_after_the_provider_accepted_is_not_sent_again_by_a_redelivery(
    agent_api: Api,
    aws: dict[str, Any],
    channel: FakeChannel,
    dispatcher: DispatchDriver,
    monkeypatch: pytest.MonkeyPatch,
    client_ticket: Any,
) -> None:
    """Marking the message sent fails after the provider took it; SQS hands the job out
    again after its visibility timeout (180 s), up to five times: the lease outlives that."""
    _ticket_id, body = reply(agent_api, aws, client_ticket)
    messages = dispatcher.module.dispatcher.store.messages
    real_finish = messages.finish

    def store_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(messages, "finish", store_down)
    monkeypatch.setattr("helpdesk.usecases.dispatch.time.sleep", lambda seconds: None)
    result, _ = dispatcher.run([body])
    assert len(result["batchItemFailures"]) == 1
    assert len(channel.sent) == 1
    monkeypatch.setattr(messages, "finish", real_finish)
    visibility, start = 180, utc_now()
    for receive in range(1, 6):
        monkeypatch.setenv("HELPDESK_NOW", iso(start + timedelta(seconds=visibility * receive)))
        dispatcher.run([body])
    assert len(channel.sent) == 1  # never twice
    assert timedelta(seconds=visibility * 5) < dispatch.LEASE


def test_the_sandbox_channel_exists_only_on_the_local_stack(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.settings import get_settings

    assert not registry.can_send(Channel.SANDBOX)
    with pytest.raises(PermanentSendError, match="local stack"):
        registry.sender_for(Channel.SANDBOX, None)
    monkeypatch.setenv("SANDBOX_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    assert registry.can_send(Channel.SANDBOX)
