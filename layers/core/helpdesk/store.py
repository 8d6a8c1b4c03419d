"""The DynamoDB store: the only module that knows keys and calls DynamoDB.

Single table, keys `PK`/`SK`, three overloaded GSIs, TTL on `expires_at`; the entity and
access-pattern charts are in docs/data-model.md. In one line each:

    ticket    TICKET#<number> / #TICKET    GSI1 DIR#<d>, GSI2 AGENT#<a>: <status>#<created>#<n>
                                           GSI3 STATUS#<s>: <created>#<n>
    message   TICKET#<number> / MSG#<time-ordered id>   (queued ones also GSI3 OUTBOX)
    history   TICKET#<number> / HIST#<at>#<id>
    counter   COUNTER#<direction> / #COUNTER
    customer  CUSTOMER#<id> / #CUSTOMER
    identity  IDENTITY#<kind>#<address> / #IDENTITY   (phone, telegram: who and open tickets)
    dedupe    EVENT#<provider event id> / #EVENT       (TTL: longer than provider retries)
    call      CALL#<provider>#<call id> / #CALL        (merged timeline; GSI3 CALLBACK#<d>)
    pmsg      PMSG#<channel>#<provider msg id> / #PMSG (delivery statuses, pricing)

A ticket and everything said and done on it share one partition, so reading a ticket with
its conversation and history is one Query. Ticket numbers come from an atomic counter per
direction. Every ticket write is conditional: a put of a changed ticket requires the version
the change was computed from (optimistic locking), a new ticket requires that its key is new.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from helpdesk.errors import BadRequest, Conflict, NotFound
from helpdesk.models import (
    Customer,
    DeliveryState,
    HistoryEntry,
    Message,
    Status,
    Ticket,
    iso,
    time_ordered_id,
)
from helpdesk.settings import get_settings

STATUS_ORDER = [Status.NEW, Status.OPEN, Status.ON_HOLD, Status.RESOLVED, Status.CLOSED]
MAX_PAGES_PER_LIST = 10  # bound the reads one list request may make when filters are sparse
OUTBOX = "OUTBOX"
PROVIDER_MESSAGE_DAYS = 400  # finance reads pricing per month; keep a year and a bit

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# ---- keys: one builder per entity ---------------------------------------------------------


def ticket_key(ticket_id: str) -> dict[str, str]:
    return {"PK": f"TICKET#{ticket_id}", "SK": "#TICKET"}


def counter_key(direction: str) -> dict[str, str]:
    return {"PK": f"COUNTER#{direction}", "SK": "#COUNTER"}


def customer_key(customer_id: str) -> dict[str, str]:
    return {"PK": f"CUSTOMER#{customer_id}", "SK": "#CUSTOMER"}


def identity_key(kind: str, address: str) -> dict[str, str]:
    return {"PK": f"IDENTITY#{kind}#{address}", "SK": "#IDENTITY"}


def call_key(provider: str, call_id: str) -> dict[str, str]:
    return {"PK": f"CALL#{provider}#{call_id}", "SK": "#CALL"}


def event_key(event_id: str) -> dict[str, str]:
    return {"PK": f"EVENT#{event_id}", "SK": "#EVENT"}


def provider_message_key(channel: str, provider_message_id: str) -> dict[str, str]:
    return {"PK": f"PMSG#{channel}#{provider_message_id}", "SK": "#PMSG"}


def message_key(ticket_id: str, message_id: str) -> dict[str, str]:
    # Message ids sort by time (models.time_ordered_id), so the conversation reads in order.
    return {"PK": f"TICKET#{ticket_id}", "SK": f"MSG#{message_id}"}


def history_key(entry: HistoryEntry) -> dict[str, str]:
    return {"PK": f"TICKET#{entry.ticket_id}", "SK": f"HIST#{iso(entry.at)}#{entry.id}"}


def _status_sort_key(ticket: Ticket) -> str:
    return f"{ticket.status.value}#{iso(ticket.created_at)}#{ticket.id}"


# ---- items ----------------------------------------------------------------------------


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty attributes: DynamoDB items stay small (write units) and sparse."""
    return {name: value for name, value in data.items() if value not in (None, [], {})}


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    item = {**ticket_key(ticket.id), "type": "ticket", **_compact(ticket.model_dump(mode="json"))}
    item["GSI1PK"] = f"DIR#{ticket.direction}"
    item["GSI1SK"] = _status_sort_key(ticket)
    if ticket.assignee:
        item["GSI2PK"] = f"AGENT#{ticket.assignee}"
        item["GSI2SK"] = _status_sort_key(ticket)
    item["GSI3PK"] = f"STATUS#{ticket.status.value}"
    item["GSI3SK"] = f"{iso(ticket.created_at)}#{ticket.id}"
    return item


