"""Promises kept, on the real local stack: an SLA breach reaches the team chat and the lead.

The stack runs with a direction config (business calendar, SLA targets, the team's and the
lead's Telegram chats) and its own clock; `infra.control` (what `make clock` and `make sweep`
run) moves the clock and fires the SLA sweep, and the sandbox's outbox shows what Telegram
would have delivered. The schedules are slowed to once an hour so that only the sweeps the
test fires run, and each one's answer can be checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, RunningStack, start_stack
from tests.e2e.test_local_stack import wait_for

TEAM_CHAT = "-1001234567890"
LEAD_CHAT = "777000111"
CLIENT_CHAT = 111222333  # the sample update's chat
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "timezone": "Europe/Moscow",
            "team_chat_id": TEAM_CHAT,
            "lead_chat_id": LEAD_CHAT,
            "calendar": {"hours": {day: ["09:00-18:00"] for day in WORKDAYS}},
            "sla": {
                "targets": {
                    "normal": {"first_response": "2h", "next_response": "4h", "resolution": "40h"}
                },
                "warn_at": 0.8,
            },
        }
    ]
}
# Friday 27 November 2026, 17:00 in Moscow: one working hour left in the week.
FRIDAY_EVENING = "2026-11-27T14:00:00Z"


def promise_stack(state_dir: Path, now: str) -> RunningStack:
    return start_stack(
        state_dir,
        {
            "HELPDESK_CONFIG": json.dumps(CONFIG),
            "HELPDESK_NOW": now,
            "LOCAL_SCHEDULE_SECONDS": "3600",  # only the sweeps a test fires
        },
    )


@pytest.fixture
def sla_stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = promise_stack(tmp_path / "state", FRIDAY_EVENING)
    yield running
    if running.process.poll() is None:
        running.stop()


def control(stack: RunningStack, *arguments: str) -> dict[str, Any]:
    """`python -m infra.control ...` against this stack (what `make sweep` / `make clock` do)."""
    done = subprocess.run(
        [sys.executable, "-m", "infra.control", *arguments],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def set_clock(stack: RunningStack, now: str) -> None:
    assert control(stack, "clock", now) == {"now": now}


def sweep(stack: RunningStack, name: str) -> dict[str, int]:
    answer = control(stack, "sweep", name)
    result: dict[str, int] = answer["result"]
    return result


def sent(stack: RunningStack) -> list[dict[str, Any]]:
    outbox: list[dict[str, Any]] = requests.get(f"{stack.sandbox}/outbox", timeout=5).json()["sent"]
    return outbox


def telegram_to(stack: RunningStack, chat: str | int) -> list[str]:
    """The texts sent with the Bot API's sendMessage to one chat, in order."""
    return [
        m["body"]["text"]
        for m in sent(stack)
        if m["path"].endswith("/sendMessage") and str(m["body"]["chat_id"]) == str(chat)
    ]


def texts_to(stack: RunningStack, chat: str | int, count: int) -> list[str]:
    """Wait until at least `count` messages reached the chat (the dispatcher sends from the
    queue), and return them all."""
    texts: list[str] = wait_for(lambda: len(found := telegram_to(stack, chat)) >= count and found)
    return texts


