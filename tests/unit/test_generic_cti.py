import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from helpdesk.telephony import generic as generic_cti
from helpdesk.telephony.base import MalformedCallback

SAMPLES = Path(__file__).parents[2] / "events" / "calls" / "generic"
CALL_ID = "1715681702.88231"
RECEIVED = datetime(2024, 5, 14, 10, 20, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


# --- token -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["s3cret-token", "Bearer s3cret-token", "bearer s3cret-token", "  Bearer   s3cret-token "],
)
def test_token_accepted(header: str) -> None:
    assert generic_cti.verify_token(header, "s3cret-token")


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "s3cret-tokeN", "Bearer other", "Basic s3cret-token", "s3cret"],
)
def test_token_rejected(header: str | None) -> None:
    assert not generic_cti.verify_token(header, "s3cret-token")


def test_empty_expected_token_accepts_nothing() -> None:
    assert not generic_cti.verify_token("", "")
    assert not generic_cti.verify_token("Bearer ", "")


# --- parsing ---------------------------------------------------------------------------------


def test_new_call() -> None:
    event = generic_cti.parse_event(sample("new_call.json"))
    assert event.provider == "generic"
    assert event.call_id == CALL_ID
    assert event.kind == "started"
    assert event.event_id == f"generic:{CALL_ID}:newCall"
    assert event.call_direction == "inbound"
    assert event.from_number == "+79161234567"
    assert event.to_number == "+74951234567"
    assert event.at == datetime(2024, 5, 14, 10, 15, 2, tzinfo=UTC)
    assert event.answered is None


def test_answer() -> None:
    event = generic_cti.parse_event(sample("answer.json"))
    assert event.kind == "answered"
    assert event.answered is True
    assert event.agent == "101"
    assert event.event_id == f"generic:{CALL_ID}:answer"


def test_hangup_after_talk() -> None:
    event = generic_cti.parse_event(sample("hangup.json"))
    assert event.kind == "ended"
    assert event.status == "completed"
    assert event.answered is True
    assert event.duration_seconds == 147
    assert event.raw_status == "normalClearing"
    assert event.agent == "101"


def test_hangup_without_answer_is_a_missed_call() -> None:
    event = generic_cti.parse_event(sample("hangup_no_answer.json"))
    assert event.kind == "ended"
    assert event.status == "canceled"
    assert event.answered is False
    assert event.agent is None


def test_recording() -> None:
    event = generic_cti.parse_event(sample("recording.json"))
    assert event.kind == "recording"
    assert event.recording_url == "https://pbx.example.com/recordings/1715681702.88231.mp3"
    assert event.event_id == "generic:rec-1715681702.88231-1"  # the sender's own id
    assert event.duration_seconds == 146


@pytest.mark.parametrize(
    ("cause", "status", "answered"),
    [
        ("normalClearing", "completed", True),
        ("busy", "busy", False),
        ("cancel", "canceled", False),
        ("noAnswer", "no-answer", False),
        ("congestion", "failed", False),
        ("notFound", "failed", False),
        ("forwarded", "forwarded", None),
    ],
)
def test_causes(cause: str, status: str, answered: bool | None) -> None:
    event = generic_cti.parse_event({**sample("hangup.json"), "cause": cause})
    assert (event.status, event.answered, event.raw_status) == (status, answered, cause)


def test_outbound() -> None:
    body = {**sample("new_call.json"), "direction": "out", "from": "101", "to": "89161234567"}
    event = generic_cti.parse_event(body)
    assert event.call_direction == "outbound"
    assert event.from_number == "101"
    assert event.to_number == "+79161234567"


def test_zammad_call_id_spelling_is_accepted() -> None:
    body = sample("new_call.json")
    body["callId"] = body.pop("call_id")
    assert generic_cti.parse_event(body).call_id == CALL_ID


def test_anonymous_caller() -> None:
    event = generic_cti.parse_event({**sample("new_call.json"), "from": "anonymous"})
    assert event.from_number == "anonymous"


def test_without_timestamp_the_receipt_time_is_used() -> None:
    body = {k: v for k, v in sample("new_call.json").items() if k != "timestamp"}
    assert generic_cti.parse_event(body, received_at=RECEIVED).at == RECEIVED


def test_unknown_fields_are_ignored() -> None:
    body = {**sample("new_call.json"), "queue": "support", "pbx": "asterisk"}
    assert generic_cti.parse_event(body).kind == "started"


def test_event_ids_unique_and_stable() -> None:
    names = ["new_call.json", "answer.json", "hangup.json", "recording.json"]
    ids = [generic_cti.parse_event(sample(n)).event_id for n in names]
    assert len(set(ids)) == len(ids)
    assert ids == [generic_cti.parse_event(sample(n)).event_id for n in names]


def test_model_is_importable_and_aliased() -> None:
    model = generic_cti.GenericCallEvent.model_validate(sample("hangup.json"))
    assert model.from_ == "+79161234567"
    assert model.cause == "normalClearing"


# --- malformed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "ringing"}, "event"),
        ({"direction": "inbound"}, "direction"),
        ({"call_id": ""}, "call_id"),
        ({"cause": "hungUp"}, "cause"),
        ({"duration": -1}, "duration"),
        ({"duration": "long"}, "duration"),
        ({"timestamp": "2024-05-14 13:15:02"}, "timestamp"),  # no UTC offset
        ({"timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedCallback, match=rf"^invalid generic CTI event: .*\b{field}\b"):
        generic_cti.parse_event({**sample("hangup.json"), **change})


def test_missing_fields_are_all_named() -> None:
    with pytest.raises(MalformedCallback) as caught:
        generic_cti.parse_event({"event": "newCall"})
    message = str(caught.value)
    assert "call_id: Field required" in message
    assert "direction: Field required" in message


def test_hangup_needs_a_cause() -> None:
    body = {k: v for k, v in sample("hangup.json").items() if k != "cause"}
    with pytest.raises(MalformedCallback, match="cause is required for a hangup event"):
        generic_cti.parse_event(body)


def test_recording_needs_an_http_url() -> None:
    body = {k: v for k, v in sample("recording.json").items() if k != "recording_url"}
    with pytest.raises(MalformedCallback, match="recording_url is required"):
        generic_cti.parse_event(body)
    with pytest.raises(MalformedCallback, match="recording_url"):
        generic_cti.parse_event({**sample("recording.json"), "recording_url": "file:///etc/passwd"})


@pytest.mark.parametrize("body", [[], "newCall", None])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(MalformedCallback, match="JSON object"):
        generic_cti.parse_event(body)
