"""The SLA sweep through its scheduled function, on moto: warnings and breaches marked and
told once (also when two sweeps run at once), reminders and auto-resolution, and the queue in
deadline order."""

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
from tests.support import TG_SECRET, WA_NUMBER, DispatchDriver, load_event, use_messengers

TEAM, LEAD = "-1001234567890", "555000111"
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "whatsapp_phone_number_ids": [WA_NUMBER],
            "team_chat_id": TEAM,
            "lead_chat_id": LEAD,
            "calendar": {
                "hours": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
            },
            "sla": {
                "targets": {
                    "normal": {"first_response": "2h", "next_response": "2h", "resolution": "8h"}
                }
            },
        },
        {"id": "d1", "language": "en"},
    ]
}
MONDAY_9 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
H = timedelta(hours=1)


class Sent:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    def send(self, message: Any) -> Any:
        from helpdesk.channels.base import SendResult

        self.messages.append(message)
        return SendResult(provider_message_id=f"p-{len(self.messages)}")


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    use_messengers(monkeypatch)
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    monkeypatch.setenv("HELPDESK_NOW", iso(MONDAY_9))
    get_settings.cache_clear()
    sent = Sent()
    driver = DispatchDriver(aws, monkeypatch)
    driver.use(sent)
    return {
        "webhook": Api("MessengerWebhookFunction", None),
        "agent": Api("TicketsFunction", claims("agent", "agent-1")),
        "driver": driver,
        "sent": sent,
        "monkeypatch": monkeypatch,
    }


def at(desk: dict[str, Any], moment: datetime) -> None:
    desk["monkeypatch"].setenv("HELPDESK_NOW", iso(moment))


def sweep() -> dict[str, Any]:
    spec = functions()["SlaSweepFunction"]
    result: dict[str, Any] = load_function(spec).lambda_handler(
        scheduled_event("sla"), LambdaContext(spec.logical_id)
    )
    return result


def client_writes(desk: dict[str, Any], update_id: int = 1, text: str = "Не могу войти") -> None:
    update = load_event("telegram/text_message")
    update["update_id"] = update["message"]["message_id"] = update_id
    update["message"]["text"] = text
    update["message"]["date"] = int(desk_now().timestamp())
    raw = json.dumps(update, ensure_ascii=False).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    assert desk["webhook"].call("POST", "/webhooks/telegram", raw=raw, headers=headers)[0] == 200


def desk_now() -> datetime:
    from helpdesk.models import utc_now

    return utc_now()


def notices(desk: dict[str, Any]) -> list[tuple[str, str]]:
    desk["driver"].drain()
    return [
        (m.recipient_id, m.text) for m in desk["sent"].messages if m.recipient_id in (TEAM, LEAD)
    ]


def test_the_acknowledgement_tells_when_we_will_answer(desk: dict[str, Any]) -> None:
    client_writes(desk)
    desk["driver"].drain()
    ack = desk["sent"].messages[-1].text
    assert (
        ack == "Обращение D0-000001 зарегистрировано. Мы ответим до 11:00, понедельник, 23 ноября."
    )
    ticket = desk["agent"].call("GET", "/tickets/D0-000001")[1]["ticket"]
    assert ticket["sla"]["first_response"]["due"] == "2026-11-23T08:00:00.000Z"


def test_a_warning_then_a_breach_are_told_once_each(desk: dict[str, Any]) -> None:
    client_writes(desk)
    assert sweep()["looked_at"] == 0  # nothing due yet: the timer index holds the future
    at(desk, MONDAY_9 + 1.7 * H)
    assert sweep()["warned"] == 1
    assert sweep()["warned"] == 0  # a rerun finds nothing new
    (warning,) = notices(desk)
    assert warning[0] == TEAM and "D0-000001" in warning[1] and "Скоро срок" in warning[1]
    at(desk, MONDAY_9 + 2.5 * H)
    assert sweep()["breached"] == 1
    assert sweep() == {
        "looked_at": 0,
        "warned": 0,
        "breached": 0,
        "reminded": 0,
        "auto_resolved": 0,
    }
    told = notices(desk)[1:]
    assert sorted(chat for chat, _ in told) == sorted([TEAM, LEAD])
    assert all("Просрочен первый ответ" in text for _, text in told)
    view = desk["agent"].call("GET", "/tickets/D0-000001")[1]
    assert [e["action"] for e in view["history"] if e["action"].startswith("sla_")] == [
        "sla_warned",
        "sla_breached",
    ]
    clock = view["ticket"]["sla"]["first_response"]
    assert clock["breached_at"] == iso(MONDAY_9 + 2.5 * H) and clock["state"] == "running"


