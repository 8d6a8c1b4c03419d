"""Fault injection in the dispatcher, run by the SQS event source on the real (moto) queue:
a store that cannot mark what the provider accepted, provider 5xx and timeouts until the
dead-letter queue, 429s, permanent refusals under AWS faults, and the redrive."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from helpdesk.channels.base import PermanentSendError, RateLimited, TransientSendError
from helpdesk.usecases import dispatch, outbox
from infra import redrive
from infra.provision import provision
from tests.faults import MAX_RECEIVES, VISIBILITY_TIMEOUT, Desk, as_provider, faults_for
from tests.integration.test_faults_messengers import tg_message, tg_ticket

GREETING, ACK = 1, 2  # their places in a first contact's conversation


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Desk:
    return Desk(aws, monkeypatch)


def first_contact(desk: Desk) -> tuple[dict[str, Any], dict[str, Any]]:
    """A client's first message: its greeting and acknowledgement queued in one job."""
    assert as_provider(desk.telegram(tg_message())) == [200]
    messages = desk.ticket("D0-000001")["messages"]
    return messages[GREETING], messages[ACK]


def resolved(desk: Desk) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ticket just resolved: its resolution notice and rating prompt queued in one job."""
    tg_ticket(desk)
    assert desk.agent.call("POST", "/tickets/D0-000001/resolve", {"resolution": "Fixed"})[0] == 200
    notice, prompt = desk.ticket("D0-000001")["messages"][-2:]
    return notice, prompt


def delivery(desk: Desk, message: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        m for m in desk.ticket("D0-000001")["messages"] if m["id"] == message["id"]
    )
    return found


# ---- the provider accepted, the store could not say so -----------------------------------


def test_a_mark_that_fails_once_is_retried_in_place(desk: Desk) -> None:
    greeting, ack = first_contact(desk)
    desk.faults.fail("UpdateItem", nth=2)  # claim, then the mark 'sent': throttled once
    desk.drain()
    assert desk.faults.pending == []
    assert desk.provider.texts() == [greeting["text"], ack["text"]]
    assert delivery(desk, greeting)["delivery"] == "sent"


def test_a_crash_between_the_providers_accept_and_the_mark_is_not_sent_again(desk: Desk) -> None:
    """The store refuses every in-place attempt to mark the greeting sent: the job fails, and
    SQS hands it out again after its visibility timeout. The greeting's lease outlives every
    redelivery (and the sweep), so nothing sends it a second time; the number follows."""
    # given
    greeting, ack = first_contact(desk)
    desk.faults.fail("UpdateItem", nth=2, times=dispatch.FINISH_ATTEMPTS)
    # when: the first receive fails after the provider took the greeting; the next succeeds
    assert desk.queue.poll() == 1
    assert len(desk.queue.failures) == 1
    desk.drain()
    # then
    assert desk.faults.pending == []
    assert desk.provider.texts() == [greeting["text"], ack["text"]]
    stuck = delivery(desk, greeting)
    assert stuck["delivery"] == "sending"  # its mark was lost; only the lease knows
    # when: the outbox sweep runs at each moment SQS could still hand the job out (its 5th
    # and last receive comes four visibility timeouts after the first)
    while desk.clock.offset < VISIBILITY_TIMEOUT * (MAX_RECEIVES - 1):
        desk.clock.advance(VISIBILITY_TIMEOUT)
        assert desk.sweep() == 0
        desk.drain()
    # then: still once
    assert timedelta(seconds=VISIBILITY_TIMEOUT * MAX_RECEIVES) < dispatch.LEASE
    assert desk.provider.texts() == [greeting["text"], ack["text"]]


# ---- provider 5xx and timeouts until the dead-letter queue, then the sweep and a redrive ---


def test_a_job_failing_until_the_dead_letter_queue_is_sent_once_by_the_sweep_and_redrive(
    desk: Desk,
) -> None:
    # given: a first contact, and a provider that fails each of the job's five receives
    greeting, ack = first_contact(desk)
    desk.provider.fail_next(
        TransientSendError("telegram sendMessage 502: Bad Gateway"),
        TransientSendError("telegram sendMessage: timed out"),
        TransientSendError("telegram sendMessage 500: Internal Server Error"),
        TransientSendError("telegram sendMessage: ConnectionError"),
        TransientSendError("telegram sendMessage 503: Service Unavailable"),
    )
    # when: SQS retries the job after each failure, then dead-letters it
    desk.drain()
    # then: the job waits in the dead-letter queue with what a redrive needs
    assert desk.provider.sent == []
    assert desk.queue.dead_letters() == [
        {
            "type": "send_message",
            "ticket_id": "D0-000001",
            "message_id": greeting["id"],
            "then": [ack["id"]],
            "attempt": 0,
        }
    ]
    waiting = delivery(desk, greeting)
    assert (waiting["delivery"], waiting["attempts"]) == ("queued", MAX_RECEIVES)
    assert waiting["last_error"] == "telegram sendMessage 503: Service Unavailable"
    # when: the provider is back, and the outbox sweep finds both messages
    desk.clock.advance((dispatch.TRANSIENT_BACKOFF + outbox.GRACE).total_seconds() + 1)
    assert desk.sweep() == 2
    desk.drain()
    # then: the greeting first, each once
    assert desk.provider.texts() == [greeting["text"], ack["text"]]
    # when: an operator redrives the dead-letter queue as well (make redrive)
    assert redrive.main(["--by-hand", "--prefix", "test-"]) == 0
    assert desk.queue.dead_letters() == []
    desk.drain()
    # then: nothing is sent twice
    assert desk.provider.texts() == [greeting["text"], ack["text"]]
    assert [delivery(desk, m)["delivery"] for m in (greeting, ack)] == ["sent", "sent"]


def test_redrive_on_aws_asks_sqs_to_move_the_jobs() -> None:
    """Where SQS can move messages itself, the redrive starts a move task from the DLQ."""

    class Sqs:
        def __init__(self) -> None:
            self.calls: list[tuple[str, dict[str, Any]]] = []

        def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
            self.calls.append(("get_queue_attributes", kwargs))
            return {"Attributes": {"QueueArn": "arn:aws:sqs:eu-west-1:1:helpdesk-prod-DLQ"}}

        def start_message_move_task(self, **kwargs: Any) -> dict[str, Any]:
            self.calls.append(("start_message_move_task", kwargs))
            return {"TaskHandle": "handle-1"}

    sqs = Sqs()
    said = redrive.redrive(sqs, "https://queue", "https://dlq", move_task=True)
    assert sqs.calls[-1] == (
        "start_message_move_task",
        {"SourceArn": "arn:aws:sqs:eu-west-1:1:helpdesk-prod-DLQ"},
    )
    assert "handle-1" in said


def test_redrive_finds_the_local_stacks_queues_by_name(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the local stack's queues (make run), a dead-lettered job, no queue URLs set
    queues = provision(aws["dynamodb"], aws["sqs"], "helpdesk-local", "helpdesk-local")
    queue, dead = queues["JobQueue"][0], queues["JobDeadLetterQueue"][0]
    aws["sqs"].send_message(QueueUrl=dead, MessageBody='{"type": "send_message"}')
    monkeypatch.delenv("QUEUE_URL")
    # when
    assert redrive.main(["--by-hand"]) == 0
    # then
    (moved,) = aws["sqs"].receive_message(QueueUrl=queue)["Messages"]
    assert moved["Body"] == '{"type": "send_message"}'
    assert aws["sqs"].receive_message(QueueUrl=dead).get("Messages") is None


# ---- 429: retry_after is honoured, the order is kept -------------------------------------


@pytest.mark.parametrize(
    "queued",
    [first_contact, resolved],
    ids=["greeting before acknowledgement", "resolution notice before rating prompt"],
)
def test_a_429_is_waited_out_and_the_order_kept(desk: Desk, queued: Any) -> None:
    # given: two messages the client must read in order, and a provider that says wait 5 min
    first, second = queued(desk)
    sent_before = len(desk.provider.sent)
    desk.provider.fail_next(RateLimited(300, "telegram sendMessage 429: retry after 300"))
    # when
    desk.drain()
    # then: nothing more went out; the rest of the job waits in the queue for retry_after
    assert len(desk.provider.sent) == sent_before
    attributes = desk.aws["sqs"].get_queue_attributes(
        QueueUrl=desk.aws["queue_url"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    # when: the outbox sweep runs before retry_after is over
    desk.clock.advance(240)
    assert desk.sweep() == 0
    desk.drain()
    # then: it did not send the second message ahead of the first
    assert len(desk.provider.sent) == sent_before
    # when: retry_after is over (the sweep stands in for the delayed job, which SQS holds)
    desk.clock.advance(60 + outbox.GRACE.total_seconds() + 1)
    assert desk.sweep() == 2
    desk.drain()
    # then
    assert desk.provider.texts()[sent_before:] == [first["text"], second["text"]]


# ---- permanent refusals -----------------------------------------------------------------


def test_a_permanent_refusal_is_marked_failed_and_flagged_despite_a_fault_at_each_call(
    desk: Desk,
) -> None:
    """The client blocked the bot: the reply is marked failed with the reason and the ticket
    flagged `delivery_failed`, exactly once, whichever AWS call of that fails on the way (the
    job is retried; a message left mid-send is found by the sweep after its lease)."""
    # given: an agent's reply queued to a client who blocked the bot
    tg_ticket(desk)
    assert desk.agent.call("POST", "/tickets/D0-000001/replies", {"text": "Try now"})[0] == 200
    before = desk.snapshot()
    blocked = PermanentSendError("telegram sendMessage 403: Forbidden: bot was blocked by the user")

    def after_the_lease() -> list[dict[str, Any]]:
        desk.clock.advance(dispatch.LEASE.total_seconds() + outbox.GRACE.total_seconds())
        desk.sweep()
        desk.drain()
        return desk.state()

    desk.provider.fail_next(blocked, blocked)
    with desk.faults.recording() as trace:
        desk.drain()
    expected = after_the_lease()
    (ticket,) = expected
    assert ticket["messages"][-1][3:5] == ("failed", str(blocked))
    assert "delivery_failed" in ticket["ticket"]["flags"]
    assert ticket["history"][-1] == ("system", "delivery_failed")
    for fault, operation, nth in faults_for(trace):
        desk.restore(before)
        desk.provider.fail_next(blocked, blocked)
        desk.faults.fail(operation, fault, nth)
        # when
        desk.drain()
        state = after_the_lease()
        # then
        assert desk.faults.pending == [], f"{fault} at {operation} #{nth}"
        assert state == expected, f"{fault} at {operation} #{nth}"


def test_redrive_of_a_deployed_stack_finds_its_queues_through_cloudformation() -> None:
    """CloudFormation names the queues `<stack>-JobQueue-<random>`: no prefix finds them."""

    class CloudFormation:
        def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> Any:
            assert StackName == "helpdesk-prod"
            url = f"https://sqs.eu-west-1.amazonaws.com/1/helpdesk-prod-{LogicalResourceId}-X1"
            return {"StackResourceDetail": {"PhysicalResourceId": url}}

    queue, dead = redrive.stack_queues(CloudFormation(), "helpdesk-prod")
    assert queue.endswith("/helpdesk-prod-JobQueue-X1")
    assert dead.endswith("/helpdesk-prod-JobDeadLetterQueue-X1")
