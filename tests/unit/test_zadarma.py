import base64
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from helpdesk.telephony import zadarma
from helpdesk.telephony.base import CallEvent, MalformedCallback, UnsupportedEvent

SAMPLES = Path(__file__).parents[2] / "events" / "calls" / "zadarma"
PBX_CALL_ID = "in_8e3f0a6c29d14b7e5a1c93f07d2b68e4c1a59f30"
REC_ID = "1715681702.4417236"
SECRET = "zadarma-test-secret"
MOSCOW = "Europe/Moscow"
# call_start "2024-05-14 13:15:02" in Moscow (UTC+3, no DST since 2014)
STARTED_UTC = datetime(2024, 5, 14, 10, 15, 2, tzinfo=UTC)
RECEIVED = datetime(2024, 5, 14, 10, 18, 30, tzinfo=UTC)


def sample(name: str) -> dict[str, str]:
    return dict(parse_qsl((SAMPLES / name).read_text(), keep_blank_values=True))


def parse(name: str) -> CallEvent:
    return zadarma.parse_notification(sample(name), MOSCOW, received_at=RECEIVED)


# --- zd_echo ---------------------------------------------------------------------------------


def test_echo() -> None:
    assert zadarma.echo_response({"zd_echo": "a1b2c3"}) == "a1b2c3"
    assert zadarma.echo_response({}) is None
    assert zadarma.echo_response(sample("notify_start.txt")) is None


# --- signatures ------------------------------------------------------------------------------

# Expected values computed outside this code, the way Zadarma's PHP does it
# (base64_encode(hash_hmac('sha1', fields, secret)) with hash_hmac's default hex output):
#   printf '%s' "<fields>" | openssl dgst -sha1 -hmac zadarma-test-secret -r \
#     | cut -d' ' -f1 | tr -d '\n' | base64
# with <fields> per event: caller_id.called_did.call_start (START, INTERNAL, END),
# caller_id.destination.call_start (ANSWER), internal.destination.call_start (OUT_START,
# OUT_END), pbx_call_id.call_id_with_rec (RECORD). Zadarma publishes no test vector.
KNOWN = {
    "notify_answer.txt": "ZTE1N2ViZjZmZmMwN2ZlYmUwMjRkYmI3ZTVjZTdkMWZhYzNiYmYxOA==",
    "notify_start.txt": "NzA5ZTYwYTU2ZTcxMjQzNWQ2ZmQzOGVmMTA2ODBhOGYyNjMxNGRjOQ==",
    "notify_internal.txt": "NzA5ZTYwYTU2ZTcxMjQzNWQ2ZmQzOGVmMTA2ODBhOGYyNjMxNGRjOQ==",
    "notify_end_answered.txt": "NzA5ZTYwYTU2ZTcxMjQzNWQ2ZmQzOGVmMTA2ODBhOGYyNjMxNGRjOQ==",
    "notify_end_missed.txt": "NzA5ZTYwYTU2ZTcxMjQzNWQ2ZmQzOGVmMTA2ODBhOGYyNjMxNGRjOQ==",
    "notify_out_start.txt": "Yzg5YzcxYjdkNDNmNWNhMzdmMTA5ZmQzNmJiNTc4MGIwYzUzZGZjNw==",
    "notify_out_end.txt": "Yzg5YzcxYjdkNDNmNWNhMzdmMTA5ZmQzNmJiNTc4MGIwYzUzZGZjNw==",
    "notify_record.txt": "MzUyZmVkOTE0MzJhYTAwOWM3MzY1ZmJkNjA1MmEzN2MyOWU3ZWQ4NQ==",
}


@pytest.mark.parametrize(("name", "signature"), sorted(KNOWN.items()))
def test_known_signatures(name: str, signature: str) -> None:
    params = sample(name)
    assert zadarma.signature_for(params, SECRET) == signature
    assert zadarma.verify_signature(params, signature, SECRET)