def test_two_sweeps_at_once_tell_the_team_once(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second sweep reads the ticket, then the first writes; the second's write fails its
    version condition, it re-reads and finds the warning already marked."""
    client_writes(desk)
    at(desk, MONDAY_9 + 1.7 * H)
    module = load_function(functions()["SlaSweepFunction"])
    store = module.sweep.store
    real = store.transact
    raced: list[bool] = []

    def the_other_sweep_first(writes: Any) -> Any:
        if not raced:
            raced.append(True)
            monkeypatch.setattr(store, "transact", real)
            assert sweep()["warned"] == 1
        return real(writes)

    monkeypatch.setattr(store, "transact", the_other_sweep_first)
    assert sweep()["warned"] == 0
    assert len(notices(desk)) == 1


def test_an_answer_in_time_meets_the_promise_and_nothing_is_told(desk: dict[str, Any]) -> None:
    client_writes(desk)
    at(desk, MONDAY_9 + H)
    assert desk["agent"].call("POST", "/tickets/D0-000001/replies", {"text": "Смотрим"})[0] == 200
    at(desk, MONDAY_9 + 3 * H)
    assert sweep()["breached"] == 0
    clock = desk["agent"].call("GET", "/tickets/D0-000001")[1]["ticket"]["sla"]["first_response"]
    assert (clock["state"], clock["met_at"]) == ("met", iso(MONDAY_9 + H))
    assert notices(desk) == []


def test_a_silent_client_is_reminded_once_then_the_ticket_resolves(desk: dict[str, Any]) -> None:
    body = load_event("telegram/text_message")
    client_writes(desk)
    reply = {"text": "Какая у вас версия?", "wait_for_client": True}
    assert desk["agent"].call("POST", "/tickets/D0-000001/replies", reply)[0] == 200
    desk["driver"].drain()
    at(desk, MONDAY_9 + 49 * H)
    assert sweep()["reminded"] == 1
    assert sweep()["reminded"] == 0
    desk["driver"].drain()
    at(desk, MONDAY_9 + 49 * H + 73 * H)
    assert sweep()["auto_resolved"] == 1
    view = desk["agent"].call("GET", "/tickets/D0-000001")[1]
    assert view["ticket"]["status"] == "resolved"
    desk["driver"].drain()
    texts = [
        m.text
        for m in desk["sent"].messages
        if m.recipient_id == str(body["message"]["chat"]["id"])
    ]
    assert "мы ждём вашего ответа" in texts[-2] and "закрываем обращение D0-000001" in texts[-1]


def test_the_queue_in_deadline_order_puts_the_soonest_and_our_clients_first(
    desk: dict[str, Any],
) -> None:
    client_writes(desk, 1)
    at(desk, MONDAY_9 + 0.5 * H)
    update = load_event("telegram/text_message")
    update["update_id"] = update["message"]["message_id"] = 2
    update["message"]["chat"]["id"] = update["message"]["from"]["id"] = 42
    raw = json.dumps(update, ensure_ascii=False).encode()
    desk["webhook"].call(
        "POST",
        "/webhooks/telegram",
        raw=raw,
        headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
    )
    agent = desk["agent"]
    page = agent.call("GET", "/tickets", query="direction=d0&sort=due")[1]["tickets"]
    assert [t["id"] for t in page] == ["D0-000001", "D0-000002"]
    assert page[0]["response_due"] == "2026-11-23T08:00:00.000Z"
    second = agent.call("GET", "/tickets/D0-000002")[1]["ticket"]["customer_id"]
    lead = Api("TicketsFunction", claims("lead", "lead-1"))
    assert lead.call("PATCH", f"/customers/{second}", {"groups": ["our_clients"]})[0] == 200
    page = agent.call("GET", "/tickets", query="direction=d0&sort=due")[1]["tickets"]
    assert [t["id"] for t in page] == ["D0-000002", "D0-000001"]  # tighter target: due sooner
    assert page[0]["our_client"] is True
    assert agent.call("GET", "/tickets", query="sort=due")[0] == 400  # one direction's queue
    assign = {"assignee": "agent-2"}
    assert agent.call("POST", "/tickets/D0-000001/assign", assign)[0] == 200
    mine = agent.call("GET", "/tickets", query="direction=d0&sort=due&assignee=agent-2")[1]
    assert [t["id"] for t in mine["tickets"]] == ["D0-000001"]
    nobody = agent.call("GET", "/tickets", query="direction=d0&sort=due&assignee=none")[1]
    assert [t["id"] for t in nobody["tickets"]] == ["D0-000002"]
