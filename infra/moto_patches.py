"""Patches to moto's DynamoDB backend that the local stack needs; applied when it starts.

moto 5's `DynamoDBBackend.transact_write_items` deep-copies every table a transaction
touches before it starts and puts that copy back when any operation fails. On a shared,
long-lived engine that is wrong twice: the copy costs time in proportion to the table
(first contacts slowed down linearly with the number of tickets), and the restore throws
away every write other threads made while the transaction ran (a duplicate webhook's
failed transaction silently dropped an agent's comment).

The replacement below keeps moto's semantics (same validations, same cancellation reasons,
all or nothing) but its undo log holds only the items the transaction itself touches: a
copy of each one taken just before its operation, put back in reverse order on failure.
It relies on the engine being used by one thread at a time (infra/engine.py holds one lock
around every DynamoDB request), so no other write can land between an operation and its
undo.

Second, moto's Query on the table itself (not an index) gathers and sorts every item of the
table to keep those of one partition: reading one ticket cost time in proportion to all
tickets. The patched query hands moto only the partition asked for (same lock reasoning).

`apply()` is idempotent and returns a function that restores moto's originals.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


@dataclass
class ItemUndo:
    """Copies of the items a transaction touched, as they were before it touched them."""

    saved: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = field(
        default_factory=list
    )

    def remember(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        current = table.get_item(hash_key, range_key)
        self.saved.append((table, hash_key, range_key, copy.deepcopy(current)))

    def restore(self) -> None:
        for table, hash_key, range_key, item in reversed(self.saved):
            if item is None:
                table.delete_item(hash_key, range_key)
                if range_key is not None and not table.items.get(hash_key, True):
                    del table.items[hash_key]  # no empty partition left behind
            elif range_key is not None:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item  # type: ignore[assignment]
        self.saved.clear()


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems with an undo log of the touched items only."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = ItemUndo()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    try:
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            original_item: dict[str, Any] | None = None
            try:
                if op_type not in OPERATIONS:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                table = self.get_table(table_name)
                key = _key_of(table, op_type, op)
                target = (str(table_name), str(dict(sorted(key.items()))))
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)

                hash_key, range_key = self.get_keys_value(table, key)
                current = table.get_item(hash_key, range_key)
                condition = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if condition is not None:
                    check = get_filter_expression(condition, names, values)
                    if not check.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)

                if op_type != "ConditionCheck":
                    undo.remember(table, hash_key, range_key)
                if op_type == "Put":
                    self.put_item(
                        table_name,
                        op["Item"],
                        condition_expression=condition,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name,
                        key,
                        condition_expression=condition,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), original_item))
            except Exception as error:
                errors.append((type(error).__name__, str(error), original_item))
    except BaseException:
        undo.restore()
        raise
    if any(code is not None for code, _, _ in errors):
        undo.restore()
        raise TransactionCanceledException(errors)


def query_one_partition(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    """moto's Table.query, shown only the partition it reads when it reads the table."""
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name or hash_key is None:
        return _ORIGINAL["query"](self, hash_key, *args, **kwargs)
    everything = self.items
    partition = everything.get(hash_key)
    self.items = {hash_key: partition} if partition is not None else {}  # type: ignore[assignment]
    try:
        return _ORIGINAL["query"](self, hash_key, *args, **kwargs)
    finally:
        self.items = everything


_ORIGINAL: dict[str, Callable[..., Any]] = {}
_PATCHES: dict[str, tuple[type, Callable[..., Any]]] = {
    "transact_write_items": (DynamoDBBackend, transact_write_items),
    "query": (Table, query_one_partition),
}


def apply() -> Callable[[], None]:
    """Install the patches (once); the returned function puts moto's originals back."""
    for name, (owner, replacement) in _PATCHES.items():
        if name not in _ORIGINAL:
            _ORIGINAL[name] = getattr(owner, name)
            setattr(owner, name, replacement)

    def revert() -> None:
        for name, (owner, _) in _PATCHES.items():
            original = _ORIGINAL.pop(name, None)
            if original is not None:
                setattr(owner, name, original)

    return revert
