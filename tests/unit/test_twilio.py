from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from helpdesk.telephony import twilio
from helpdesk.telephony.base import MalformedCallback

SAMPLES = Path(__file__).parents[2] / "events" / "calls" / "twilio"
CALL_SID = "CA5f3a8e21c47b90d6e13f2a5c8b70d49e"
URL = "https://hooks.example.com/calls/twilio?line=support"
TOKEN = "4f1d7c0a9b2e83f56a7c1d0e9b8a7f65"
RECEIVED = datetime(2024, 5, 14, 10, 20, tzinfo=UTC)


def sample(name: str) -> dict[str, str]:
    return dict(parse_qsl((SAMPLES / name).read_text(), keep_blank_values=True))


# --- signatures ---------------------------------------------------------------------------


def test_known_answer_from_twilio_python_request_validator_tests() -> None:
    # twilio/twilio-python tests/unit/test_request_validator.py
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio.signature_for(url, params, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio.verify_signature(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "12345")


def test_known_answer_of_a_real_voice_request_from_twilio_ruby_tests() -> None:
    # twilio/twilio-ruby spec/util/request_validator_spec.rb: a request Twilio really signed,
    # with blank values (ToCity, CalledZip ...) that must still be part of the signed string.
    params = {
        "ToState": "California",
        "CalledState": "California",
        "Direction": "inbound",
        "FromState": "CA",
        "AccountSid": "ACba8bc05eacf94afdae398e642c9cc32d",
        "Caller": "+14153595711",
        "CallerZip": "94108",
        "CallerCountry": "US",
        "From": "+14153595711",
        "FromCity": "SAN FRANCISCO",
        "CallerCity": "SAN FRANCISCO",
        "To": "+14157669926",
        "FromZip": "94108",
        "FromCountry": "US",
        "ToCity": "",
        "CallStatus": "ringing",
        "CalledCity": "",
        "CallerState": "CA",
        "CalledZip": "",
        "ToZip": "",
        "ToCountry": "US",
        "CallSid": "CA136d09cd59a3c0ec8dbff44da5c03f31",
        "CalledCountry": "US",
        "Called": "+14157669926",
        "ApiVersion": "2010-04-01",
        "ApplicationSid": "AP44efecad51364e80b133bb7c07eb8204",
    }
    url = "http://twiliotests.heroku.com/validate/voice"
    token = "2bd9e9638872de601313dc77410d3b23"
    assert twilio.verify_signature(url, params, "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=", token)
    del params["CalledZip"]
    assert not twilio.verify_signature(url, params, "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=", token)


def test_port_variants_are_accepted_like_twilio_python() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    # Twilio may have signed either form, whichever form the request line shows.
    assert twilio.verify_signature(url, params, twilio.signature_for(with_port, params, "t"), "t")
    assert twilio.verify_signature(with_port, params, twilio.signature_for(url, params, "t"), "t")
    # Known answer: the https URL with :443 signed, from the twilio-python tests.
    full = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    assert twilio.verify_signature(url, full, "kvajT1Ptam85bY51eRf/AJRuM3w=", "12345")


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.txt")))
def test_every_sample_verifies_and_fails_when_touched(name: str) -> None:
    params = sample(name)
    header = twilio.signature_for(URL, params, TOKEN)
    assert twilio.verify_signature(URL, params, header, TOKEN)
    assert not twilio.verify_signature(URL, params, header, "0" * 32)  # wrong token
    assert not twilio.verify_signature(URL, params, None, TOKEN)
    assert not twilio.verify_signature(URL, params, "", TOKEN)
    assert not twilio.verify_signature(URL + "&x=1", params, header, TOKEN)  # other URL
    tampered = {**params, "CallSid": "CA" + "0" * 32}
    assert not twilio.verify_signature(URL, tampered, header, TOKEN)
    added = {**params, "Injected": "1"}
    assert not twilio.verify_signature(URL, added, header, TOKEN)


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "raw_status", "at"),
    [
        ("initiated.txt", "started", "initiated", datetime(2024, 5, 14, 10, 15, 2, tzinfo=UTC)),
        ("ringing.txt", "ringing", "ringing", datetime(2024, 5, 14, 10, 15, 3, tzinfo=UTC)),
        (
            "in_progress.txt",
            "answered",
            "in-progress",
            datetime(2024, 5, 14, 10, 15, 11, tzinfo=UTC),
        ),
    ],
)
def test_progress_events(name: str, kind: str, raw_status: str, at: datetime) -> None:
    event = twilio.parse_callback(sample(name), received_at=RECEIVED)
    assert event.provider == "twilio"
    assert event.call_id == CALL_SID
    assert event.kind == kind
    assert event.raw_status == raw_status
    assert event.at == at
    assert event.status is None
    assert event.call_direction == "inbound"
    assert event.from_number == "+79161234567"
    assert event.to_number == "+74951234567"
    assert event.duration_seconds is None
    assert event.agent is None
    assert event.answered is (True if kind == "answered" else None)


