"""Property-based tests of every provider parser and of the edge limits (hypothesis).

Each parser is fed the real samples of events/ with values swapped for hostile ones (huge
strings, lone surrogates, 40-digit integers, floats, empty-string keys, deep nesting). Either
it returns events that the store can always hold (valid Unicode, ids within their byte limit,
texts within 4096 characters, numbers within ±10^15, times that format), or it raises its
documented error, never anything else.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk import limits, telephony
from helpdesk.channels import telegram, whatsapp
from helpdesk.models import iso
from helpdesk.telephony import generic, twilio, zadarma
from helpdesk.telephony.base import CallEvent, MalformedCallback

EVENTS = Path(__file__).resolve().parents[2] / "events"
# Deterministic in CI; FUZZ_EXAMPLES=5000 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TEXT_LIMIT = limits.MAX_INBOUND_TEXT
ID_LIMIT = 512  # bytes: the longest id any event carries (a call's event id), prefixes included
ID_FIELDS = {
    "event_id",
    "service_id",
    "sender_id",
    "provider_message_id",
    "recipient_id",
    "callback_query_id",
    "replied_to_message_id",
    "file_id",
    "call_id",
    "from_number",
    "to_number",
    "agent",
}


def json_samples(folder: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((EVENTS / folder).glob("*.json"))]


def form_samples(folder: str) -> list[dict[str, str]]:
    return [
        dict(parse_qsl(p.read_text().strip(), keep_blank_values=True))
        for p in sorted((EVENTS / folder).glob("*.txt"))
    ]


# ---- hostile values ---------------------------------------------------------------------

huge = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["a", "я", "😀", "\ud800", "7"]),
    st.sampled_from([257, 2049, 4097, 70_000, 500_000]),
)
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
with_surrogate = st.builds(lambda head, bad: head + bad, st.text(max_size=10), surrogates)
digits = st.integers(10, 60).map(lambda n: "9" * n)
hostile_str = st.one_of(
    st.text(max_size=30), huge, surrogates, with_surrogate, digits, st.just(""), st.just(" ")
)
big_int = st.one_of(
    st.integers(-(10**40), 10**40), st.sampled_from([10**38, -(10**39), 10**15 + 1, 2**63])
)
scalar = st.one_of(
    hostile_str, big_int, st.floats(allow_nan=False), st.booleans(), st.none(), st.just(1.5)
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for index in range(depth):
        value = {"n": value} if index % 2 else [value]
    return value


hostile_value = st.one_of(
    scalar,
    st.dictionaries(st.one_of(st.just(""), hostile_str), scalar, max_size=4),
    st.lists(scalar, max_size=4),
    st.sampled_from([20, 31, 33, 200]).map(nested),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """A real sample with one to three values replaced, or keys added, by hostile ones."""
    document = copy.deepcopy(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)[1:]))
        parent = at(document, path[:-1])
        if isinstance(parent, dict) and draw(st.booleans()):
            parent[draw(st.one_of(st.just(""), hostile_str))] = draw(hostile_value)
        else:
            parent[path[-1]] = draw(hostile_value)
    return document


@st.composite
def mutated_form(draw: st.DrawFn, samples: list[dict[str, str]]) -> dict[str, str]:
    """A real form notification with values (all strings, as forms are) made hostile."""
    params = dict(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.one_of(st.sampled_from(sorted(params)), hostile_str))
        value = draw(st.one_of(hostile_str, big_int.map(str), st.floats().map(str)))
        params[key] = value
    return params


# ---- what every event must be -------------------------------------------------------------


def assert_storable(value: Any, name: str = "event") -> None:
    """Valid Unicode, ids within their limit in UTF-8 bytes, texts within 4096 characters,
    whole numbers within ±10^15, no floats, times that format as the store writes them."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            assert_storable(getattr(value, field.name), field.name)
    elif isinstance(value, str):
        encoded = value.encode("utf-8")  # raises on a lone surrogate
        assert len(value) <= TEXT_LIMIT, (name, len(value))
        if name in ID_FIELDS:
            assert len(encoded) <= ID_LIMIT, (name, len(encoded))
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        assert -limits.MAX_INTEGER <= value <= limits.MAX_INTEGER, (name, value)
    elif isinstance(value, datetime):
        assert value.tzinfo is not None, name
        assert iso(value)
    elif isinstance(value, dict):
        assert len(json.dumps(value)) <= 20_000, (name, len(json.dumps(value)))
        for key, inner in value.items():
            assert isinstance(key, str) and key.strip(), (name, key)
            assert_storable(key, name)
            assert_storable(inner, f"{name}.{key}")
    elif isinstance(value, list | tuple):
        for inner in value:
            assert_storable(inner, name)
    else:
        raise AssertionError(f"{name}: unexpected {type(value).__name__} {value!r}")


