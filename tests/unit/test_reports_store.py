"""Report counters in the store: one ADD per item, complaints in and out of the feed, and a
transaction cancelled only by a concurrent one sent again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from helpdesk import tickets
from helpdesk.models import Actor, Category, Channel, Ticket
from helpdesk.reports import Kind
from helpdesk.store import Store
from helpdesk.store import keys as store_keys
from helpdesk.store.reports import complaint_writes, counter_writes
from helpdesk.store.table import Table, TransactionFailed, update

DAY = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEAD = Actor(user_id="lead", roles=frozenset({"lead"}))


def opened() -> Ticket:
    contact = tickets.Contact(
        direction="d0", channel=Channel.TELEGRAM, customer_id="c", subject="Грубый ответ"
    )
    return tickets.open_ticket("D0-000007", contact, AT, actor="customer").ticket


def test_counters_add_per_item_in_shards_and_per_agent(store: Store) -> None:
    moved: dict[tuple[Kind, date, str | None], dict[str, int]] = {
        ("open", DAY, None): {"opened": 1, "opened#hour#9": 1},
        ("agent", DAY, "alice"): {"replies": 2},
    }
    writes = counter_writes("d0", "D0-000007", moved)
    assert len(writes) == 2
    store.transact(writes)
    store.transact(counter_writes("d0", "D0-000007", moved))  # a second, different event
    found = {(i.kind, i.owner): i.counters for i in store.reports.counters("d0", DAY, DAY)}
    shard = store_keys.report_shard("D0-000007")
    assert found == {
        ("open", shard): {"opened": 2, "opened#hour#9": 2},
        ("agent", "alice"): {"replies": 4},
    }
    assert list(store.reports.counters("d1", DAY, DAY)) == []


def test_a_complaint_joins_the_feed_once_and_leaves_it_when_recategorised(store: Store) -> None:
    ticket = opened()
    complaint = tickets.update_fields(ticket, AT, actor=LEAD, category=Category.COMPLAINT).ticket
    store.transact(complaint_writes(ticket, complaint, AT))
    store.transact(complaint_writes(None, complaint, AT))  # marked again: same item
    assert complaint_writes(complaint, complaint, AT) == []
    (entry,) = store.reports.complaints("d0", 10)
    assert (entry["ticket_id"], entry["subject"]) == ("D0-000007", "Грубый ответ")
    question = tickets.update_fields(complaint, AT, actor=LEAD, category=Category.QUESTION).ticket
    store.transact(complaint_writes(complaint, question, AT))
    assert store.reports.complaints("d0", 10) == []


def cancelled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": reason} for reason in reasons],
        },
        "TransactWriteItems",
    )


class Flaky:
    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {}


def two_writes() -> list[Any]:
    return [update({"PK": "a", "SK": "b"}, "ADD n :n", {":n": 1}) for _ in range(2)]


def test_a_transaction_cancelled_by_a_concurrent_one_is_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("helpdesk.store.table.CONFLICT_PAUSE", 0)
    client = Flaky(cancelled("None", "TransactionConflict"))
    Table("t", client).transact(two_writes())
    assert client.calls == 2


def test_a_failed_condition_or_endless_conflicts_are_not_retried_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("helpdesk.store.table.CONFLICT_PAUSE", 0)
    client = Flaky(cancelled("ConditionalCheckFailed", "TransactionConflict"))
    with pytest.raises(TransactionFailed):
        Table("t", client).transact(two_writes())
    assert client.calls == 1
    client = Flaky(*[cancelled("TransactionConflict", "None") for _ in range(10)])
    with pytest.raises(TransactionFailed):
        Table("t", client).transact(two_writes())
    assert client.calls == 4