def message_item(message: Message) -> dict[str, Any]:
    key = message_key(message.ticket_id, message.id)
    item = {**key, "type": "message", **_compact(message.model_dump(mode="json"))}
    if message.delivery == DeliveryState.QUEUED:
        # Sparse outbox index: only messages waiting for their first send attempt are in it,
        # so the sweep reads exactly the stuck ones. The dispatcher's claim removes it.
        item["GSI3PK"] = OUTBOX
        item["GSI3SK"] = f"{message.id}#{message.ticket_id}"
    return item


def history_item(entry: HistoryEntry) -> dict[str, Any]:
    return {**history_key(entry), "type": "history", **_compact(entry.model_dump(mode="json"))}


def identity_item(
    kind: str, address: str, customer_id: str, open_tickets: dict[str, str], **flags: bool
) -> dict[str, Any]:
    """Who writes from an address, and their open ticket per `<channel>:<direction>`."""
    return {
        **identity_key(kind, address),
        "type": "identity",
        "customer_id": customer_id,
        "open": open_tickets,
        **flags,
    }


def customer_item(customer: Customer) -> dict[str, Any]:
    return {
        **customer_key(customer.id),
        "type": "customer",
        **_compact(customer.model_dump(mode="json")),
    }


_KEY_ATTRIBUTES = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "type")


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in _KEY_ATTRIBUTES}


# What the ticket indexes project (template.yaml's NonKeyAttributes say the same; a test
# checks). Attributes a client's message changes (updated_at, version, message_count,
# last_customer_message_at) are left out on purpose: a message then writes no index entry,
# which keeps an inbound message at 6 write units. A list shows summaries; GET shows all.
SUMMARY_FIELDS = (
    "id",
    "direction",
    "channel",
    "customer_id",
    "status",
    "category",
    "topic",
    "priority",
    "assignee",
    "subject",
    "created_at",
    "first_response_at",
    "resolved_at",
    "flags",
)
INDEX_EXTRA_FIELDS = ("ticket_id",)  # outbox and callback entries name their ticket


def summary_from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in SUMMARY_FIELDS} | {"flags": item.get("flags", [])}


def ticket_from_item(item: dict[str, Any]) -> Ticket:
    return Ticket.model_validate(_fields(item))


def message_from_item(item: dict[str, Any]) -> Message:
    return Message.model_validate(_fields(item))


