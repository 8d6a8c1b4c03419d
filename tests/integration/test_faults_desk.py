"""Fault injection on the staff side and after the store's transaction: an agent's change
racing a client's message (409 only for a stale version), an SQS send that fails after the
store committed (repaired by the retry with the same request_id, or by the outbox sweep),
and a sweep whose own batch SQS partly refuses."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.usecases import outbox
from tests.faults import Desk, as_provider, each_fault_is_healed_by_a_retry, through_api_gateway
from tests.integration.test_faults_messengers import tg_message, tg_ticket

TICKET = "/tickets/D0-000001"


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = Desk(aws, monkeypatch)
    tg_ticket(desk)
    return desk


def client_writes(desk: Desk, text: str = "Any news?") -> None:
    assert as_provider(desk.telegram(tg_message(734910500, text))) == [200]


def inbound(desk: Desk) -> list[str]:
    return [m["text"] for m in desk.ticket("D0-000001")["messages"] if m["kind"] == "inbound"]


# ---- an agent's change racing a client's message -----------------------------------------


def test_an_agent_with_a_stale_version_gets_409_and_the_clients_message_stays(desk: Desk) -> None:
    # given: the agent read the ticket, then the client wrote
    version = desk.ticket("D0-000001")["ticket"]["version"]
    client_writes(desk)
    # when
    status, body = desk.agent.call("PATCH", TICKET, {"priority": "high", "version": version})
    # then
    assert status == 409
    assert body["error"]["code"] == "version_conflict"
    assert body["error"]["current_version"] == version + 1
    assert inbound(desk)[-1] == "Any news?"
    # when: the agent reloads and tries again
    status, body = desk.agent.call("PATCH", TICKET, {"priority": "high", "version": version + 1})
    # then
    assert (status, body["priority"], body["version"]) == (200, "high", version + 2)


def test_a_clients_message_landing_at_the_agents_write_makes_that_version_stale(
    desk: Desk,
) -> None:
    """The agent's version was current when it asked, not when it wrote: 409 (the agent has
    not seen the client's new message), and the message is kept."""
    version = desk.ticket("D0-000001")["ticket"]["version"]
    desk.faults.before_write(1, lambda: client_writes(desk))
    # when
    status, body = desk.agent.call("POST", f"{TICKET}/resolve", {"version": version})
    # then
    assert (status, body["error"]["code"]) == (409, "version_conflict")
    view = desk.ticket("D0-000001")
    assert (view["ticket"]["status"], inbound(desk)[-1]) == ("new", "Any news?")


def test_a_change_without_a_version_is_refused_too_when_the_ticket_moved(desk: Desk) -> None:
    """No version is the version the desk read: what the agent changes may depend on it."""
    desk.faults.before_write(1, lambda: client_writes(desk))
    status, body = desk.agent.call("PATCH", TICKET, {"priority": "high"})
    assert (status, body["error"]["code"]) == (409, "version_conflict")
    view = desk.ticket("D0-000001")
    assert (view["ticket"]["priority"], inbound(desk)[-1]) == ("normal", "Any news?")


def test_a_comment_is_not_refused_for_a_clients_message(desk: Desk) -> None:
    """A comment depends on nothing it read: it is added after the client's message."""
    version = desk.ticket("D0-000001")["ticket"]["version"]
    desk.faults.before_write(1, lambda: client_writes(desk))
    # when
    status, answer = desk.agent.call("POST", f"{TICKET}/comments", {"text": "asked billing"})
    # then: both landed
    assert status == 200, answer
    view = desk.ticket("D0-000001")
    assert view["ticket"]["version"] == version + 2
    assert inbound(desk)[-1] == "Any news?"
    assert view["messages"][-1]["text"] == "asked billing"


def test_a_clients_message_losing_the_race_to_an_agent_is_stored_all_the_same(
    desk: Desk,
) -> None:
    version = desk.ticket("D0-000001")["ticket"]["version"]
    answers: list[int] = []
    desk.faults.before_write(
        1,
        lambda: answers.append(
            desk.agent.call("PATCH", TICKET, {"priority": "high", "version": version})[0]
        ),
    )
    # when: the client's message meets the agent's change just before its write
    client_writes(desk)
    # then
    assert answers == [200]
    view = desk.ticket("D0-000001")
    assert (view["ticket"]["priority"], view["ticket"]["version"]) == ("high", version + 2)
    assert inbound(desk)[-1] == "Any news?"


