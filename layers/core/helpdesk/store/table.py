"""The one table: reads, all-or-nothing writes, and what DynamoDB's errors mean to the core.

Writes are described as `Write` values (a Put, Update or ConditionCheck and the domain error
its failed condition means) and committed together by `Table.transact`; a single write goes
as a plain PutItem / UpdateItem (half the write units, same condition semantics).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import boto3
from botocore.exceptions import ClientError

from helpdesk.settings import get_settings
from helpdesk.store.codec import MAX_ITEM_BYTES, MAX_KEY_BYTES, from_dynamo, item_size, to_dynamo

logger = logging.getLogger(__name__)

KEY_ATTRIBUTES = frozenset(
    {"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK"}
)


@dataclass
class Write:
    """One item of a transaction and the error its failed condition means."""

    request: dict[str, Any]  # {"Put" | "Update" | "Delete" | "ConditionCheck": {...}}
    on_condition_failed: Exception | None = None

    @property
    def key(self) -> dict[str, Any]:
        body = next(iter(self.request.values()))
        return body.get("Key") or {name: body["Item"][name] for name in ("PK", "SK")}


CONFLICT_RETRIES = 3  # a transaction cancelled only by another one on the same item
CONFLICT_PAUSE = 0.02  # seconds: the first retry waits up to this, then twice as long


class TransactionFailed(Exception):
    """A condition failed that no write named an error for, or a race between transactions."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons


class PermanentWriteError(Exception):
    """The engine will never accept this write (too large, a bad value): do not retry it."""


def put(
    item: dict[str, Any],
    condition: str | None = None,
    values: dict[str, Any] | None = None,
    on_condition_failed: Exception | None = None,
    names: dict[str, str] | None = None,
) -> Write:
    body: dict[str, Any] = {"Item": to_dynamo(item)}
    if condition:
        body["ConditionExpression"] = condition
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    if names:
        body["ExpressionAttributeNames"] = names
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


def delete(key: dict[str, str]) -> Write:
    """An unconditional delete (deleting what is not there is not an error)."""
    return Write({"Delete": {"Key": to_dynamo(key)}})


def check(
    key: dict[str, str],
    condition: str,
    values: dict[str, Any] | None = None,
    on_condition_failed: Exception | None = None,
) -> Write:
    body: dict[str, Any] = {"Key": to_dynamo(key), "ConditionExpression": condition}
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return Write({"ConditionCheck": body}, on_condition_failed)


INDEX_KEYS = tuple(f"GSI{n}PK" for n in range(1, 6))


