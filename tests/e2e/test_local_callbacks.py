"""Promises kept, on the real local stack: every missed call ends in a callback.

A missed call reported by a PBX in the generic CTI format (docs/generic-cti.md) lands on the
callback worklist; an answered outbound call to the client's number closes it as called back.
The stack's clock is set to the sample events' day so that the miss is fresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.conftest import ROOT, RunningStack
from tests.e2e.test_local_sla import (
    LEAD_CHAT,
    TEAM_CHAT,
    get,
    promise_stack,
    set_clock,
    sweep,
    telegram_to,
    texts_to,
)

SAMPLES = ROOT / "events" / "calls" / "generic"
CLIENT = "+79161234567"  # the samples' caller
LINE = "+74951234567"  # the samples' helpdesk line
MOSCOW = ZoneInfo("Europe/Moscow")
# Tuesday 14 May 2024, 13:16 in Moscow: a minute after the sample call gave up ringing.
AFTER_THE_MISS = "2024-05-14T10:16:00Z"


@pytest.fixture
def phone_stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = promise_stack(tmp_path / "state", AFTER_THE_MISS)
    yield running
    if running.process.poll() is None:
        running.stop()


def cti(stack: RunningStack, event: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        f"{stack.api}/webhooks/calls/generic",
        json=event,
        headers={"Authorization": "Bearer local-generic-cti-token"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def missed_call(stack: RunningStack) -> str:
    """The samples' inbound call, given up while it rang: a missed call's ticket."""
    for sample in ("new_call", "hangup_no_answer"):
        answer = cti(stack, json.loads((SAMPLES / f"{sample}.json").read_text(encoding="utf-8")))
    ticket: str = answer["ticket"]
    return ticket


def call_back(stack: RunningStack, call_id: str, at: str, *, answered: bool = True) -> str:
    """An agent (extension 101) calls the client from the helpdesk line, starting at `at`
    (an instant in UTC); answered, they talk for 51 seconds."""
    start = datetime.fromisoformat(at).astimezone(MOSCOW)

    def moment(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).isoformat()  # e.g. ...T13:58:00+03:00

    call = {"call_id": call_id, "direction": "out", "from": LINE, "to": CLIENT, "user": "101"}
    opened = cti(stack, {**call, "event": "newCall", "timestamp": moment(0)})
    if answered:
        cti(stack, {**call, "event": "answer", "timestamp": moment(9)})
        ended: dict[str, Any] = {"cause": "normalClearing", "duration": 51, "timestamp": moment(60)}
    else:
        ended = {"cause": "noAnswer", "timestamp": moment(30)}
    cti(stack, {**call, **ended, "event": "hangup"})
    ticket: str = opened["ticket"]
    return ticket


def worklist(stack: RunningStack, token: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = get(stack, "/callbacks?direction=d0", token)["callbacks"]
    return entries


def test_a_missed_call_waits_on_the_worklist_until_an_answered_callback_closes_it(
    phone_stack: RunningStack,
) -> None:
    stack = phone_stack
    token = stack.token("agent", "alice")
    number = missed_call(stack)

    [entry] = worklist(stack, token)
    assert entry["id"] == number and entry["client_number"] == CLIENT
    assert entry["flags"] == ["missed_call", "needs_callback"]
    assert entry["missed_at"] == "2024-05-14T10:15:33.000Z"
    # The end of the second working day after the miss: Thursday 18:00 in Moscow.
    assert entry["call_back_by"] == "2024-05-16T15:00:00.000Z"
    assert (entry["attempts"], entry["escalated"]) == (0, False)
    # Fresh and not reached elsewhere: the sweep leaves it for the agents.
    assert sweep(stack, "missed_call_sweep") == {
        "looked_at": 1,
        "contacted_elsewhere": 0,
        "escalated": 0,
    }
    assert [e["id"] for e in worklist(stack, token)] == [number]

    # A call that nobody picks up is an attempt; the ticket stays on the list.
    set_clock(stack, "2024-05-14T10:41:00Z")
    call_back(stack, "out-unanswered", "2024-05-14T10:40:00Z", answered=False)
    [entry] = worklist(stack, token)
    assert (entry["id"], entry["attempts"]) == (number, 1)

    # Forty-five minutes after the miss an agent calls the client back and they answer.
    set_clock(stack, "2024-05-14T11:00:00Z")
    call_back(stack, "out-answered", "2024-05-14T10:59:00Z")
    assert worklist(stack, token) == []
    view = get(stack, f"/tickets/{number}", token)
    ticket = view["ticket"]
    assert ticket["status"] == "closed" and ticket["closed_at"] == "2024-05-14T11:00:00.000Z"
    assert ticket["callback"]["outcome"] == "called_back"
    assert ticket["callback"]["attempts"] == 2
    assert "needs_callback" not in ticket["flags"] and "missed_call" in ticket["flags"]
    assert [e["action"] for e in view["history"]][-1] == "callback_called_back"
    assert get(stack, "/tickets?flag=needs_callback", token)["tickets"] == []

    # The same hangup delivered again (a PBX retry) counts nothing twice; the sweep has
    # nothing left to look at.
    again = {
        "call_id": "out-answered",
        "direction": "out",
        "from": LINE,
        "to": CLIENT,
        "event": "hangup",
        "cause": "normalClearing",
        "duration": 51,
        "timestamp": "2024-05-14T14:00:00+03:00",
    }
    assert cti(stack, again)["handled"] == "duplicate"
    assert get(stack, f"/tickets/{number}", token)["ticket"]["callback"]["attempts"] == 2
    assert sweep(stack, "missed_call_sweep")["looked_at"] == 0


def test_a_missed_call_not_called_back_in_two_working_days_reaches_the_lead_once(
    phone_stack: RunningStack,
) -> None:
    stack = phone_stack
    token = stack.token("lead", "lena")
    number = missed_call(stack)

    # Thursday 18:01 in Moscow: the two working days are over.
    set_clock(stack, "2024-05-16T15:01:00Z")
    assert sweep(stack, "missed_call_sweep")["escalated"] == 1
    lead = texts_to(stack, LEAD_CHAT, 1)
    team = texts_to(stack, TEAM_CHAT, 1)
    assert len(lead) == 1 and number in lead[0] and "не перезвонили" in lead[0], lead
    assert team == lead
    [entry] = worklist(stack, token)  # escalated, it stays until someone reaches the client
    assert (entry["id"], entry["escalated"]) == (number, True)

    assert sweep(stack, "missed_call_sweep")["escalated"] == 0  # told once
    set_clock(stack, "2024-05-17T07:00:00Z")  # Friday 10:00 in Moscow
    call_back(stack, "out-late", "2024-05-17T06:59:00Z")
    assert worklist(stack, token) == []
    ticket = get(stack, f"/tickets/{number}", token)["ticket"]
    assert (ticket["status"], ticket["callback"]["outcome"]) == ("closed", "called_back")
    notices = telegram_to(stack, LEAD_CHAT) + telegram_to(stack, TEAM_CHAT)
    assert len(notices) == 2, notices


def test_an_answered_callback_makes_no_promise_of_its_own(phone_stack: RunningStack) -> None:
    stack = phone_stack
    token = stack.token("agent", "alice")
    missed_call(stack)
    set_clock(stack, "2024-05-14T11:00:00Z")
    outbound = call_back(stack, "out-answered", "2024-05-14T10:59:00Z")
    assert worklist(stack, token) == []

    # The agent has just talked to the client: nobody waits for an answer on this ticket.
    queue = get(stack, "/tickets?direction=d0&sort=due", token)["tickets"]
    assert outbound not in [t["id"] for t in queue]
    set_clock(stack, "2024-05-15T10:01:00Z")  # the next day, past 8 working hours
    result = sweep(stack, "sla_sweep")
    assert result["breached"] == 0, f"{outbound}'s first response reported overdue: {result}"
