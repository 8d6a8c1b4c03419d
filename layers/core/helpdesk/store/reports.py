"""Report counters and the complaints feed: written with a ticket's change, read by range.

A change's counters (`helpdesk.reports.moves`, grouped per item) become one `ADD` update per
item in the change's own transaction: the transaction lands once or not at all, and a
redelivered event is refused by its dedupe record or the ticket's version before it adds
anything, so counting is exactly once without markers of its own. Reports read the counters
of a range by key (one Query per month partition), never a ticket.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from helpdesk.models import Ticket, iso
from helpdesk.reports import Kind
from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.table import Table, Write, delete, put, update

COMPLAINT_DAYS = 400  # the feed keeps a complaint this long after it was marked
MAX_SUBJECT = 500


def counter_writes(
    direction: str,
    ticket_id: str,
    items: Mapping[tuple[Kind, date, str | None], Mapping[str, int]],
) -> list[Write]:
    """One unconditional `ADD` per counters item (created by its first `ADD`)."""
    writes = []
    for (kind, day, agent), counters in sorted(
        items.items(), key=lambda entry: (entry[0][0], entry[0][1], entry[0][2] or "")
    ):
        owner = agent if kind == "agent" and agent else keys.report_shard(ticket_id)
        names = {f"#c{index}": name for index, name in enumerate(counters)}
        values = {f":c{index}": delta for index, delta in enumerate(counters.values())}
        expression = "ADD " + ", ".join(f"#c{index} :c{index}" for index in range(len(counters)))
        writes.append(
            update(keys.report(direction, day.isoformat(), kind, owner), expression, values, names)
        )
    return writes


def complaint_writes(before: Ticket | None, after: Ticket, now: datetime) -> list[Write]:
    """The ticket joins the complaints feed when it becomes a complaint, leaves it when it
    stops being one (keyed by its opening, so marking it again overwrites, never doubles)."""
    was = before is not None and before.category == "complaint"
    now_complaint = after.category == "complaint"
    key = keys.complaint(after.direction, after.created_at, after.id)
    if now_complaint and not was:
        item = {
            **key,
            "type": "complaint",
            "ticket_id": after.id,
            "subject": after.subject[:MAX_SUBJECT],
            "channel": after.channel.value,
            "topic": after.topic,
            "customer_name": after.customer_name,
            "created_at": iso(after.created_at),
            "marked_at": iso(now),
            "expires_at": int(now.timestamp()) + COMPLAINT_DAYS * 86400,
        }
        return [put({name: value for name, value in item.items() if value is not None})]
    if was and not now_complaint:
        return [delete(key)]
    return []


@dataclass(frozen=True)
class CounterItem:
    kind: str
    day: date
    owner: str
    counters: dict[str, int]


def months(start: date, end: date) -> list[str]:
    months: list[str] = []
    day = start.replace(day=1)
    while day <= end:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


class Reports:
    def __init__(self, table: Table) -> None:
        self.table = table

    def counters(self, direction: str, start: date, end: date) -> Iterator[CounterItem]:
        """Every counters item of a direction from `start` to `end` (inclusive)."""
        for month in months(start, end):
            for item in self.table.query_all(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
                ExpressionAttributeValues=to_dynamo(
                    {
                        ":pk": keys.report_partition(direction, month),
                        ":first": start.isoformat(),
                        ":last": f"{end.isoformat()}#~",
                    }
                ),
            ):
                day, kind, owner = str(item["SK"]).split("#", 2)
                counters = {
                    name: int(value)
                    for name, value in item.items()
                    if name not in ("PK", "SK") and isinstance(value, int)
                }
                yield CounterItem(kind, date.fromisoformat(day), owner, counters)

    def complaints(self, direction: str, limit: int) -> list[dict[str, Any]]:
        """The newest complaints of a direction (by the ticket's opening), newest first."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_dynamo({":pk": keys.complaints_partition(direction)}),
            ScanIndexForward=False,
            Limit=limit,
        )
        hidden = ("PK", "SK", "type", "expires_at")
        return [
            {name: value for name, value in item.items() if name not in hidden} for item in items
        ]