def test_completed_call() -> None:
    event = twilio.parse_callback(sample("completed.txt"))
    assert event.kind == "ended"
    assert event.status == "completed"
    assert event.answered is True  # Twilio: "The call was answered and has ended normally."
    assert event.duration_seconds == 147  # CallDuration (seconds), not Duration (minutes)
    assert event.at == datetime(2024, 5, 14, 10, 17, 38, tzinfo=UTC)
    assert event.event_id == f"twilio:{CALL_SID}:3"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("no_answer.txt", "no-answer"),
        ("busy.txt", "busy"),
        ("canceled.txt", "canceled"),
        ("failed.txt", "failed"),
    ],
)
def test_unanswered_endings(name: str, status: str) -> None:
    event = twilio.parse_callback(sample(name))
    assert event.kind == "ended"
    assert event.status == status
    assert event.raw_status == status
    assert event.answered is False
    assert event.duration_seconds == 0


def test_recording_callback() -> None:
    event = twilio.parse_callback(sample("recording_completed.txt"), received_at=RECEIVED)
    assert event.kind == "recording"
    assert event.call_id == CALL_SID
    assert event.event_id == "twilio:rec:RE2c9b47e1a06d38f5b2e7c94a10d6f3b8:completed"
    assert event.recording_url == (
        "https://api.twilio.com/2010-04-01/Accounts/AC7d2e91b46f3c08a5d17e64b92c0f3a81"
        "/Recordings/RE2c9b47e1a06d38f5b2e7c94a10d6f3b8"
    )
    assert event.duration_seconds == 146
    assert event.raw_status == "completed"
    assert event.status is None  # CallEvent.status is the final status of an ended call
    assert event.at == RECEIVED  # recording callbacks carry no Timestamp


def test_absent_recording_has_no_url() -> None:
    params = {**sample("recording_completed.txt"), "RecordingStatus": "absent"}
    event = twilio.parse_callback(params)
    assert event.kind == "recording"
    assert event.recording_url is None
    assert event.raw_status == "absent"
    assert event.event_id.endswith(":absent")


def test_completed_status_callback_of_a_recorded_call_is_not_a_recording() -> None:
    # Record=true adds RecordingSid/RecordingUrl to the *status* callback's completed event.
    params = {
        **sample("completed.txt"),
        "RecordingSid": "RE2c9b47e1a06d38f5b2e7c94a10d6f3b8",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2",
        "RecordingDuration": "146",
    }
    event = twilio.parse_callback(params)
    assert event.kind == "ended"
    assert event.status == "completed"


def test_event_ids_are_unique_per_notification_and_stable_across_redelivery() -> None:
    names = ["initiated.txt", "ringing.txt", "in_progress.txt", "completed.txt"]
    names.append("recording_completed.txt")
    ids = [twilio.parse_callback(sample(n)).event_id for n in names]
    assert len(set(ids)) == len(ids)
    again = [twilio.parse_callback(sample(n)).event_id for n in names]
    assert ids == again


def test_event_id_without_sequence_number_uses_status() -> None:
    params = {k: v for k, v in sample("completed.txt").items() if k != "SequenceNumber"}
    assert twilio.parse_callback(params).event_id == f"twilio:{CALL_SID}:completed"


def test_missing_timestamp_uses_received_time() -> None:
    params = {k: v for k, v in sample("completed.txt").items() if k != "Timestamp"}
    assert twilio.parse_callback(params, received_at=RECEIVED).at == RECEIVED


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("inbound", "inbound"),
        ("outbound-api", "outbound"),
        ("outbound-dial", "outbound"),
        ("trunking-originating", "inbound"),
        ("trunking-terminating", "outbound"),
    ],
)
def test_direction(direction: str, expected: str) -> None:
    params = {**sample("ringing.txt"), "Direction": direction}
    assert twilio.parse_callback(params).call_direction == expected


def test_client_identities_are_kept() -> None:
    params = {**sample("ringing.txt"), "To": "client:alice"}
    assert twilio.parse_callback(params).to_number == "client:alice"


def test_queued_is_a_start() -> None:
    params = {**sample("initiated.txt"), "CallStatus": "queued"}
    assert twilio.parse_callback(params).kind == "started"


# --- malformed -----------------------------------------------------------------------------


def test_missing_call_sid() -> None:
    params = {k: v for k, v in sample("ringing.txt").items() if k != "CallSid"}
    with pytest.raises(MalformedCallback, match="CallSid"):
        twilio.parse_callback(params)


def test_unknown_status() -> None:
    with pytest.raises(MalformedCallback, match="'ringing-ish'"):
        twilio.parse_callback({**sample("ringing.txt"), "CallStatus": "ringing-ish"})


def test_missing_status() -> None:
    params = {k: v for k, v in sample("ringing.txt").items() if k != "CallStatus"}
    with pytest.raises(MalformedCallback, match="CallStatus"):
        twilio.parse_callback(params)


def test_bad_duration() -> None:
    with pytest.raises(MalformedCallback, match="CallDuration"):
        twilio.parse_callback({**sample("completed.txt"), "CallDuration": "lots"})


def test_bad_timestamp() -> None:
    with pytest.raises(MalformedCallback, match="Timestamp"):
        twilio.parse_callback({**sample("completed.txt"), "Timestamp": "yesterday"})


def test_unknown_recording_status() -> None:
    params = {**sample("recording_completed.txt"), "RecordingStatus": "exploded"}
    with pytest.raises(MalformedCallback, match="RecordingStatus"):
        twilio.parse_callback(params)


def test_malformed_is_a_value_error() -> None:
    assert issubclass(MalformedCallback, ValueError)
