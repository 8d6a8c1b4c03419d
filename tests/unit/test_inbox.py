"""The inbox's rules (threading, greeting, urgency, reopening, ratings, statuses) on the store
over an in-process moto, with an in-memory queue and a fixed clock: no handler, no HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk import tickets
from helpdesk.channels.base import ButtonPress, DeliveryStatus, InboundMessage
from helpdesk.jobs import SendMessageJob
from helpdesk.models import Actor, DeliveryState, Status
from helpdesk.settings import DirectionConfig, HelpdeskConfig, Settings
from helpdesk.store import Store
from helpdesk.store.tickets import writes_for
from helpdesk.usecases.inbox import Inbox
from tests.unit.conftest import MemoryQueue

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
BOT = "7012345678"
AGENT = Actor(user_id="agent-1", roles=frozenset({"agent"}))
SETTINGS = Settings(
    telegram_bot_id=BOT,
    config=HelpdeskConfig(directions=[DirectionConfig(id="d0", name="Billing")]),
)
HELLO = InboundMessage(
    channel="telegram",
    event_id="tg:7012345678:1",
    service_id=BOT,
    sender_id="111",
    provider_message_id="1",
    text="Не могу войти",
    sent_at=NOW - timedelta(seconds=2),
    sender_name="Анна",
    sender_username="@anna",
)


@pytest.fixture
def inbox(store: Store, queue: MemoryQueue) -> Inbox:
    return Inbox(store=store, queue=queue, settings=lambda: SETTINGS, clock=lambda: NOW)  # type: ignore[arg-type]


def message(n: int, text: str = "more") -> InboundMessage:
    return replace(HELLO, event_id=f"tg:{BOT}:{n}", provider_message_id=str(n), text=text)


def test_a_first_message_opens_a_ticket_greets_and_numbers_in_one_ordered_job(
    inbox: Inbox, store: Store, queue: MemoryQueue
) -> None:
    (outcome,) = inbox.receive([HELLO])
    assert (outcome.result, outcome.ticket_id) == ("created", "D0-000001")
    ticket, messages, history = store.tickets.conversation("D0-000001")
    assert (ticket.customer_name, ticket.customer_address, ticket.subject) == (
        "Анна",
        "@anna",
        "Не могу войти",
    )
    greeting, ack = messages[1:]
    assert "Billing" in greeting.text and "D0-000001" in ack.text
    assert queue.jobs == [
        SendMessageJob(ticket_id="D0-000001", message_id=greeting.id, then=[ack.id])
    ]
    assert [entry.action for entry in history] == ["create"]


def test_later_messages_continue_and_a_second_ticket_is_not_greeted_again(
    inbox: Inbox, store: Store, queue: MemoryQueue
) -> None:
    inbox.receive([HELLO])
    assert inbox.receive([message(2)])[0].result == "continued"
    ticket = store.tickets.get("D0-000001")
    assert (ticket.message_count, ticket.version) == (2, 2)
    store.transact(writes_for(tickets.close(ticket, NOW, actor=AGENT), ticket))
    queue.jobs.clear()
    assert inbox.receive([message(3, "new problem")])[0].ticket_id == "D0-000002"
    (job,) = queue.jobs
    assert isinstance(job, SendMessageJob)
    assert job.then == []  # the number only: the client was greeted before


def test_urgent_words_raise_the_priority_recording_what_it_was(inbox: Inbox, store: Store) -> None:
    inbox.receive([HELLO])
    inbox.receive([message(2, "СРОЧНО, всё сломалось")])
    _, _, history = store.tickets.conversation("D0-000001")
    (raised,) = [entry for entry in history if entry.action == "priority"]
    assert raised.changes == {"priority": ["normal", "urgent"]}
    assert raised.note == "client wrote 'СРОЧНО'"
    inbox.receive([message(3, "urgent!!")])
    assert (
        len([e for e in store.tickets.conversation("D0-000001")[2] if e.action == "priority"]) == 1
    )


def test_writing_after_resolution_reopens_without_the_old_resolution(
    inbox: Inbox, store: Store
) -> None:
    inbox.receive([HELLO])
    ticket = store.tickets.get("D0-000001")
    store.transact(writes_for(tickets.resolve(ticket, NOW, actor=AGENT, resolution="Done"), ticket))
    assert inbox.receive([message(2, "still broken")])[0].result == "reopened"
    reopened = store.tickets.get("D0-000001")
    assert (reopened.status, reopened.resolution, reopened.resolved_at) == (Status.OPEN, None, None)


def test_a_redelivery_stores_nothing_and_re_enqueues_what_the_first_enqueued(
    inbox: Inbox, store: Store, queue: MemoryQueue
) -> None:
    inbox.receive([HELLO])
    first = list(queue.jobs)
    assert inbox.receive([HELLO])[0].result == "duplicate"
    assert queue.jobs == first + first
    assert store.tickets.get("D0-000001").message_count == 1


def test_a_rating_counts_once_and_every_press_is_answered_at_once(
    inbox: Inbox, store: Store, queue: MemoryQueue
) -> None:
    inbox.receive([HELLO])
    press = ButtonPress(
        channel="telegram",
        event_id=f"tg:{BOT}:9",
        service_id=BOT,
        sender_id="111",
        data="csat:D0-000001:good",
        pressed_at=NOW,
        callback_query_id="q1",
    )
    rated = inbox.receive([press])[0]
    assert rated.result == "rated"
    assert rated.webhook_reply == {"method": "answerCallbackQuery", "callback_query_id": "q1"}
    second = replace(
        press, event_id=f"tg:{BOT}:10", data="csat:D0-000001:bad", callback_query_id="q2"
    )
    again = inbox.receive([second])[0]
    assert (again.result, again.webhook_reply["callback_query_id"]) == ("duplicate", "q2")  # type: ignore[index]
    assert store.tickets.get("D0-000001").csat["value"] == "good"  # type: ignore[index]
    stranger = replace(press, event_id=f"tg:{BOT}:11", sender_id="999")
    assert inbox.receive([stranger])[0].result == "ignored"


def test_statuses_move_forward_only_and_a_failure_keeps_its_reason(
    inbox: Inbox, store: Store
) -> None:
    inbox.receive([HELLO])
    _, messages, _ = store.tickets.conversation("D0-000001")
    ack = messages[-1]
    claimed = store.messages.claim(ack, NOW, NOW + timedelta(minutes=1))
    store.messages.finish(claimed, DeliveryState.SENT, NOW, provider_message_id="p-1")

    def status(value: str, error: str | None = None) -> None:
        inbox.receive(
            [
                DeliveryStatus(
                    channel="telegram",
                    event_id=f"s:{value}",
                    service_id=BOT,
                    provider_message_id="p-1",
                    recipient_id="111",
                    status=value,
                    at=NOW,
                    error=error,
                )
            ]
        )

    status("read")
    status("delivered")
    assert store.messages.get("D0-000001", ack.id).delivery == DeliveryState.READ  # type: ignore[union-attr]
    status("failed", "131026 Message undeliverable")
    failed = store.messages.get("D0-000001", ack.id)
    assert failed is not None
    assert (failed.delivery, failed.error) == (DeliveryState.FAILED, "131026 Message undeliverable")
    assert "delivery_failed" in store.tickets.get("D0-000001").flags