def bounded_call(parse: Any, *args: Any) -> CallEvent | None:
    """A telephony adapter as the registry applies it: parse, then the edge limits."""
    try:
        return telephony._bounded(parse(*args))
    except (MalformedCallback, limits.LimitExceeded):
        return None


# ---- the parsers ------------------------------------------------------------------------


@FUZZ
@given(mutated(json_samples("telegram")))
def test_telegram_parse_update(body: dict[str, Any]) -> None:
    try:
        events = telegram.parse_update(body, "7012345678")
    except telegram.MalformedPayload:
        return
    for event in events:
        assert_storable(event)


@FUZZ
@given(mutated(json_samples("whatsapp")))
def test_whatsapp_parse_notification_messages_and_statuses(body: dict[str, Any]) -> None:
    try:
        events = whatsapp.parse_notification(body)
    except whatsapp.MalformedPayload:
        return
    for event in events:
        assert_storable(event)


STATUSES = [json.loads(p.read_text()) for p in sorted((EVENTS / "whatsapp").glob("status_*.json"))]


def wide(levels: int, width: int = 5) -> Any:
    """An object as wide and deep as a body may carry: many scalars from a small body."""
    value: Any = 1.5
    for level in range(levels):
        value = {f"k{level}{index}": value for index in range(width)}
    return value


@FUZZ
@given(
    st.sampled_from(STATUSES),
    st.sampled_from(["conversation", "pricing", "errors"]),
    st.one_of(hostile_value, st.integers(1, 7).map(wide)),
)
def test_whatsapp_status_objects_of_any_shape(body: dict[str, Any], part: str, value: Any) -> None:
    changed = copy.deepcopy(body)
    for entry in changed["entry"]:
        for change in entry["changes"]:
            for status in change["value"].get("statuses", []):
                status[part] = [value] if part == "errors" else {"": value, "k": value}
    try:
        events = whatsapp.parse_notification(changed)
    except whatsapp.MalformedPayload:
        return
    for event in events:
        assert_storable(event)


@FUZZ
@given(mutated_form(form_samples("calls/twilio")))
def test_twilio_parse_callback(params: dict[str, str]) -> None:
    event = bounded_call(twilio.parse_callback, params)
    if event is not None:
        assert_storable(event)


@FUZZ
@given(
    mutated_form(form_samples("calls/zadarma")),
    st.sampled_from(["UTC", "Europe/Moscow", "America/Los_Angeles", "Pacific/Kiritimati"]),
)
def test_zadarma_parse_notification(params: dict[str, str], zone: str) -> None:
    event = bounded_call(zadarma.parse_notification, params, zone)
    if event is not None:
        assert_storable(event)


@FUZZ
@given(mutated(json_samples("calls/generic")))
def test_generic_cti_parse_event(body: dict[str, Any]) -> None:
    event = bounded_call(generic.parse_event, body)
    if event is not None:
        assert_storable(event)


@FUZZ
@given(
    st.sampled_from(["0001-01-01 00:00:00", "9999-12-31 23:59:59", "2024-02-30 10:00:00"]),
    st.sampled_from(["UTC", "Europe/Moscow", "America/Los_Angeles"]),
)
def test_zadarma_call_start_at_the_ends_of_time(call_start: str, zone: str) -> None:
    params = {**form_samples("calls/zadarma")[0], "call_start": call_start}
    event = bounded_call(zadarma.parse_notification, params, zone)
    if event is not None:
        assert_storable(event)