def estimated_write_units(writes: Sequence[Write]) -> int:
    """What DynamoDB bills for committing `writes` together, estimated without reading: a put
    1 unit per started KB of its item, an update or delete 1, doubled in a transaction, plus
    one per index entry a put carries (the cost report's estimate of the helpdesk's own
    usage; it cannot see an update's item size nor whether an index entry changed)."""
    units = indexed = 0
    for write in writes:
        kind, body = next(iter(write.request.items()))
        if kind == "Put":
            item = body["Item"]
            units += max(1, -(-item_size(item) // 1024))
            indexed += sum(1 for k in INDEX_KEYS if k in item)
        else:
            units += 1
    transactional = len(writes) > 1 or any("ConditionCheck" in w.request for w in writes)
    return units * (2 if transactional else 1) + indexed


def preflight(writes: Sequence[Write]) -> None:
    """Refuse, before any AWS call, a write the engine could never take (issue: a write that
    cannot land must not be retried, nor burn a ticket number first)."""
    for write in writes:
        kind, body = next(iter(write.request.items()))
        for name, value in write.key.items():
            size = len(next(iter(value.values())).encode())
            if size > MAX_KEY_BYTES:
                raise PermanentWriteError(f"key {name} is {size} bytes (limit {MAX_KEY_BYTES})")
        if kind == "Put" and item_size(body["Item"]) > MAX_ITEM_BYTES - 1024:
            raise PermanentWriteError(f"item {write.key} is larger than DynamoDB's 400 KB")


class Table:
    """The DynamoDB client and table name; the client is created lazily (tests pass moto's)."""

    def __init__(self, table_name: str | None = None, client: Any = None) -> None:
        self._table_name = table_name
        self._client = client
        self.consistent_reads = True

    @property
    def name(self) -> str:
        return self._table_name or get_settings().table_name

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    def get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.name, Key=to_dynamo(key), ConsistentRead=self.consistent_reads
        )
        item = response.get("Item")
        return from_dynamo(item) if item else None

    def get_many(self, keys: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
        """Items by key, up to 100 per call, in no particular order."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self.name: {
                    "Keys": [to_dynamo(key) for key in keys[start : start + 100]],
                    "ConsistentRead": self.consistent_reads,
                }
            }
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                found.extend(from_dynamo(item) for item in response["Responses"].get(self.name, []))
                pending = response.get("UnprocessedKeys") or {}
        return found

    def query_page(self, **query: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a Query: its items and DynamoDB's LastEvaluatedKey."""
        if "IndexName" not in query:
            query.setdefault("ConsistentRead", self.consistent_reads)
        response = self.client.query(TableName=self.name, **query)
        items = [from_dynamo(item) for item in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey")

    def query_all(self, **query: Any) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            if start:
                query["ExclusiveStartKey"] = start
            items, start = self.query_page(**query)
            yield from items
            if not start:
                return

    def update_returning(self, write: Write, returning: str = "ALL_NEW") -> dict[str, Any] | None:
        """One UpdateItem that answers the item; None when its condition failed."""
        body = dict(write.request["Update"])
        try:
            response = self.client.update_item(TableName=self.name, ReturnValues=returning, **body)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            if permanent := _permanent(error):
                raise permanent from error
            raise
        return from_dynamo(response.get("Attributes") or {})

    def put_many(self, items: Sequence[dict[str, Any]]) -> None:
        """Unconditional puts, 25 to a BatchWriteItem, retrying what DynamoDB leaves over
        (imports and backfills; never for changes that need a condition)."""
        for start in range(0, len(items), 25):
            pending = [{"PutRequest": {"Item": to_dynamo(i)}} for i in items[start : start + 25]]
            for attempt in range(10):
                response = self.client.batch_write_item(RequestItems={self.name: pending})
                pending = (response.get("UnprocessedItems") or {}).get(self.name, [])
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            if pending:
                raise RuntimeError(f"DynamoDB left {len(pending)} items unwritten")

    def write_or_existing(self, write: Write) -> dict[str, Any] | None:
        """One conditional write; None when it landed, else the item that stopped it (one
        call either way: DynamoDB answers the old item with the refusal)."""
        kind, body = next(iter(write.request.items()))
        call = self.client.put_item if kind == "Put" else self.client.update_item
        try:
            call(TableName=self.name, ReturnValuesOnConditionCheckFailure="ALL_OLD", **body)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                old: Any = error.response.get("Item") or {}
                return from_dynamo(old)
            if permanent := _permanent(error):
                raise permanent from error
            raise
        return None

    def export(self, table_arn: str, bucket: str, prefix: str, token: str) -> str:
        """Start DynamoDB's export of the table (as of now, from point-in-time recovery) to
        S3 in DynamoDB JSON; the same `token` within 8 hours starts nothing new. The export's
        ARN."""
        answer = self.client.export_table_to_point_in_time(
            TableArn=table_arn,
            S3Bucket=bucket,
            S3Prefix=prefix,
            ExportFormat="DYNAMODB_JSON",
            ClientToken=token,
        )
        return str(answer["ExportDescription"]["ExportArn"])

    def transact(self, writes: Sequence[Write]) -> None:
        """All writes or none. A failed condition raises the error its write names."""
        preflight(writes)
        requests = []
        for write in writes:
            kind, body = next(iter(write.request.items()))
            requests.append({kind: {"TableName": self.name, **body}})
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                self._send(requests)
                return
            except ClientError as error:
                if attempt < CONFLICT_RETRIES and _only_conflicts(error):
                    # Cancelled whole because another transaction held one of the items (a
                    # report counters item two changes of one direction share): nothing was
                    # written, so the same writes go again, their conditions checked afresh.
                    time.sleep(random.uniform(0, CONFLICT_PAUSE * 2**attempt))
                    continue
                self._raise(writes, error)

    def _send(self, requests: list[dict[str, Any]]) -> None:
        if len(requests) == 1 and "ConditionCheck" not in requests[0]:
            self._single_write(requests[0])
        else:
            self.client.transact_write_items(TransactItems=requests)

    def _raise(self, writes: Sequence[Write], error: ClientError) -> NoReturn:
        """The domain error a failed write means."""
        code = error.response["Error"]["Code"]
        if code == "ConditionalCheckFailedException":
            raise writes[0].on_condition_failed or TransactionFailed(
                ["ConditionalCheckFailed"]
            ) from error
        if code != "TransactionCanceledException":
            if permanent := _permanent(error):
                raise permanent from error
            raise error
        reasons = [
            reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])
        ]
        for write, reason in zip(writes, reasons, strict=False):
            if reason == "ConditionalCheckFailed" and write.on_condition_failed:
                raise write.on_condition_failed from error
        if "ValidationError" in reasons:
            raise PermanentWriteError(f"DynamoDB refused the write: {reasons}") from error
        raise TransactionFailed(reasons) from error

    def _single_write(self, request: dict[str, Any]) -> None:
        kind, body = next(iter(request.items()))
        if kind == "Put":
            self.client.put_item(**body)
        elif kind == "Update":
            self.client.update_item(**body)
        elif kind == "Delete":
            self.client.delete_item(**body)
        else:
            raise ValueError(f"cannot write {kind} alone")


def _only_conflicts(error: ClientError) -> bool:
    """Cancelled by a concurrent transaction and nothing else (no condition failed)."""
    code = error.response["Error"]["Code"]
    if code == "TransactionConflictException":
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
    return "TransactionConflict" in reasons and set(reasons) <= {"TransactionConflict", "None"}


def _permanent(error: ClientError) -> PermanentWriteError | None:
    """A ValidationException will fail the same way every time: say so, so nobody retries."""
    if error.response["Error"]["Code"] != "ValidationException":
        return None
    message = error.response["Error"].get("Message", "")
    logger.error("DynamoDB refused a write", extra={"reason": message})
    return PermanentWriteError(f"DynamoDB refused the write: {message}")
