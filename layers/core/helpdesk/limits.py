"""Bounds on everything that comes in from outside, in one place (the OpenAPI document and
docs/decisions.md repeat them): what a provider or a caller may send, and how it is normalised
into values the store can always hold.

Provider payloads are never refused for being odd where refusing would only make the provider
retry the same bytes for days: over-long texts are cut with a marker, lone surrogates replaced.
Identifiers are refused (400) when they exceed what any real provider sends, because they end
up in keys.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY_BYTES = 1024 * 1024  # a webhook or API body; API Gateway's own cap is 10 MB
MAX_JSON_DEPTH = 32  # real provider payloads nest under 10 levels
MAX_INBOUND_TEXT = 4096  # Telegram's and WhatsApp's own limit for a message text
MAX_NAME = 256  # a sender's display name
MAX_ID = 256  # any provider id or address that becomes part of a key
MAX_ATTACHMENTS = 20
MAX_SMALL_TEXT = 1000  # captions, titles, reasons
MAX_INTEGER = 10**15  # durations, prices: anything larger is not a real value
TRUNCATED = " […]"

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class LimitExceeded(ValueError):
    """A value no real provider or client sends; the message names it."""


def text(value: str | None, limit: int = MAX_INBOUND_TEXT) -> str:
    """A text the store can hold: valid Unicode, cut to `limit` characters with a marker."""
    if not value:
        return ""
    cleaned = _LONE_SURROGATE.sub("\ufffd", value)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - len(TRUNCATED)] + TRUNCATED
    return cleaned


def optional_text(value: str | None, limit: int = MAX_SMALL_TEXT) -> str | None:
    return text(value, limit) or None


def identifier(value: str, name: str, limit: int = MAX_ID) -> str:
    """An id that becomes part of a key: refused when longer than any provider's ids."""
    if _LONE_SURROGATE.search(value):
        raise LimitExceeded(f"{name} is not valid Unicode")
    if len(value.encode("utf-8")) > limit:
        raise LimitExceeded(f"{name} is longer than {limit} bytes")
    return value


def optional_identifier(value: str | None, name: str, limit: int = MAX_ID) -> str | None:
    return identifier(value, name, limit) if value else None


def integer(value: int | None, name: str) -> int | None:
    if value is not None and not -MAX_INTEGER <= value <= MAX_INTEGER:
        raise LimitExceeded(f"{name} is out of range")
    return value


def scalar_map(data: Any, limit: int = 20) -> dict[str, str | int | bool]:
    """A small provider object (WhatsApp pricing, conversation) as plain scalars the store can
    hold: string keys, strings cut short, whole numbers in range; floats become strings."""
    if not isinstance(data, dict):
        return {}
    result: dict[str, str | int | bool] = {}
    for key, value in list(data.items())[:limit]:
        if not isinstance(key, str) or not key.strip():
            continue
        name = text(key, 64)
        if isinstance(value, bool) or (
            isinstance(value, int) and -MAX_INTEGER <= value <= MAX_INTEGER
        ):
            result[name] = value
        elif isinstance(value, str | int | float):
            result[name] = text(str(value), 200)
        elif isinstance(value, dict):
            for inner_key, inner in scalar_map(value, 5).items():
                result[text(f"{name}.{inner_key}", 128)] = inner
        if len(result) >= limit:  # nested objects must not multiply the entries
            return dict(list(result.items())[:limit])
    return result


def parse_json(raw: bytes) -> Any:
    """JSON within the body and depth limits; ValueError (with the reason) otherwise."""
    if len(raw) > MAX_BODY_BYTES:
        raise LimitExceeded(f"the body is larger than {MAX_BODY_BYTES} bytes")
    depth = deepest = 0
    in_string = escaped = False
    for char in raw.decode("utf-8"):  # UnicodeDecodeError is a ValueError
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise LimitExceeded(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
        elif char in "]}":
            depth -= 1
    return json.loads(raw)
