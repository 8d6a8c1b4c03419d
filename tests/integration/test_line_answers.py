"""What a caller hears first: a red incident of the line's direction (then on to an agent),
or the calendar's out-of-hours message (then the call ends), in the providers' own formats:
Twilio TwiML to its voice request, Zadarma's NOTIFY_START answer."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk.models import iso
from helpdesk.settings import get_settings
from tests.integration.conftest import Api, claims
from tests.integration.test_call_webhook import (
    CTI_TOKEN,
    LINE,
    PUBLIC,
    TWILIO_TOKEN,
    ZADARMA_SECRET,
    form,
    post_twilio,
    post_zadarma,
)

AGENTS = "https://handler.twilio.com/twiml/EH0123456789abcdef"
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "phone_numbers": [LINE],
            "calendar": {
                "hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
            },
            "zadarma_incident_file": "5f0a1c2e",
            "zadarma_out_of_hours_file": "5f0a1c2f",
            "twilio_voice_url": AGENTS,
        },
    ]
}
THURSDAY_NOON = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
THURSDAY_NIGHT = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # 23:00


@pytest.fixture
def line(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", ZADARMA_SECRET)
    monkeypatch.setenv("ZADARMA_TIMEZONE", "Europe/Moscow")
    monkeypatch.setenv("GENERIC_CTI_TOKEN", CTI_TOKEN)
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    monkeypatch.setenv("HELPDESK_NOW", iso(THURSDAY_NOON))
    get_settings.cache_clear()
    return {
        "calls": Api("CallWebhookFunction", None),
        "commander": Api("BroadcastFunction", claims("commander", "ic-1")),
        "monkeypatch": monkeypatch,
    }


def incident(line: dict[str, Any], severity: str = "red") -> str:
    body = {
        "severity": severity,
        "directions": ["d0"],
        "text": {"ru": "Сейчас не работает вход в приложение, мы уже чиним."},
        "request_id": f"call-test-{severity}",
    }
    status, answer = line["commander"].call("POST", "/broadcasts", body)
    assert status == 201, answer
    return str(answer["id"])


def twiml(line: dict[str, Any]) -> ElementTree.Element:
    status, raw = post_twilio(line["calls"], form("twilio/voice_request.txt"))
    assert status == 200, raw
    text = raw.decode() if isinstance(raw, bytes) else raw
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    return ElementTree.fromstring(text)


def test_a_red_incident_is_told_to_callers_before_the_agents(line: dict[str, Any]) -> None:
    notice = incident(line)
    response = twiml(line)
    say, redirect = list(response)
    assert (say.tag, say.get("language"), say.get("voice")) == ("Say", "ru-RU", "Polly.Tatyana")
    assert say.text == "Сейчас не работает вход в приложение, мы уже чиним."
    assert (redirect.tag, redirect.get("method"), redirect.text) == ("Redirect", "POST", AGENTS)

    status, answer = post_zadarma(line["calls"], form("zadarma/notify_start.txt"))
    assert (status, answer) == (200, {"ivr_play": "5f0a1c2e"})

    # Resolved: calls go straight to the agents again.
    line["commander"].call("POST", f"/broadcasts/{notice}/resolve", {"text": {"ru": "Починили"}})
    assert [child.tag for child in twiml(line)] == ["Redirect"]
    status, answer = post_zadarma(line["calls"], form("zadarma/notify_start.txt"))
    assert status == 200 and answer["ok"] is True  # no instructions: the PBX routes as usual


def test_a_yellow_incident_does_not_hold_up_callers(line: dict[str, Any]) -> None:
    incident(line, "yellow")
    assert [child.tag for child in twiml(line)] == ["Redirect"]


def test_out_of_hours_callers_hear_the_calendars_message_and_the_call_ends(
    line: dict[str, Any],
) -> None:
    line["monkeypatch"].setenv("HELPDESK_NOW", iso(THURSDAY_NIGHT))
    say, hangup = list(twiml(line))
    assert "в нерабочее время" in (say.text or "") and hangup.tag == "Hangup"
    status, answer = post_zadarma(line["calls"], form("zadarma/notify_start.txt"))
    assert (status, answer) == (200, {"ivr_play": "5f0a1c2f", "hangup": 1})


def test_status_callbacks_get_no_call_instructions(line: dict[str, Any]) -> None:
    incident(line)
    status, answer = post_twilio(line["calls"], form("twilio/ringing.txt"))
    assert status == 200 and answer["ok"] is True
    status, answer = post_zadarma(line["calls"], form("zadarma/notify_internal.txt"))
    assert status == 200 and answer["ok"] is True
