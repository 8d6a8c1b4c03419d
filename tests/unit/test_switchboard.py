"""The switchboard's rules on the store over an in-process moto: one ticket per call in any
order, missed calls on the callback worklist, problem calls announced once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.jobs import ProblemCallNoticeJob
from helpdesk.models import Channel
from helpdesk.settings import DirectionConfig, HelpdeskConfig, Settings
from helpdesk.store import Store
from helpdesk.store.identities import new_identity
from helpdesk.telephony.base import CallEvent
from helpdesk.usecases.switchboard import Switchboard
from tests.unit.conftest import MemoryQueue

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SETTINGS = Settings(
    config=HelpdeskConfig(directions=[DirectionConfig(id="d1", phone_numbers=["+74957654321"])])
)


def event(kind: str, at: int, **values: object) -> CallEvent:
    base: dict[str, object] = {
        "provider": "generic",
        "call_id": "c1",
        "event_id": f"generic:c1:{kind}",
        "kind": kind,
        "at": T0 + timedelta(seconds=at),
        "from_number": "+79161234567",
        "to_number": "+74957654321",
    }
    return CallEvent(**{**base, **values})  # type: ignore[arg-type]


MISSED = [
    event("started", 0),
    event("ringing", 1, agent="101"),
    event("ended", 30, status="no-answer", answered=False),
]


@pytest.fixture
def switchboard(store: Store, queue: MemoryQueue) -> Switchboard:
    return Switchboard(store=store, queue=queue, settings=lambda: SETTINGS, clock=lambda: T0)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_missed_call_is_one_ticket_on_the_callback_worklist_in_any_order(
    switchboard: Switchboard, store: Store, order: tuple[int, ...]
) -> None:
    results = [switchboard.record(MISSED[i]).result for i in order]
    assert results[0] == "created" and set(results[1:]) == {"updated"}
    ticket = store.tickets.get("D1-000001")
    assert (ticket.channel, ticket.direction, ticket.assignee) == (Channel.PHONE, "d1", "101")
    assert {"missed_call", "needs_callback"} <= set(ticket.flags)
    items, _ = store.table.query_page(
        IndexName="GSI3",
        KeyConditionExpression="GSI3PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "CALLBACK#d1"}},
    )
    assert [item["ticket_id"] for item in items] == ["D1-000001"]
    assert switchboard.record(MISSED[order[0]]).result == "duplicate"


def test_a_caller_known_by_phone_is_the_same_customer(
    switchboard: Switchboard, store: Store
) -> None:
    store.transact([new_identity("phone", "+79161234567", "known-customer")])
    switchboard.record(MISSED[0])
    assert store.tickets.get("D1-000001").customer_id == "known-customer"


def test_a_long_call_is_announced_to_the_review_mailbox_once(
    switchboard: Switchboard, queue: MemoryQueue
) -> None:
    switchboard.record(event("answered", 5, agent="101"))
    switchboard.record(event("ended", 400, status="completed", duration_seconds=395))
    switchboard.record(event("ended", 400, status="completed", duration_seconds=395))
    notices = [job for job in queue.jobs if isinstance(job, ProblemCallNoticeJob)]
    assert len(notices) == 2  # once when flagged, again on the redelivery (sent at most once)
    assert {job.ticket_id for job in notices} == {"D1-000001"}
