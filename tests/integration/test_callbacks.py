"""Every missed call ends in a recorded outcome: the worklist, callback attempts by outbound
calls, closure when the client was reached elsewhere, escalation after two working days."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk.models import iso
from helpdesk.settings import get_settings
from infra.lambda_runtime import LambdaContext, load_function, scheduled_event
from infra.template import functions
from tests.integration.conftest import Api, claims
from tests.support import DispatchDriver, load_event, use_messengers, whatsapp_signature

CTI = "cti-token-for-tests"
CLIENT, LINE = "+79161234567", "+74951234567"
LEAD = "555000111"
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "phone_numbers": [LINE],
            "lead_chat_id": LEAD,
            "calendar": {
                "hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
            },
            "callbacks": {"max_attempts": 2},
        },
        {"id": "d1"},
    ]
}
FRIDAY_17 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 17:00 in Moscow


class Sent:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    def send(self, message: Any) -> Any:
        from helpdesk.channels.base import SendResult

        self.messages.append(message)
        return SendResult(provider_message_id=None)


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    use_messengers(monkeypatch)
    monkeypatch.setenv("GENERIC_CTI_TOKEN", CTI)
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    monkeypatch.setenv("HELPDESK_NOW", iso(FRIDAY_17))
    get_settings.cache_clear()
    sent = Sent()
    DispatchDriver(aws, monkeypatch).use(sent)
    return {
        "calls": Api("CallWebhookFunction", None),
        "agent": Api("TicketsFunction", claims("agent", "agent-1")),
        "lead": Api("TicketsFunction", claims("lead", "lead-1")),
        "driver": DispatchDriver(aws, monkeypatch),
        "sent": sent,
        "monkeypatch": monkeypatch,
    }


def call(
    desk: dict[str, Any],
    call_id: str,
    event: str,
    *,
    out: bool = False,
    client: str = CLIENT,
    **extra: Any,
) -> Any:
    body = {
        "event": event,
        "call_id": call_id,
        "direction": "out" if out else "in",
        "from": LINE if out else client,
        "to": client if out else LINE,
        **extra,
    }
    headers = {"Authorization": f"Bearer {CTI}"}
    status, answer = desk["calls"].call(
        "POST", "/webhooks/calls/generic", raw=json.dumps(body).encode(), headers=headers
    )
    assert status == 200, answer
    return answer


def missed(desk: dict[str, Any], call_id: str = "m1", client: str = CLIENT) -> str:
    call(desk, call_id, "newCall", client=client)
    call(desk, call_id, "hangup", cause="noAnswer", user="101", client=client)
    return str(call(desk, call_id, "hangup", cause="noAnswer", user="101", client=client)["ticket"])


def worklist(desk: dict[str, Any]) -> list[dict[str, Any]]:
    status, body = desk["agent"].call("GET", "/callbacks", query="direction=d0")
    assert status == 200, body
    return list(body["callbacks"])


def sweep() -> dict[str, Any]:
    spec = functions()["MissedCallSweepFunction"]
    result: dict[str, Any] = load_function(spec).lambda_handler(
        scheduled_event("missed"), LambdaContext(spec.logical_id)
    )
    return result


def at(desk: dict[str, Any], moment: datetime) -> None:
    desk["monkeypatch"].setenv("HELPDESK_NOW", iso(moment))


def test_a_missed_call_waits_on_the_worklist_of_the_agent_it_was_meant_for(
    desk: dict[str, Any],
) -> None:
    number = missed(desk)
    (entry,) = worklist(desk)
    assert (entry["id"], entry["meant_for"], entry["attempts"]) == (number, "101", 0)
    # Friday 17:00: the two working days are Monday and Tuesday, until 18:00 Moscow.
    assert entry["call_back_by"] == "2026-12-01T15:00:00.000Z"
    at(desk, FRIDAY_17 + timedelta(days=3))  # Monday: still in time
    assert sweep() == {"looked_at": 1, "contacted_elsewhere": 0, "escalated": 0}
    assert worklist(desk)[0]["escalated"] is False


def test_an_answered_outbound_call_closes_it_as_called_back(desk: dict[str, Any]) -> None:
    number = missed(desk)
    call(desk, "o1", "newCall", out=True)
    call(desk, "o1", "answer", out=True, user="101")
    call(desk, "o1", "hangup", out=True, cause="normalClearing", duration=60, user="101")
    call(desk, "o1", "hangup", out=True, cause="normalClearing", duration=60, user="101")  # again
    ticket = desk["agent"].call("GET", f"/tickets/{number}")[1]["ticket"]
    assert (ticket["status"], ticket["callback"]["outcome"]) == ("closed", "called_back")
    assert ticket["callback"]["attempts"] == 1  # the redelivered hangup counted nothing
    assert "needs_callback" not in ticket["flags"]
    assert worklist(desk) == []


def test_unanswered_attempts_end_as_unreachable_and_the_client_hears_in_a_messenger(
    desk: dict[str, Any],
) -> None:
    body = load_event("whatsapp/text_message")
    messenger = Api("MessengerWebhookFunction", None)
    raw = json.dumps(body).encode()
    messenger.call("POST", "/webhooks/whatsapp", raw=raw, headers=whatsapp_signature(raw))
    wa_phone = "+" + body["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    number = missed(desk, client=wa_phone)
    for attempt in ("o1", "o2"):
        call(desk, attempt, "newCall", out=True, client=wa_phone)
        call(desk, attempt, "hangup", out=True, cause="noAnswer", user="101", client=wa_phone)
    ticket = desk["agent"].call("GET", f"/tickets/{number}")[1]
    assert ticket["ticket"]["callback"]["outcome"] == "unreachable"
    assert ticket["ticket"]["callback"]["attempts"] == 2
    (told,) = [m for m in ticket["messages"] if m["kind"] == "auto"]
    assert (told["channel"], told["recipient_id"]) == ("whatsapp", wa_phone.lstrip("+"))
    assert "не смогли до вас дозвониться" in told["text"]


def test_a_client_reached_in_another_ticket_closes_the_missed_call_with_a_link(
    desk: dict[str, Any],
) -> None:
    number = missed(desk)
    at(desk, FRIDAY_17 + timedelta(minutes=20))  # the client calls again and gets through
    call(desk, "in2", "newCall")
    call(desk, "in2", "answer", user="102")
    other = call(desk, "in2", "hangup", cause="normalClearing", duration=30, user="102")["ticket"]
    desk["agent"].call("PATCH", f"/tickets/{other}", {"topic": "billing"})
    assert sweep()["contacted_elsewhere"] == 1
    view = desk["agent"].call("GET", f"/tickets/{number}")[1]
    assert view["ticket"]["status"] == "closed"
    assert view["ticket"]["callback"]["outcome"] == "contacted_elsewhere"
    assert view["ticket"]["topic"] == "billing"
    (comment,) = [m for m in view["messages"] if m["kind"] == "comment"]
    assert other in comment["text"]
    assert sweep()["looked_at"] == 0  # off the worklist


def test_after_two_working_days_it_is_escalated_to_the_lead_once(desk: dict[str, Any]) -> None:
    number = missed(desk)
    at(desk, datetime(2026, 12, 1, 15, 30, tzinfo=UTC))  # Tuesday 18:30 Moscow
    assert sweep()["escalated"] == 1
    assert sweep()["escalated"] == 0
    desk["driver"].drain()
    assert [m.recipient_id for m in desk["sent"].messages] == [LEAD]
    assert number in desk["sent"].messages[0].text
    (entry,) = worklist(desk)  # still on the worklist, for the lead to reassign
    assert entry["escalated"] is True
    assert desk["lead"].call("POST", f"/tickets/{number}/assign", {"assignee": "102"})[0] == 200
    assert worklist(desk)[0]["meant_for"] == "102"


def test_the_worklist_needs_a_known_direction(desk: dict[str, Any]) -> None:
    assert desk["agent"].call("GET", "/callbacks", query="direction=zz")[0] == 422
    assert desk["agent"].call("GET", "/callbacks")[0] == 422


def test_a_sweep_reads_no_ticket_that_needs_no_decision(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Escalated and still-in-time calls cost their index entry and one reach record per
    client, whatever the table holds: the ticket is read only when something is decided."""
    from tests.faults import AwsFaults

    missed(desk, "m1")
    missed(desk, "m2", client="+79160000002")
    at(desk, datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
    assert sweep()["escalated"] == 2
    missed(desk, "m3", client="+79160000003")  # in time: nothing to decide
    faults = AwsFaults()
    faults.install(monkeypatch)
    with faults.recording() as trace:
        assert sweep() == {"looked_at": 3, "contacted_elsewhere": 0, "escalated": 0}
    operations = [operation for operation, _ in trace]
    assert "GetItem" not in operations and "TransactWriteItems" not in operations
    assert operations.count("BatchGetItem") == 1  # the three clients' reach records at once