def get(stack: RunningStack, path: str, token: str) -> Any:
    answer = requests.get(
        f"{stack.api}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_breach_reaches_the_team_chat_and_the_lead_once(sla_stack: RunningStack) -> None:
    stack = sla_stack
    token = stack.token("agent", "alice")
    update = ROOT / "events" / "telegram" / "text_message.json"
    created = requests.post(
        f"{stack.api}/webhooks/telegram",
        data=update.read_bytes(),
        headers={
            "content-type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": "local-telegram-secret",
        },
        timeout=10,
    )
    assert created.json()["handled"] == ["created"], created.text
    number = "D0-000001"

    # The client hears when we will answer: two working hours from Friday 17:00 in Moscow
    # are Monday 10:00 (the weekend does not count), in Russian by default.
    client = texts_to(stack, CLIENT_CHAT, 2)
    acknowledgement = next(text for text in client if number in text)
    assert "Мы ответим до 10:00, понедельник, 30 ноября" in acknowledgement, acknowledgement

    clocks = get(stack, f"/tickets/{number}", token)["ticket"]["sla"]
    first = clocks["first_response"]
    assert first["state"] == "running"
    assert first["due"] == "2026-11-30T07:00:00.000Z"  # Monday 10:00 MSK
    assert first["warn_at"] == "2026-11-30T06:36:00.000Z"  # 80 % of 2 h: Monday 09:36 MSK
    queue = get(stack, "/tickets?direction=d0&sort=due", token)["tickets"]
    assert [(t["id"], t["response_due"]) for t in queue] == [(number, first["due"])]

    # Saturday noon: days past Friday 17:00 by the wall clock, no working time by the calendar.
    set_clock(stack, "2026-11-28T09:00:00Z")
    assert sweep(stack, "sla_sweep")["looked_at"] == 0

    # Monday 09:40 MSK, past the warning point: the team chat is warned, the lead is not.
    set_clock(stack, "2026-11-30T06:40:00Z")
    warned = sweep(stack, "sla_sweep")
    assert (warned["warned"], warned["breached"]) == (1, 0), warned
    team = texts_to(stack, TEAM_CHAT, 1)
    assert len(team) == 1 and number in team[0] and "Скоро срок" in team[0], team
    assert "10:00, понедельник, 30 ноября" in team[0]
    assert not telegram_to(stack, LEAD_CHAT)

    # Monday 10:05 MSK, past the due time: the breach reaches the team chat and the lead.
    set_clock(stack, "2026-11-30T07:05:00Z")
    breached = sweep(stack, "sla_sweep")
    assert (breached["warned"], breached["breached"]) == (0, 1), breached
    team = texts_to(stack, TEAM_CHAT, 2)
    lead = texts_to(stack, LEAD_CHAT, 1)
    assert "Просрочен первый ответ" in team[1] and number in team[1], team
    assert lead == [team[1]]

    # A third sweep finds nothing new to say: each warning and breach is told exactly once.
    set_clock(stack, "2026-11-30T07:30:00Z")
    again = sweep(stack, "sla_sweep")
    assert (again["looked_at"], again["warned"], again["breached"]) == (0, 0, 0), again

    def notices() -> list[tuple[str, str]]:
        messages = get(stack, f"/tickets/{number}", token)["messages"]
        return [(m["recipient_id"], m["delivery"]) for m in messages if m["kind"] == "notice"]

    # The notices are kept on the ticket, each marked sent once the dispatcher delivered it.
    told = [(TEAM_CHAT, "sent"), (TEAM_CHAT, "sent"), (LEAD_CHAT, "sent")]
    wait_for(lambda: notices() == told)
    view = get(stack, f"/tickets/{number}", token)
    actions = [entry["action"] for entry in view["history"]]
    assert actions.count("sla_warned") == 1 and actions.count("sla_breached") == 1, actions
    assert actions.index("sla_warned") < actions.index("sla_breached")
    first = view["ticket"]["sla"]["first_response"]
    assert first["warned_at"] == "2026-11-30T06:40:00.000Z"
    assert first["breached_at"] == "2026-11-30T07:05:00.000Z"
    assert first["state"] == "running"  # it runs until met: a late answer is recorded late
    queue = get(stack, "/tickets?direction=d0&sort=due", token)["tickets"]
    assert [t["id"] for t in queue] == [number]  # still at the head of the deadline order

    # The late answer meets the clock (the breach stays on record) and takes the ticket off
    # the deadline-ordered queue; the client's copy of it marks the end of the outbox.
    replied = requests.post(
        f"{stack.api}/tickets/{number}/replies",
        json={"text": "Sorry for the wait: try the reset link again"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert replied.status_code == 200, replied.text
    wait_for(lambda: any("reset link" in text for text in telegram_to(stack, CLIENT_CHAT)))
    first = get(stack, f"/tickets/{number}", token)["ticket"]["sla"]["first_response"]
    assert (first["state"], first["met_at"]) == ("met", "2026-11-30T07:30:00.000Z")
    assert first["breached_at"] == "2026-11-30T07:05:00.000Z"
    assert get(stack, "/tickets?direction=d0&sort=due", token)["tickets"] == []
    staff = telegram_to(stack, TEAM_CHAT) + telegram_to(stack, LEAD_CHAT)
    assert len(staff) == 3, staff  # nothing more reached the team or the lead
