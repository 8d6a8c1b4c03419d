"""The README's walk-through against the real local stack, over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import RunningStack, start_stack


def wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def test_working_a_ticket_over_http_and_finding_it_after_a_restart(
    stack: RunningStack, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {stack.token('agent', 'alice')}"}
    assert requests.get(f"{stack.api}/tickets", timeout=5).status_code == 401
    assert (
        requests.get(f"{stack.api}/tickets", headers={"Authorization": "Bearer x"}).status_code
        == 401
    )

    update = Path(__file__).resolve().parents[2] / "events" / "telegram" / "text_message.json"
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
    client_wrote = json.loads(update.read_text(encoding="utf-8"))["message"]["text"]

    replied = requests.post(
        f"{stack.api}/tickets/{number}/replies",
        json={"text": "We are looking into it", "version": 1},
        headers=headers,
        timeout=10,
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["assignee"] == "alice"

    def sent() -> list[dict[str, Any]]:
        outbox = requests.get(f"{stack.sandbox}/outbox", timeout=5).json()["sent"]
        return [m for m in outbox if m["body"].get("text") == "We are looking into it"]

    assert wait_for(sent)  # the dispatcher got the job from the queue and sent it
    ticket = wait_for(
        lambda: (
            (t := requests.get(f"{stack.api}/tickets/{number}", headers=headers, timeout=5).json())[
                "messages"
            ][-1]["delivery"]
            == "sent"
            and t
        )
    )
    assert ticket["ticket"]["status"] == "open"

    stale = requests.patch(
        f"{stack.api}/tickets/{number}", json={"topic": "x", "version": 1}, headers=headers
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"

    output = stack.stop()
    assert "State saved" in output

    again = start_stack(tmp_path / "state")
    try:
        view = requests.get(f"{again.api}/tickets/{number}", headers=headers, timeout=10)
        assert view.status_code == 200
        texts = [m["text"] for m in view.json()["messages"]]
        assert texts[0] == client_wrote and texts[-1] == "We are looking into it"
        second = requests.post(
            f"{again.api}/tickets",
            json={"direction": "d0", "subject": "Another", "text": "..."},
            headers=headers,
            timeout=10,
        )
        assert second.json()["id"] == "D0-000002"  # the counter survived too
    finally:
        again.stop()


def test_a_telegram_client_gets_greeting_and_number_through_the_sandbox(
    stack: RunningStack,
) -> None:
    """Webhook -> table -> queue -> dispatcher -> Telegram client -> the local sandbox."""
    update = Path(__file__).resolve().parents[2] / "events" / "telegram" / "text_message.json"
    refused = requests.post(
        f"{stack.api}/webhooks/telegram",
        data=update.read_bytes(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert refused.status_code == 401
    accepted = requests.post(
        f"{stack.api}/webhooks/telegram",
        data=update.read_bytes(),
        headers={
            "content-type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": "local-telegram-secret",
        },
        timeout=10,
    )
    assert accepted.json()["handled"] == ["created"], accepted.text

    def telegram_sends() -> list[dict[str, Any]]:
        outbox = requests.get(f"{stack.sandbox}/outbox", timeout=5).json()["sent"]
        return [m for m in outbox if m["path"].endswith("/sendMessage")]

    sends = wait_for(lambda: len(telegram_sends()) >= 2 and telegram_sends())
    assert all(m["path"].startswith("/telegram/bot123456789:") for m in sends)
    assert {m["body"]["chat_id"] for m in sends} == {111222333}
    assert any("D0-000001" in m["body"]["text"] for m in sends)
