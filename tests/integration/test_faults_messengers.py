"""Fault injection: every AWS call a messenger webhook makes fails in turn (throttled, or
applied with its answer lost), and the provider's retry of the same request must end where
the fault-free run ends: one ticket, each inbound event once, each greeting, acknowledgement
and rating thanks sent exactly once, no ticket number handed out twice."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.faults import WRITES, Desk, as_provider, each_fault_is_healed_by_a_retry
from tests.support import load_event

Request = Callable[[], tuple[int, Any]]
ACK_WAMID = "wamid.HBgLMTYzMTU1NTExODEVAgARGBI1QjlGMDU0RkY2QzQwNjY4RTkA"


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Desk:
    return Desk(aws, monkeypatch)


# ---- what clients send -------------------------------------------------------------------


def tg_message(update_id: int = 734910400, text: str = "Не могу войти в кабинет") -> dict[str, Any]:
    update = load_event("telegram/text_message")
    update["update_id"] = update_id
    update["message"]["message_id"] = update_id
    update["message"]["text"] = text
    return update


def tg_press(ticket_id: str, value: str = "good") -> dict[str, Any]:
    update = load_event("telegram/callback_query")
    update["callback_query"]["data"] = f"csat:{ticket_id}:{value}"
    return update


def wa_message(wamid: str = "wamid.first", text: str = "My order is stuck") -> dict[str, Any]:
    body = load_event("whatsapp/text_message")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, timestamp=str(int(time.time())), text={"body": text})
    return body


def wa_press(ticket_id: str, value: str = "bad") -> dict[str, Any]:
    body = load_event("whatsapp/interactive_button_reply")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"]["button_reply"]["id"] = f"csat:{ticket_id}:{value}"
    message["timestamp"] = str(int(time.time()))
    return body


def wa_status(name: str) -> dict[str, Any]:
    body = load_event(f"whatsapp/{name}")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = ACK_WAMID
    return body


# ---- scenarios: what happened before (fault-free), and the request under test -------------


@dataclass(frozen=True)
class Scenario:
    name: str
    given: Callable[[Desk], None]
    request: Callable[[Desk], Request]

    def __str__(self) -> str:
        return self.name


def nothing(desk: Desk) -> None:
    pass


def tg_ticket(desk: Desk) -> None:
    assert as_provider(desk.telegram(tg_message())) == [200]
    desk.drain()


def tg_resolved(desk: Desk) -> None:
    tg_ticket(desk)
    assert desk.agent.call("POST", "/tickets/D0-000001/resolve", {"resolution": "Fixed"})[0] == 200
    desk.drain()


def wa_ticket(desk: Desk) -> None:
    desk.provider.provider_ids[:] = ["wamid.greeting", ACK_WAMID]
    assert as_provider(desk.whatsapp(wa_message())) == [200]
    desk.drain()


def wa_resolved(desk: Desk) -> None:
    wa_ticket(desk)
    assert desk.agent.call("POST", "/tickets/D0-000001/resolve", {"resolution": "Sent"})[0] == 200
    desk.drain()


SCENARIOS = [
    Scenario("telegram first contact", nothing, lambda d: d.telegram(tg_message())),
    Scenario(
        "telegram continued message",
        tg_ticket,
        lambda d: d.telegram(tg_message(734910401, "И счёт неверный")),
    ),
    Scenario("telegram rating press", tg_resolved, lambda d: d.telegram(tg_press("D0-000001"))),
    Scenario("whatsapp first contact", nothing, lambda d: d.whatsapp(wa_message())),
    Scenario(
        "whatsapp continued message",
        wa_ticket,
        lambda d: d.whatsapp(wa_message("wamid.second", "Still nothing")),
    ),
    Scenario("whatsapp rating press", wa_resolved, lambda d: d.whatsapp(wa_press("D0-000001"))),
    Scenario("whatsapp status sent", wa_ticket, lambda d: d.whatsapp(wa_status("status_sent"))),
    Scenario("whatsapp status failed", wa_ticket, lambda d: d.whatsapp(wa_status("status_failed"))),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_a_fault_at_each_aws_call_is_healed_by_the_providers_retry(
    desk: Desk, scenario: Scenario
) -> None:
    # given: what happened before
    scenario.given(desk)
    # when / then: the request meets a fault at each AWS call in turn, the provider sends it
    # again after the 5xx, and the run ends where the fault-free run ends
    each_fault_is_healed_by_a_retry(desk, scenario.request(desk), desk.state)
    # and the fault-free run sent each message once
    assert all(t["sends"] == [1] * len(t["sends"]) for t in desk.state())


# ---- conditional-check races: another delivery lands just before each write -------------


def writes_of(trace: list[tuple[str, bool]]) -> int:
    return sum(1 for operation, _ in trace if operation in WRITES)


@pytest.mark.parametrize(
    ("given", "text"),
    [(nothing, "first contact"), (tg_ticket, "continued")],
    ids=["first contact", "continued"],
)
def test_another_message_of_the_client_at_each_write_loses_nothing(
    desk: Desk, given: Callable[[Desk], None], text: str
) -> None:
    """Two messages of one client at once, the other landing before each write of this one:
    both stored once on one ticket, greeted and acknowledged once."""
    given(desk)
    before = desk.snapshot()
    earlier = [m[2] for t in desk.state() for m in t["messages"] if m[0] == "inbound"]
    this, other = tg_message(734910401, text), tg_message(734910402, "other")
    with desk.faults.recording() as trace:
        assert as_provider(desk.telegram(this)) == [200]
    for nth in range(1, writes_of(trace) + 1):
        desk.restore(before)
        answers: list[list[int]] = []

        def other_lands(answers: list[list[int]] = answers) -> None:
            answers.append(as_provider(desk.telegram(other)))

        desk.faults.before_write(nth, other_lands)

        # when
        assert as_provider(desk.telegram(this)) == [200], nth

        # then
        assert answers == [[200]], nth
        desk.drain()
        (ticket,) = desk.state()
        inbound = sorted(m[2] for m in ticket["messages"] if m[0] == "inbound")
        assert inbound == sorted([*earlier, text, "other"]), nth
        assert ticket["ticket"]["message_count"] == len(inbound), nth
        assert ticket["sends"] == [1, 1], nth  # greeting and acknowledgement, once each


@pytest.mark.parametrize("same", [True, False], ids=["the same press again", "another press"])
def test_another_press_at_each_write_rates_once_and_thanks_once(desk: Desk, same: bool) -> None:
    tg_resolved(desk)
    before = desk.snapshot()
    this = tg_press("D0-000001", "good")
    other = copy.deepcopy(this)
    if not same:
        other["update_id"] += 1
        other["callback_query"]["id"] += "-2"
        other["callback_query"]["data"] = "csat:D0-000001:bad"
    with desk.faults.recording() as trace:
        assert as_provider(desk.telegram(this)) == [200]
    for nth in range(1, writes_of(trace) + 1):
        desk.restore(before)

        def other_lands_too() -> None:
            as_provider(desk.telegram(other))

        desk.faults.before_write(nth, other_lands_too)

        # when
        assert as_provider(desk.telegram(this)) == [200], nth

        # then
        desk.drain()
        view = desk.ticket("D0-000001")
        assert view["ticket"]["csat"]["value"] == ("good" if same else "bad"), nth
        assert [m["text"] for m in view["messages"]].count("Спасибо за оценку!") == 1, nth
        assert desk.provider.texts().count("Спасибо за оценку!") == 1, nth