# ---- the enqueue fails after the store committed ----------------------------------------


def test_a_reply_with_a_request_id_under_a_fault_at_each_aws_call_is_sent_once(
    desk: Desk,
) -> None:
    """The console retries a failed request with the same request_id."""
    reply = {"text": "Please try again now", "request_id": "console-7f3a"}
    request = lambda: desk.agent.call("POST", f"{TICKET}/replies", reply)  # noqa: E731
    each_fault_is_healed_by_a_retry(desk, request)
    (ticket,) = desk.state()
    replies = [m for m in ticket["messages"] if m[0] == "reply"]
    assert len(replies) == 1 and replies[0][3] == "sent"
    assert desk.provider.texts().count("Please try again now") == 1


@pytest.mark.parametrize(
    ("path", "body", "texts"),
    [
        (f"{TICKET}/replies", {"text": "Fixed on our side"}, 1),
        (f"{TICKET}/resolve", {"resolution": "Fixed on our side"}, 2),
    ],
    ids=["a reply without request_id", "a resolution"],
)
def test_a_lost_enqueue_without_request_id_is_sent_once_by_the_outbox_sweep(
    desk: Desk, path: str, body: dict[str, Any], texts: int
) -> None:
    # given: SQS refuses the enqueue after the store committed
    desk.faults.fail("SendMessageBatch")
    # when
    status, _ = through_api_gateway(lambda: desk.agent.call("POST", path, body))
    # then: the agent saw an error, but what it wrote is stored and waits in the outbox
    assert status == 500
    queued = [m for m in desk.ticket("D0-000001")["messages"] if m["delivery"] == "queued"]
    assert len(queued) == texts
    # when: the sweep comes
    desk.drain()
    assert desk.provider.sent[2:] == []
    desk.clock.advance(outbox.GRACE.total_seconds() + 1)
    assert desk.sweep() == texts
    desk.drain()
    # then: sent once, in order
    assert desk.provider.texts()[2:] == [m["text"] for m in queued]
    assert desk.sweep() == 0


def test_a_first_contact_whose_enqueue_is_never_retried_is_greeted_by_the_sweep(
    desk: Desk,
) -> None:
    # given: a new client's first message; SQS refuses its jobs; the provider gives up
    desk.faults.fail("SendMessageBatch")
    update = tg_message(734910600, "Hello?")
    update["message"]["chat"]["id"] = update["message"]["from"]["id"] = 555
    assert through_api_gateway(desk.telegram(update))[0] == 500
    # when
    desk.clock.advance(outbox.GRACE.total_seconds() + 1)
    assert desk.sweep() == 2
    desk.drain()
    # then: greeting, then acknowledgement, once each
    greeting, ack = desk.ticket("D0-000002")["messages"][1:]
    assert [m.text for m in desk.provider.sent if m.recipient_id == "555"] == [
        greeting["text"],
        ack["text"],
    ]


def test_a_sweep_whose_batch_sqs_partly_refuses_is_repeated_and_sends_once(desk: Desk) -> None:
    # given: three tickets whose jobs were lost
    desk.faults.fail("SendMessageBatch", times=3)
    for chat in (601, 602, 603):
        update = tg_message(734910000 + chat, "Hello?")
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
        assert through_api_gateway(desk.telegram(update))[0] == 500
    desk.clock.advance(outbox.GRACE.total_seconds() + 1)
    # when: SQS takes only the first of the sweep's jobs, and the schedule runs it again
    desk.faults.fail_partly("SendMessageBatch")
    assert through_api_gateway(lambda: (desk.sweep(), None))[0] == 500
    desk.drain()
    assert desk.sweep() == 4  # the two tickets still waiting
    desk.drain()
    # then
    received = [m.recipient_id for m in desk.provider.sent]
    assert sorted(received[2:]) == ["601", "601", "602", "602", "603", "603"]