def test_signature_is_base64_of_the_hex_digest_not_of_the_raw_digest() -> None:
    decoded = base64.b64decode(zadarma.signature_for(sample("notify_start.txt"), SECRET) or "")
    assert len(decoded) == 40  # 40 hex characters, not 20 raw bytes
    assert decoded == decoded.lower()
    int(decoded, 16)


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.txt")))
def test_every_sample_verifies_and_fails_when_touched(name: str) -> None:
    params = sample(name)
    header = zadarma.signature_for(params, SECRET)
    assert header is not None
    assert zadarma.verify_signature(params, header, SECRET)
    assert not zadarma.verify_signature(params, header, "other-secret")
    assert not zadarma.verify_signature(params, None, SECRET)
    assert not zadarma.verify_signature(params, "", SECRET)
    assert not zadarma.verify_signature(params, header, "")


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("notify_start.txt", "caller_id"),
        ("notify_start.txt", "called_did"),
        ("notify_start.txt", "call_start"),
        ("notify_answer.txt", "destination"),
        ("notify_end_answered.txt", "caller_id"),
        ("notify_out_start.txt", "internal"),
        ("notify_out_end.txt", "destination"),
        ("notify_record.txt", "call_id_with_rec"),
        ("notify_record.txt", "pbx_call_id"),
    ],
)
def test_tampering_with_a_signed_field_fails(name: str, field: str) -> None:
    params = sample(name)
    header = zadarma.signature_for(params, SECRET)
    tampered = {**params, field: params[field] + "1"}
    assert not zadarma.verify_signature(tampered, header, SECRET)


def test_a_signature_is_bound_to_its_event() -> None:
    # Same fields, different event: OUT events sign internal+destination instead.
    params = sample("notify_end_answered.txt")
    header = zadarma.signature_for(params, SECRET)
    assert not zadarma.verify_signature({**params, "event": "NOTIFY_OUT_END"}, header, SECRET)


def test_unknown_event_never_verifies() -> None:
    params = {**sample("notify_start.txt"), "event": "NOTIFY_SOMETHING"}
    assert zadarma.signature_for(params, SECRET) is None
    assert not zadarma.verify_signature(params, "anything", SECRET)


# --- parsing ---------------------------------------------------------------------------------


def test_start() -> None:
    event = parse("notify_start.txt")
    assert event.provider == "zadarma"
    assert event.call_id == PBX_CALL_ID
    assert event.event_id == f"zadarma:{PBX_CALL_ID}:NOTIFY_START"
    assert event.kind == "started"
    assert event.call_direction == "inbound"
    assert event.from_number == "+79161234567"
    assert event.to_number == "+74951234567"
    assert event.at == STARTED_UTC
    assert event.agent is None


def test_internal_is_ringing_an_extension() -> None:
    event = parse("notify_internal.txt")
    assert event.kind == "ringing"
    assert event.agent == "101"
    assert event.to_number == "+74951234567"
    assert event.event_id == f"zadarma:{PBX_CALL_ID}:NOTIFY_INTERNAL:101"


def test_ring_group_notifications_do_not_collide() -> None:
    first = parse("notify_internal.txt")
    second = zadarma.parse_notification({**sample("notify_internal.txt"), "internal": "102"})
    assert first.event_id != second.event_id


def test_answer() -> None:
    event = parse("notify_answer.txt")
    assert event.kind == "answered"
    assert event.answered is True
    assert event.agent == "101"
    assert event.call_direction == "inbound"
    assert event.from_number == "+79161234567"
    assert event.event_id == f"zadarma:{PBX_CALL_ID}:NOTIFY_ANSWER:101"


def test_answer_on_a_forwarded_phone_names_the_phone() -> None:
    params = {k: v for k, v in sample("notify_answer.txt").items() if k != "internal"}
    event = zadarma.parse_notification({**params, "destination": "79031234567"})
    assert event.agent == "79031234567"


def test_end_answered() -> None:
    event = parse("notify_end_answered.txt")
    assert event.kind == "ended"
    assert event.status == "completed"
    assert event.answered is True
    assert event.raw_status == "answered"
    assert event.duration_seconds == 147
    assert event.agent == "101"
    assert event.recording_url == f"zadarma-record:{REC_ID}"
    assert event.call_direction == "inbound"
    assert event.event_id == f"zadarma:{PBX_CALL_ID}:NOTIFY_END"


def test_end_missed() -> None:
    event = parse("notify_end_missed.txt")
    assert event.kind == "ended"
    assert event.status == "canceled"
    assert event.answered is False
    assert event.duration_seconds == 0
    assert event.agent is None
    assert event.recording_url is None


