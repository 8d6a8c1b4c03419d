"""Tickets: reading one with its conversation, listing them, and committing a change.

`writes_for` is the one place a `TicketChange` becomes writes (the ticket, its new messages
and history entries): whatever later rides on every ticket change rides here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.errors import BadRequest, Conflict, NotFound
from helpdesk.models import HistoryEntry, Message, Status, Ticket, iso
from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.items import (
    history_from_item,
    history_item,
    message_from_item,
    message_item,
    summary_from_item,
    ticket_from_item,
    ticket_item,
    timer_item,
)
from helpdesk.store.table import Table, Write, put, put_new, update
from helpdesk.tickets import TicketChange

STATUS_ORDER = [Status.NEW, Status.OPEN, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED]
MAX_PAGES_PER_LIST = 12  # bound the reads one list request may make when filters are sparse
MAX_CUSTOMER_TICKETS = 500  # a customer page reads at most this many of their tickets


def new_ticket(ticket: Ticket) -> Write:
    return put_new(ticket_item(ticket), Conflict(f"ticket {ticket.id} already exists"))


def changed_ticket(ticket: Ticket, expected_version: int) -> Write:
    # Timeline: A and B both read version 3. A writes version 4 with condition version = 3.
    # B's write (also computed from 3) now fails the condition instead of silently undoing
    # A's change; B re-reads (a webhook retries, an agent gets 409).
    return put(
        ticket_item(ticket),
        "attribute_exists(PK) AND version = :expected",
        {":expected": expected_version},
        Conflict(
            f"ticket {ticket.id} was changed by someone else (expected version "
            f"{expected_version}); reload it and try again",
            expected_version=expected_version,
        ),
    )


def new_message(message: Message) -> Write:
    return put_new(message_item(message))


def new_history(entry: HistoryEntry) -> Write:
    return put_new(history_item(entry))


def writes_for(change: TicketChange, before: Ticket | None) -> list[Write]:
    """The writes of one ticket change: `before` None means a new ticket.

    The ticket's SLA timer (when the sweep must look at it) is its own small item, written
    only when that moment changes, so most changes cost no extra write.
    """
    ticket = (
        new_ticket(change.ticket)
        if before is None
        else changed_ticket(change.ticket, before.version)
    )
    writes = [
        ticket,
        *(new_message(message) for message in change.messages),
        *(new_history(entry) for entry in change.history),
    ]
    if (before.attention_at if before else None) != change.ticket.attention_at:
        writes.append(put(timer_item(change.ticket)))
    return writes


class Tickets:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, ticket_id: str) -> Ticket:
        item = self.table.get(keys.ticket(ticket_id))
        if item is None:
            raise NotFound(f"ticket {ticket_id} not found", ticket_id=ticket_id)
        return ticket_from_item(item)

    def get_many(self, ticket_ids: list[str]) -> list[Ticket]:
        """Tickets by number (BatchGetItem), in no particular order; unknown ones left out."""
        items = self.table.get_many([keys.ticket(ticket_id) for ticket_id in ticket_ids])
        return [ticket_from_item(item) for item in items]

    def find(self, ticket_id: str) -> Ticket | None:
        item = self.table.get(keys.ticket(ticket_id))
        return ticket_from_item(item) if item else None

    def due_for_attention(self, now: datetime, limit: int = 1000) -> list[str]:
        """Tickets whose SLA timer has come: every shard of the sparse timer index, by key.

        Each shard gives at most its share of `limit`, oldest first, so a backlog in one shard
        never starves the others; what is left waits for the next run.
        """
        share = max(1, limit // keys.DUE_SHARDS)
        found: list[str] = []
        for shard in range(keys.DUE_SHARDS):
            items, _ = self.table.query_page(
                IndexName="GSI3",
                KeyConditionExpression="GSI3PK = :shard AND GSI3SK <= :now",
                ExpressionAttributeValues={
                    ":shard": {"S": keys.due_index(shard)},
                    ":now": {"S": f"{iso(now)}#~"},
                },
                ProjectionExpression="ticket_id",
                Limit=share,
            )
            found += [str(item["ticket_id"]) for item in items]
        return found

    def conversation(self, ticket_id: str) -> tuple[Ticket, list[Message], list[HistoryEntry]]:
        """The ticket, its messages and its history: one partition, one Query (paged)."""
        items = list(
            self.table.query_all(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.ticket_partition(ticket_id)}},
            )
        )
        ticket = next((ticket_from_item(i) for i in items if i["SK"] == "#TICKET"), None)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found", ticket_id=ticket_id)
        messages = [message_from_item(i) for i in items if i["SK"].startswith("MSG#")]
        history = [history_from_item(i) for i in items if i["SK"].startswith("HIST#")]
        return ticket, messages, history

    def of_customer(self, customer_id: str, limit: int = MAX_CUSTOMER_TICKETS) -> list[Ticket]:
        """A customer's tickets, newest first (GSI4 holds keys only; the tickets by BatchGet)."""
        ticket_keys: list[dict[str, str]] = []
        for item in self.table.query_all(
            IndexName="GSI4",
            KeyConditionExpression="GSI4PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.customer_index(customer_id)}},
            ScanIndexForward=False,
        ):
            ticket_keys.append({"PK": item["PK"], "SK": item["SK"]})
            if len(ticket_keys) >= limit:
                break
        found = [ticket_from_item(item) for item in self.table.get_many(ticket_keys)]
        return sorted(found, key=lambda t: (t.created_at, t.id), reverse=True)

    def created_in(
        self, directions: list[str], start: str, end: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        return created_in(self.table, directions, start, end, cursor, limit)

    def page(self, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ticket summaries in creation order, and a cursor for the next page."""
        if query.customer:
            return self._list_of_customer(query)
        return _Listing(self.table, query).page()

    def _list_of_customer(self, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None]:
        assert query.customer
        tickets = [summary_from_item(ticket_item(t)) for t in self.of_customer(query.customer)]
        matching = [t for t in tickets if query.matches(t)]
        matching.sort(key=_created, reverse=query.order == "desc")
        after = _decode_customer_cursor(query.cursor)
        if after is not None:
            if query.order == "desc":
                matching = [t for t in matching if _created(t) < after]
            else:
                matching = [t for t in matching if _created(t) > after]
        page = matching[: query.limit]
        more = len(matching) > query.limit
        return page, _encode({"c": _created(page[-1])}) if more and page else None


# ---- listing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One key range of one index, read in creation order."""

    index_name: str
    pk_attribute: str
    sk_attribute: str
    pk: str
    sk_prefix: str | None


@dataclass(frozen=True)
class TicketQuery:
    status: str | None = None
    direction: str | None = None
    assignee: str | None = None  # a user id, or 'none' for unassigned tickets
    category: str | None = None
    priority: str | None = None
    channel: str | None = None
    flag: str | None = None
    customer: str | None = None
    limit: int = 25
    order: str = "desc"
    cursor: str | None = None
    sort: str = "created"  # or "due": waiting for an answer, soonest due first

    def partitions(self) -> list[Partition]:
        """Which key ranges hold the wanted tickets: one per status, merged by creation."""
        if self.sort == "due":
            if not self.direction:
                raise BadRequest("sort=due lists one direction's queue: give direction")
            return [Partition("GSI5", "GSI5PK", "GSI5SK", keys.queue_index(self.direction), None)]
        statuses = [self.status] if self.status else [status.value for status in STATUS_ORDER]
        if self.assignee and self.assignee != "none":
            return [
                Partition("GSI2", "GSI2PK", "GSI2SK", keys.agent_index(self.assignee), f"{s}#")
                for s in statuses
            ]
        if self.direction:
            return [
                Partition("GSI1", "GSI1PK", "GSI1SK", keys.direction_index(self.direction), f"{s}#")
                for s in statuses
            ]
        return [Partition("GSI3", "GSI3PK", "GSI3SK", keys.status_index(s), None) for s in statuses]

    def filters(self, partition: Partition) -> dict[str, str]:
        """Conditions the key does not already enforce: attribute -> wanted value."""
        wanted = {
            "direction": self.direction if partition.index_name not in ("GSI1", "GSI5") else None,
            "status": self.status if partition.index_name == "GSI5" else None,
            # an agent's own index holds only their tickets; every other index needs the filter
            "assignee": self.assignee
            if self.assignee == "none" or partition.index_name != "GSI2"
            else None,
            "category": self.category,
            "priority": self.priority,
            "channel": self.channel,
            "flags": self.flag,
        }
        return {name: value for name, value in wanted.items() if value}

    def matches(self, summary: dict[str, Any]) -> bool:
        """The same conditions in Python, for lists built without an index."""
        checks = {
            "status": self.status,
            "direction": self.direction,
            "category": self.category,
            "priority": self.priority,
            "channel": self.channel,
        }
        if any(value and summary.get(name) != value for name, value in checks.items()):
            return False
        if self.assignee == "none" and summary.get("assignee"):
            return False
        if self.assignee and self.assignee != "none" and summary.get("assignee") != self.assignee:
            return False
        return not (self.flag and self.flag not in (summary.get("flags") or []))


def _created(summary: dict[str, Any]) -> str:
    return f"{summary['created_at']}#{summary['id']}"


class _Listing:
    """Merge the per-status ranges of an index into one creation-ordered page.

    Each range is sorted by creation; the page takes the newest (or oldest) head of all ranges
    until it holds `limit` tickets, reading more of a range only when its buffer runs dry. The
    cursor remembers, per range, the last ticket the page consumed (or that it is exhausted).
    """

    def __init__(self, table: Table, query: TicketQuery) -> None:
        self.table = table
        self.query = query
        self.partitions = query.partitions()
        self.starts = _decode_cursor(query.cursor, self.partitions)
        self.resume = list(self.starts)
        self.buffers: list[list[dict[str, Any]]] = [[] for _ in self.partitions]
        self.done = [start == _DONE for start in self.starts]
        self.pages = 0

    def _order_key(self, index: int) -> str:
        head = self.buffers[index][0]
        return str(head["GSI5SK"]) if self.query.sort == "due" else _created(head)

    def page(self) -> tuple[list[dict[str, Any]], str | None]:
        newest_first = self.query.order == "desc" and self.query.sort != "due"
        found: list[dict[str, Any]] = []
        more = False
        while True:
            if not self._fill():
                more = True  # out of read budget: the cursor picks up where we stopped
                break
            heads = [i for i, buffer in enumerate(self.buffers) if buffer]
            if not heads:
                break
            pick = (max if newest_first else min)(heads, key=self._order_key)
            if len(found) == self.query.limit:
                more = True
                break
            item = self.buffers[pick].pop(0)
            self.resume[pick] = [item[self.partitions[pick].sk_attribute], item["PK"]]
            found.append(summary_from_item(item))
        for index, done in enumerate(self.done):
            if done and not self.buffers[index]:
                self.resume[index] = _DONE
        return found, _encode({"p": self.resume}) if more else None

    def _fill(self) -> bool:
        """Every range not exhausted has a head; False when the read budget ran out first."""
        for index, partition in enumerate(self.partitions):
            while not self.buffers[index] and not self.done[index]:
                if self.pages >= MAX_PAGES_PER_LIST:
                    return False
                self._read(index, partition)
        return True

    def _read(self, index: int, partition: Partition) -> None:
        filters = self.query.filters(partition)
        condition = f"{partition.pk_attribute} = :pk"
        values: dict[str, Any] = {":pk": partition.pk}
        if partition.sk_prefix:
            condition += f" AND begins_with({partition.sk_attribute}, :prefix)"
            values[":prefix"] = partition.sk_prefix
        expressions, names = [], {}
        for attribute, value in filters.items():
            names[f"#{attribute}"] = attribute
            if attribute == "assignee" and value == "none":
                expressions.append("attribute_not_exists(#assignee)")
            elif attribute == "flags":
                expressions.append("contains(#flags, :flags)")
                values[":flags"] = value
            else:
                expressions.append(f"#{attribute} = :{attribute}")
                values[f":{attribute}"] = value
        request: dict[str, Any] = {
            "IndexName": partition.index_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_dynamo(values),
            "ScanIndexForward": self.query.order == "asc" or self.query.sort == "due",
            "Limit": self.query.limit + 1 if not filters else max(self.query.limit * 4, 25),
        }
        if expressions:
            request["FilterExpression"] = " AND ".join(expressions)
            request["ExpressionAttributeNames"] = names
        start = self.starts[index]
        if isinstance(start, list):
            request["ExclusiveStartKey"] = to_dynamo(
                {
                    partition.pk_attribute: partition.pk,
                    partition.sk_attribute: start[0],
                    "PK": start[1],
                    "SK": "#TICKET",
                }
            )
        items, last = self.table.query_page(**request)
        self.pages += 1
        self.buffers[index].extend(items)
        if last is None:
            self.done[index] = True
        else:
            self.starts[index] = [last[partition.sk_attribute]["S"], last["PK"]["S"]]


_DONE = "done"
Position = list[str] | str | None  # [index sort key, PK] to resume after, _DONE, or None


def _encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as error:
        raise _bad_cursor() from error


def _bad_cursor() -> BadRequest:
    return BadRequest("invalid cursor: pass back the next_cursor of the previous page")


def _decode_cursor(cursor: str | None, partitions: list[Partition]) -> list[Position]:
    if not cursor:
        return [None] * len(partitions)
    data = _decode(cursor)
    positions = data.get("p") if isinstance(data, dict) else None
    if not isinstance(positions, list) or len(positions) != len(partitions):
        raise _bad_cursor()
    for position in positions:
        valid = (
            position is None
            or position == _DONE
            or (
                isinstance(position, list)
                and len(position) == 2
                and all(isinstance(part, str) and 0 < len(part) < 1024 for part in position)
            )
        )
        if not valid:
            raise _bad_cursor()
    return positions


def _decode_customer_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    data = _decode(cursor)
    after = data.get("c") if isinstance(data, dict) else None
    if not isinstance(after, str) or not after:
        raise _bad_cursor()
    return after


def marked_once(ticket_id: str, attribute: str, at: str) -> Write:
    """Set `attribute` (a time) on the ticket unless it is set: a side effect that must happen
    once (a notice) is claimed by this write before it is done."""
    return update(
        keys.ticket(ticket_id),
        "SET #mark = :at",
        {":at": at},
        {"#mark": attribute},
        "attribute_exists(PK) AND attribute_not_exists(#mark)",
    )


def unmarked(ticket_id: str, attribute: str) -> Write:
    """Undo `marked_once` when the side effect failed, so that it is tried again."""
    return update(keys.ticket(ticket_id), "REMOVE #mark", names={"#mark": attribute})


EXPORT_FIELDS = (
    "id",
    "direction",
    "channel",
    "status",
    "category",
    "topic",
    "priority",
    "assignee",
    "created_at",
    "first_response_at",
    "resolved_at",
    "flags",
    "our_client",
    "subject",
)


def created_in(
    table: Table,
    directions: list[str],
    start: str,
    end: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Summaries of the tickets created in [start, end] (UTC instants as text), one direction
    and status range of GSI1 after another, a page at a time: the export reads each ticket's
    index entry once, whatever the range."""
    position = _decode_export(cursor, len(directions))
    found: list[dict[str, Any]] = []
    d, s, after = position
    while d < len(directions) and len(found) < limit:
        status = STATUS_ORDER[s].value
        request: dict[str, Any] = {
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK BETWEEN :first AND :last",
            "ExpressionAttributeValues": to_dynamo(
                {
                    ":pk": keys.direction_index(directions[d]),
                    ":first": f"{status}#{start}",
                    ":last": f"{status}#{end}#~",
                }
            ),
            "Limit": limit - len(found),
        }
        if after:
            request["ExclusiveStartKey"] = to_dynamo(
                {
                    "GSI1PK": keys.direction_index(directions[d]),
                    "GSI1SK": after[0],
                    "PK": after[1],
                    "SK": "#TICKET",
                }
            )
        items, last = table.query_page(**request)
        found += [{name: item.get(name) for name in EXPORT_FIELDS} for item in items]
        if last:
            after = [last["GSI1SK"]["S"], last["PK"]["S"]]
            continue
        after = None
        s += 1
        if s == len(STATUS_ORDER):
            d, s = d + 1, 0
    more = d < len(directions)
    return found, _encode({"d": d, "s": s, "k": after}) if more else None


def _decode_export(cursor: str | None, directions: int) -> tuple[int, int, list[str] | None]:
    if not cursor:
        return 0, 0, None
    data = _decode(cursor)
    if not isinstance(data, dict):
        raise _bad_cursor()
    d, s, after = data.get("d"), data.get("s"), data.get("k")
    valid = (
        isinstance(d, int)
        and isinstance(s, int)
        and 0 <= d < directions
        and 0 <= s < len(STATUS_ORDER)
        and (
            after is None
            or (
                isinstance(after, list)
                and len(after) == 2
                and all(isinstance(part, str) and 0 < len(part) < 1024 for part in after)
            )
        )
    )
    if not valid:
        raise _bad_cursor()
    assert isinstance(d, int) and isinstance(s, int)
    return d, s, after
