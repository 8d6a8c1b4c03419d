"""Plain Python values to DynamoDB's typed JSON and back, and the limits the engine sets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit
MAX_KEY_BYTES = 1024  # sort key limit (partition keys allow 2048); we hold both to the lower

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty attributes: items stay small (write units) and indexes sparse."""
    return {name: value for name, value in data.items() if value not in (None, [], {})}


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {name: _serializer.serialize(value) for name, value in item.items()}
    return typed


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}
    converted: dict[str, Any] = _numbers_to_python(plain)
    return converted


def _numbers_to_python(value: Any) -> Any:
    """DynamoDB returns Decimal; the domain stores whole numbers (money in minor units)."""
    if isinstance(value, dict):
        return {key: _numbers_to_python(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_numbers_to_python(inner) for inner in value]
    if isinstance(value, set):
        return {_numbers_to_python(inner) for inner in value}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one typed attribute value (its documented rules)."""
    kind, inner = next(iter(value.items()))
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(x.encode() if isinstance(x, str) else x) for x in inner)
    if kind == "NS":
        return sum((len(x) + 1) // 2 + 1 for x in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in inner)
    return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in inner.items())  # M


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of a typed item, as DynamoDB sizes it for the 400 KB limit and write units."""
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())