@FUZZ
@given(
    st.sampled_from(["Fri, 31 Dec 9999 23:59:59 -0500", "Mon, 01 Jan 0001 00:00:00 +0500"]),
    st.sampled_from(form_samples("calls/twilio")),
)
def test_twilio_timestamps_at_the_ends_of_time(stamp: str, params: dict[str, str]) -> None:
    event = bounded_call(twilio.parse_callback, {**params, "Timestamp": stamp})
    if event is not None:
        assert_storable(event)


@FUZZ
@given(
    st.sampled_from(
        ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2024-05-14T13:17:38+03:00"]
    ),
    st.sampled_from(json_samples("calls/generic")),
)
def test_generic_cti_timestamps_at_the_ends_of_time(stamp: str, body: dict[str, Any]) -> None:
    event = bounded_call(generic.parse_event, {**body, "timestamp": stamp})
    if event is not None:
        assert_storable(event)


@FUZZ
@given(hostile_str, st.sampled_from(["generic", "twilio"]))
def test_recording_urls_with_hostile_tails(tail: str, provider: str) -> None:
    url = "https://recordings.example/" + tail
    if provider == "generic":
        body = {**json_samples("calls/generic")[-1], "recording_url": url}
        event = bounded_call(generic.parse_event, body)
    else:
        (params,) = [p for p in form_samples("calls/twilio") if "RecordingStatus" in p]
        event = bounded_call(twilio.parse_callback, {**params, "RecordingUrl": url})
    if event is not None:
        assert_storable(event)


# ---- the edge limits ----------------------------------------------------------------------

json_text = st.recursive(
    st.one_of(st.none(), st.booleans(), big_int, st.floats(allow_nan=False), hostile_str),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile_str, inner, max_size=3)
    ),
    max_leaves=10,
).map(lambda value: json.dumps(value).encode())
raw_bodies = st.one_of(
    json_text,
    st.binary(max_size=200),
    st.sampled_from([20, 32, 33, 1000]).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from([32, 33, 1000]).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.just(b'"\\ud800"'),
    st.just(b'{"text": "\xff\xfe"}'),
    st.just(b"9" * 5000),
    st.just(b"[" + b"1," * (limits.MAX_BODY_BYTES // 2) + b"1]"),
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@FUZZ
@given(raw_bodies)
def test_parse_json_answers_a_value_within_the_limits_or_a_value_error(raw: bytes) -> None:
    try:
        value = limits.parse_json(raw)
    except ValueError:  # LimitExceeded, UnicodeDecodeError, JSONDecodeError all are
        return
    assert len(raw) <= limits.MAX_BODY_BYTES
    assert depth(value) <= limits.MAX_JSON_DEPTH


@FUZZ
@given(st.one_of(hostile_str, st.none()), st.integers(8, 5000))
def test_text_is_valid_unicode_within_its_limit(value: str | None, limit: int) -> None:
    cut = limits.text(value, limit)
    cut.encode("utf-8")
    assert len(cut) <= limit
    if value and len(value) <= limit and value.encode("utf-8", "surrogatepass"):
        assert len(cut) == len(value)


@FUZZ
@given(hostile_str, st.integers(1, 2048))
def test_identifier_is_returned_whole_or_refused(value: str, limit: int) -> None:
    try:
        kept = limits.identifier(value, "id", limit)
    except limits.LimitExceeded:
        return
    assert kept == value
    assert len(kept.encode("utf-8")) <= limit


@FUZZ
@given(st.one_of(hostile_value, st.integers(1, 7).map(wide)))
def test_scalar_map_is_small_and_plain_whatever_it_is_given(data: Any) -> None:
    result = limits.scalar_map(data)
    assert_storable(result, "scalar_map")
    assert all(not isinstance(value, float) for value in result.values())
