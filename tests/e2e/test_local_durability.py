"""What the local stack acknowledged survives kill -9; a ticket number is never reused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.e2e.conftest import start_stack


def test_kill_9_loses_no_acknowledged_ticket_and_reuses_no_number(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "state")
    headers = {"Authorization": f"Bearer {stack.token('agent', 'alice')}"}

    def create(n: int) -> str:
        created = requests.post(
            f"{stack.api}/tickets",
            json={"direction": "d0", "subject": f"Ticket {n}", "text": f"Text {n}"},
            headers=headers,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    try:
        with ThreadPoolExecutor(4) as pool:
            acknowledged = list(pool.map(create, range(24)))
    finally:
        stack.kill()  # right after the last 201: no handler, no save on the way out
    assert len(set(acknowledged)) == 24

    again = start_stack(tmp_path / "state")
    try:
        for number in acknowledged:
            view = requests.get(f"{again.api}/tickets/{number}", headers=headers, timeout=10)
            assert view.status_code == 200, f"{number} was answered 201 and is gone"
        following = requests.post(
            f"{again.api}/tickets",
            json={"direction": "d0", "subject": "After the crash", "text": "..."},
            headers=headers,
            timeout=10,
        ).json()["id"]
        assert following not in acknowledged
        assert following == "D0-000025"
        health = requests.get(f"{again.api}/_local/health", timeout=5).json()
        assert health["status"] == "ok", health
        assert health["state"]["replayed_at_start"] > 0
    finally:
        again.stop()