@pytest.mark.parametrize(
    ("disposition", "status"),
    [
        ("busy", "busy"),
        ("no answer", "no-answer"),
        ("cancel", "canceled"),
        ("failed", "failed"),
        ("no money", "failed"),
        ("unallocated number", "failed"),
        ("line limit", "failed"),
        ("no money, no limit", "failed"),
    ],
)
def test_unanswered_dispositions(disposition: str, status: str) -> None:
    params = {**sample("notify_end_missed.txt"), "disposition": disposition}
    event = zadarma.parse_notification(params)
    assert event.status == status
    assert event.answered is False
    assert event.raw_status == disposition


def test_recorded_flag_without_an_id_gives_no_reference() -> None:
    params = {**sample("notify_end_answered.txt"), "call_id_with_rec": ""}
    assert zadarma.parse_notification(params).recording_url is None
    params = {**sample("notify_end_answered.txt"), "is_recorded": "0"}
    assert zadarma.parse_notification(params).recording_url is None


def test_out_start() -> None:
    event = parse("notify_out_start.txt")
    assert event.kind == "started"
    assert event.call_direction == "outbound"
    assert event.to_number == "+79161234567"
    assert event.agent == "101"
    assert event.at == STARTED_UTC


def test_out_end() -> None:
    event = parse("notify_out_end.txt")
    assert event.kind == "ended"
    assert event.call_direction == "outbound"
    assert event.from_number == "+74951234567"
    assert event.to_number == "+79161234567"
    assert event.status == "completed"
    assert event.answered is True
    assert event.duration_seconds == 63
    assert event.agent == "101"
    assert event.recording_url == f"zadarma-record:{REC_ID}"


def test_record() -> None:
    event = parse("notify_record.txt")
    assert event.kind == "recording"
    assert event.call_id == PBX_CALL_ID
    assert event.recording_url == f"zadarma-record:{REC_ID}"
    assert event.event_id == f"zadarma:{PBX_CALL_ID}:NOTIFY_RECORD:{REC_ID}"
    assert event.at == RECEIVED  # NOTIFY_RECORD has no time


def test_time_zone_default_is_utc() -> None:
    event = zadarma.parse_notification(sample("notify_start.txt"))
    assert event.at == datetime(2024, 5, 14, 13, 15, 2, tzinfo=UTC)


def test_unknown_time_zone_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zadarma.parse_notification(sample("notify_start.txt"), "Mars/Olympus")


def test_event_ids_unique_and_stable() -> None:
    names = sorted(p.name for p in SAMPLES.glob("*.txt"))
    inbound = [n for n in names if "out" not in n and "missed" not in n]
    ids = [parse(n).event_id for n in inbound]
    assert len(set(ids)) == len(ids)
    assert ids == [parse(n).event_id for n in inbound]


# --- malformed -------------------------------------------------------------------------------


def test_missing_event() -> None:
    params = {k: v for k, v in sample("notify_start.txt").items() if k != "event"}
    with pytest.raises(MalformedCallback, match="event"):
        zadarma.parse_notification(params)


def test_unknown_event() -> None:
    with pytest.raises(MalformedCallback, match="NOTIFY_FOO"):
        zadarma.parse_notification({**sample("notify_start.txt"), "event": "NOTIFY_FOO"})


def test_ivr_is_unsupported_not_broken() -> None:
    with pytest.raises(UnsupportedEvent, match="NOTIFY_IVR"):
        zadarma.parse_notification({**sample("notify_start.txt"), "event": "NOTIFY_IVR"})


def test_missing_pbx_call_id() -> None:
    params = {k: v for k, v in sample("notify_end_answered.txt").items() if k != "pbx_call_id"}
    with pytest.raises(MalformedCallback, match="pbx_call_id"):
        zadarma.parse_notification(params)


def test_bad_call_start() -> None:
    with pytest.raises(MalformedCallback, match="call_start"):
        zadarma.parse_notification({**sample("notify_start.txt"), "call_start": "14.05.2024"})


def test_end_without_disposition() -> None:
    params = {k: v for k, v in sample("notify_end_answered.txt").items() if k != "disposition"}
    with pytest.raises(MalformedCallback, match="disposition"):
        zadarma.parse_notification(params)


def test_bad_duration() -> None:
    with pytest.raises(MalformedCallback, match="duration"):
        zadarma.parse_notification({**sample("notify_end_answered.txt"), "duration": "2m"})


def test_record_without_recording_id() -> None:
    params = {k: v for k, v in sample("notify_record.txt").items() if k != "call_id_with_rec"}
    with pytest.raises(MalformedCallback, match="call_id_with_rec"):
        zadarma.parse_notification(params)
