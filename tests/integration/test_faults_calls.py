"""Fault injection: every AWS call a telephony webhook makes fails in turn, and the provider's
retry of the same request must end where the fault-free run ends: one ticket per call, the
same call facts, a problem call's notice published once; two notifications of one call
racing at each write merge to what they make one after the other."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from helpdesk.settings import get_settings
from infra import redrive
from tests.faults import MAX_RECEIVES, WRITES, Desk, as_provider, each_fault_is_healed_by_a_retry
from tests.integration.conftest import Api
from tests.integration.test_call_webhook import (
    CTI_TOKEN,
    LINE,
    PUBLIC,
    TWILIO_TOKEN,
    ZADARMA_SECRET,
    form,
    generic,
    post_generic,
    post_twilio,
    post_zadarma,
)

Request = Callable[[], tuple[int, Any]]


class Switchboard(Desk):
    """The desk with the call webhook, and the review mailbox that problem calls go to."""

    def __init__(self, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(aws, monkeypatch)
        for name, value in {
            "PUBLIC_BASE_URL": PUBLIC,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "ZADARMA_API_SECRET": ZADARMA_SECRET,
            "ZADARMA_TIMEZONE": "Europe/Moscow",
            "GENERIC_CTI_TOKEN": CTI_TOKEN,
            "HELPDESK_CONFIG": json.dumps(
                {"directions": [{"id": "d0"}, {"id": "d1", "phone_numbers": [LINE]}]}
            ),
        }.items():
            monkeypatch.setenv(name, value)
        sns = boto3.client("sns")
        topic = sns.create_topic(Name="problem-calls")["TopicArn"]
        self.mailbox = aws["sqs"].create_queue(QueueName="review-mailbox")["QueueUrl"]
        arn = aws["sqs"].get_queue_attributes(QueueUrl=self.mailbox, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
        monkeypatch.setenv("PROBLEM_CALLS_TOPIC_ARN", topic)
        get_settings.cache_clear()
        self.calls = Api("CallWebhookFunction", None)

    def notices(self) -> list[str]:
        """The problem-call notices the review mailbox received since last asked."""
        found = []
        while (
            messages := self.aws["sqs"]
            .receive_message(QueueUrl=self.mailbox, MaxNumberOfMessages=10)
            .get("Messages")
        ):
            for message in messages:
                found.append(json.loads(message["Body"])["Subject"])
                self.aws["sqs"].delete_message(
                    QueueUrl=self.mailbox, ReceiptHandle=message["ReceiptHandle"]
                )
        return found

    def state(self) -> Any:
        return {"tickets": super().state(), "notices": self.notices()}


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Switchboard:
    return Switchboard(aws, monkeypatch)


def twilio(desk: Switchboard, name: str) -> Request:
    return lambda: post_twilio(desk.calls, form(f"twilio/{name}"))


def zadarma(desk: Switchboard, name: str) -> Request:
    return lambda: post_zadarma(desk.calls, form(f"zadarma/{name}"))


def cti(desk: Switchboard, name: str, **changes: Any) -> Request:
    return lambda: post_generic(desk.calls, generic(name, **changes))


def test_twilio_first_notification_under_a_fault_at_each_aws_call(desk: Switchboard) -> None:
    # given: nothing yet; when / then: the call opens its ticket despite each fault in turn
    each_fault_is_healed_by_a_retry(desk, twilio(desk, "initiated.txt"))
    (ticket,) = desk.state()["tickets"]
    assert ticket["ticket"]["channel"] == "phone"


def test_zadarma_first_notification_under_a_fault_at_each_aws_call(desk: Switchboard) -> None:
    each_fault_is_healed_by_a_retry(desk, zadarma(desk, "notify_start.txt"))
    assert len(desk.state()["tickets"]) == 1


def test_a_problem_calls_hangup_under_a_fault_at_each_aws_call_is_noticed_once(
    desk: Switchboard,
) -> None:
    """The hangup that makes a call a problem call enqueues the review mailbox's notice after
    its transaction: a lost enqueue is repaired by the provider's retry, never doubled."""
    # given: a call that was answered
    for name in ("new_call.json", "answer.json"):
        assert as_provider(cti(desk, name)) == [200]
    # when / then
    each_fault_is_healed_by_a_retry(desk, cti(desk, "hangup.json", duration=421))
    assert as_provider(cti(desk, "hangup.json", duration=421)) == [200]  # once more, later
    desk.drain()
    (ticket,) = desk.state()["tickets"]
    assert "problem_call" in ticket["ticket"]["flags"]


def test_a_notice_whose_publish_fails_is_retried_and_published_once(desk: Switchboard) -> None:
    # given: a problem call whose notice is queued, and SNS failing once
    for name in ("new_call.json", "answer.json"):
        assert as_provider(cti(desk, name)) == [200]
    assert as_provider(cti(desk, "hangup.json", duration=421)) == [200]
    desk.faults.fail("Publish")
    # when: the job fails, comes back after the visibility timeout, and succeeds
    desk.drain()
    # then
    assert desk.faults.pending == []
    assert len(desk.notices()) == 1


def test_a_notice_that_fails_until_the_dead_letter_queue_is_published_once_by_a_redrive(
    desk: Switchboard,
) -> None:
    """No sweep looks for notices: the dead-letter queue keeps the job, and it names the
    ticket, so a redrive (make redrive) publishes it."""
    # given: a problem call, and SNS down through all five receives of its notice's job
    for name in ("new_call.json", "answer.json"):
        assert as_provider(cti(desk, name)) == [200]
    assert as_provider(cti(desk, "hangup.json", duration=421)) == [200]
    desk.faults.fail("Publish", times=MAX_RECEIVES)
    # when
    desk.drain()
    # then
    assert desk.queue.dead_letters() == [{"type": "problem_call_notice", "ticket_id": "D1-000001"}]
    assert desk.notices() == []
    # when: SNS is back and the operator redrives
    assert redrive.main(["--by-hand", "--prefix", "test-"]) == 0
    desk.drain()
    # then
    assert len(desk.notices()) == 1


@pytest.mark.parametrize(
    ("first", "other"),
    [
        (("answer.json", {}), ("hangup.json", {"duration": 421})),
        (("hangup.json", {"duration": 421}), ("recording.json", {})),
    ],
    ids=["answer vs hangup", "hangup vs recording"],
)
def test_another_notification_of_the_call_at_each_write_merges_the_same(
    desk: Switchboard, first: tuple[str, dict[str, Any]], other: tuple[str, dict[str, Any]]
) -> None:
    # given: the call's ticket, and the facts the two notifications make one after the other
    assert as_provider(cti(desk, "new_call.json")) == [200]
    before = desk.snapshot()
    this, that = cti(desk, first[0], **first[1]), cti(desk, other[0], **other[1])
    with desk.faults.recording() as trace:
        assert as_provider(this) == [200]
    assert as_provider(that) == [200]
    desk.drain()
    expected = desk.state()
    for nth in range(1, sum(1 for operation, _ in trace if operation in WRITES) + 1):
        desk.restore(before)
        answers: list[list[int]] = []

        def that_lands(answers: list[list[int]] = answers, that: Any = that) -> None:
            answers.append(as_provider(that))

        desk.faults.before_write(nth, that_lands)

        # when: the other notification lands just before this one's nth write
        assert as_provider(this) == [200], nth

        # then
        assert answers == [[200]], nth
        desk.drain()
        assert desk.state() == expected, nth