def history_from_item(item: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry.model_validate(_fields(item))


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return _numbers_to_int(plain)


def _numbers_to_int(value: Any) -> Any:
    """DynamoDB returns Decimal; the domain only stores whole numbers."""
    if isinstance(value, dict):
        return {key: _numbers_to_int(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_numbers_to_int(inner) for inner in value]
    if value.__class__.__name__ == "Decimal":
        return int(value)
    return value


# ---- writes ----------------------------------------------------------------------------


@dataclass
class Write:
    """One item of a transaction and the error its failed condition means."""

    request: dict[str, Any]  # {"Put": {...}} / {"Update": {...}} / {"ConditionCheck": {...}}
    on_condition_failed: Exception | None = None


def put(
    item: dict[str, Any],
    condition: str | None = None,
    values: dict[str, Any] | None = None,
    on_condition_failed: Exception | None = None,
) -> Write:
    body: dict[str, Any] = {"Item": to_dynamo(item)}
    if condition:
        body["ConditionExpression"] = condition
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return Write({"Put": body}, on_condition_failed)


def put_new(item: dict[str, Any], on_condition_failed: Exception | None = None) -> Write:
    """A put that must not overwrite: ids are unique, a second write is a bug or a retry."""
    return put(item, "attribute_not_exists(PK)", None, on_condition_failed)


def update(
    key: dict[str, str],
    expression: str,
    values: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
    condition: str | None = None,
    on_condition_failed: Exception | None = None,
) -> Write:
    body: dict[str, Any] = {"Key": to_dynamo(key), "UpdateExpression": expression}
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    if names:
        body["ExpressionAttributeNames"] = names
    if condition:
        body["ConditionExpression"] = condition
    return Write({"Update": body}, on_condition_failed)


def new_ticket_write(ticket: Ticket) -> Write:
    return put_new(ticket_item(ticket), Conflict(f"ticket {ticket.id} already exists"))


def changed_ticket_write(ticket: Ticket, expected_version: int) -> Write:
    # Timeline: A and B both read version 3. A writes version 4 with condition version = 3.
    # B's write (also computed from 3) now fails the condition instead of silently undoing
    # A's change; B gets 409 and re-reads.
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


class TransactionFailed(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons


@dataclass
class Store:
    table_name: str | None = None
    client: Any = None
    consistent_reads: bool = True
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def table(self) -> str:
        return self.table_name or get_settings().table_name

    @property
    def dynamodb(self) -> Any:
        if self.client is None:
            self.client = boto3.client("dynamodb")
        return self.client

    # -- generic ------------------------------------------------------------------------

    def get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.table, Key=to_dynamo(key), ConsistentRead=self.consistent_reads
        )
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def transact(self, writes: Sequence[Write]) -> None:
        """All writes or none. A failed condition raises the error its write names."""
        requests = []
        for write in writes:
            kind, body = next(iter(write.request.items()))
            requests.append({kind: {"TableName": self.table, **body}})
        try:
            if len(requests) == 1 and "ConditionCheck" not in requests[0]:
                self._single_write(requests[0])
            else:
                self.dynamodb.transact_write_items(TransactItems=requests)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                raise writes[0].on_condition_failed or TransactionFailed(
                    ["ConditionalCheckFailed"]
                ) from error
            if code != "TransactionCanceledException":
                raise
            reasons = [
                reason.get("Code", "None")
                for reason in error.response.get("CancellationReasons", [])
            ]
            for write, reason in zip(writes, reasons, strict=False):
                if reason == "ConditionalCheckFailed" and write.on_condition_failed:
                    raise write.on_condition_failed from error
            raise TransactionFailed(reasons) from error

    def _single_write(self, request: dict[str, Any]) -> None:
        """One item needs no transaction: half the write units, same condition semantics."""
        kind, body = next(iter(request.items()))
        if kind == "Put":
            self.dynamodb.put_item(**body)
        elif kind == "Update":
            self.dynamodb.update_item(**body)
        else:
            raise ValueError(f"cannot write {kind} alone")

    # -- counters -----------------------------------------------------------------------

    def next_ticket_number(self, direction: str) -> str:
        """D0-000123: atomic per direction, never reused (a failed create leaves a gap)."""
        response = self.dynamodb.update_item(
            TableName=self.table,
            Key=to_dynamo(counter_key(direction)),
            UpdateExpression="ADD #value :one",
            ExpressionAttributeNames={"#value": "value"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        number = int(response["Attributes"]["value"]["N"])
        return f"{direction.upper()}-{number:06d}"

    # -- tickets ------------------------------------------------------------------------

    def get_ticket(self, ticket_id: str) -> Ticket:
        item = self.get(ticket_key(ticket_id))
        if item is None:
            raise NotFound(f"ticket {ticket_id} not found", ticket_id=ticket_id)
        return ticket_from_item(item)

    def get_conversation(self, ticket_id: str) -> tuple[Ticket, list[Message], list[HistoryEntry]]:
        """The ticket, its messages and its history: one partition, one Query (paged)."""
        items = list(
            self._query_all(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket_id}"}},
            )
        )
        ticket = next((ticket_from_item(i) for i in items if i["SK"] == "#TICKET"), None)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found", ticket_id=ticket_id)
        messages = [message_from_item(i) for i in items if i["SK"].startswith("MSG#")]
        history = [history_from_item(i) for i in items if i["SK"].startswith("HIST#")]
        return ticket, messages, history

    def get_message(self, ticket_id: str, message_id: str) -> Message | None:
        item = self.get(message_key(ticket_id, message_id))
        return message_from_item(item) if item else None

    def queued_before(self, cutoff: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(ticket id, message id) of messages still waiting for a first send since `cutoff`."""
        response = self.dynamodb.query(
            TableName=self.table,
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :outbox AND GSI3SK < :cutoff",
            ExpressionAttributeValues={
                ":outbox": {"S": OUTBOX},
                ":cutoff": {"S": time_ordered_id(cutoff)},
            },
            ProjectionExpression="ticket_id, id",
            Limit=limit,
        )
        return [(i["ticket_id"]["S"], i["id"]["S"]) for i in response.get("Items", [])]

    def record_provider_status(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        entry: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any] | None:
        """Append a provider's status to its message record once; None if already recorded.

        The record is an upsert: a status that overtakes our own 'sent' bookkeeping is kept,
        and the dispatcher adds the ticket and message ids to the same item.
        """
        values = to_dynamo(
            {
                ":type": "provider_message",
                ":empty": [],
                ":entry": [entry],
                ":now": now.isoformat(),
                ":expires": int(now.timestamp()) + PROVIDER_MESSAGE_DAYS * 86400,
                ":status": status,
            }
        )
        values[":seen"] = {"SS": [status]}
        try:
            response = self.dynamodb.update_item(
                TableName=self.table,
                Key=to_dynamo(provider_message_key(channel, provider_message_id)),
                UpdateExpression=(
                    "SET #type = :type, updated_at = :now, "
                    "statuses = list_append(if_not_exists(statuses, :empty), :entry), "
                    "expires_at = if_not_exists(expires_at, :expires) ADD seen :seen"
                ),
                # A redelivered status (same message, same status) changes nothing.
                ConditionExpression="attribute_not_exists(seen) OR NOT contains(seen, :status)",
                ExpressionAttributeNames={"#type": "type"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return from_dynamo(response["Attributes"])

    def _query_all(self, **query: Any) -> Iterable[dict[str, Any]]:
        paginator = self.dynamodb.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table, ConsistentRead=self.consistent_reads, **query
        ):
            for item in page.get("Items", []):
                yield from_dynamo(item)

    def list_tickets(self, query: TicketQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of tickets matching the query, and an opaque cursor for the next one."""
        partitions = query.partitions()
        position = decode_cursor(query.cursor, len(partitions))
        tickets: list[dict[str, Any]] = []
        pages = 0
        index, start_key = position
        while index < len(partitions) and len(tickets) < query.limit:
            request = partitions[index].request(query, query.limit - len(tickets))
            if start_key:
                request["ExclusiveStartKey"] = start_key
            response = self.dynamodb.query(TableName=self.table, **request)
            pages += 1
            tickets.extend(summary_from_item(from_dynamo(item)) for item in response["Items"])
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                index, start_key = index + 1, None
            if pages >= MAX_PAGES_PER_LIST:
                break
        more = index < len(partitions)
        return tickets, encode_cursor(index, start_key) if more else None


# ---- listing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    index_name: str
    pk_attribute: str
    sk_attribute: str
    pk: str
    sk_prefix: str | None

    def request(self, query: TicketQuery, limit: int) -> dict[str, Any]:
        condition = f"{self.pk_attribute} = :pk"
        values: dict[str, Any] = {":pk": {"S": self.pk}}
        if self.sk_prefix:
            condition += f" AND begins_with({self.sk_attribute}, :prefix)"
            values[":prefix"] = {"S": self.sk_prefix}
        filters, names = [], {}
        for attribute, value in query.filters(self).items():
            if value == "none":
                filters.append(f"attribute_not_exists(#{attribute})")
            else:
                filters.append(f"#{attribute} = :{attribute}")
                values[f":{attribute}"] = {"S": value}
            names[f"#{attribute}"] = attribute
        request: dict[str, Any] = {
            "IndexName": self.index_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": query.order == "asc",
            "Limit": max(limit, 1) if not filters else max(limit * 4, 25),
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
            request["ExpressionAttributeNames"] = names
        return request


@dataclass(frozen=True)
class TicketQuery:
    status: str | None = None
    direction: str | None = None
    assignee: str | None = None  # 'none' lists unassigned tickets
    category: str | None = None
    priority: str | None = None
    limit: int = 25
    order: str = "desc"
    cursor: str | None = None

    def partitions(self) -> list[Partition]:
        """Which key ranges to read, in order: active statuses come first."""
        statuses = [self.status] if self.status else [status.value for status in STATUS_ORDER]
        if self.assignee and self.assignee != "none":
            return [
                Partition("GSI2", "GSI2PK", "GSI2SK", f"AGENT#{self.assignee}", f"{status}#")
                for status in statuses
            ]
        if self.direction:
            return [
                Partition("GSI1", "GSI1PK", "GSI1SK", f"DIR#{self.direction}", f"{status}#")
                for status in statuses
            ]
        return [
            Partition("GSI3", "GSI3PK", "GSI3SK", f"STATUS#{status}", None) for status in statuses
        ]

    def filters(self, partition: Partition) -> dict[str, str]:
        """Conditions the key does not already enforce."""
        wanted = {
            "direction": self.direction if partition.index_name != "GSI1" else None,
            "assignee": self.assignee if self.assignee == "none" else None,
            "category": self.category,
            "priority": self.priority,
        }
        return {name: value for name, value in wanted.items() if value}


def encode_cursor(index: int, start_key: dict[str, Any] | None) -> str:
    raw = json.dumps({"p": index, "k": start_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, partitions: int) -> tuple[int, dict[str, Any] | None]:
    if not cursor:
        return 0, None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        index, start_key = int(data["p"]), data["k"]
        if not 0 <= index < partitions or not (start_key is None or isinstance(start_key, dict)):
            raise ValueError("cursor out of range")
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise BadRequest("invalid cursor: pass back the cursor of the previous page") from error
    return index, start_key
