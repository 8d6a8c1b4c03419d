"""One stack per state directory and per set of ports; bursts answered; Ctrl-C is prompt."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.e2e.conftest import ROOT, free_port, start_stack


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_second_stack_and_reset_are_refused_while_the_first_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = start_stack(state)
    try:
        headers = {"Authorization": f"Bearer {first.token('agent')}"}
        created = requests.post(
            f"{first.api}/tickets",
            json={"direction": "d0", "subject": "Keep me", "text": "..."},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201
        before = files(state)
        assert before["stack.lock"].decode() == str(first.process.pid)

        same_ports = run([sys.executable, "-m", "infra.local_stack"], first.env)
        assert same_ports.returncode != 0
        message = same_ports.stderr
        assert first.env["LOCAL_PORT"] in message and "LOCAL_PORT" in message, message
        assert "in use" in message and "SANDBOX_PORT=" in message and "MOTO_PORT=" in message
        assert str(first.process.pid) in message  # and the state dir is taken too

        other_ports = {
            **first.env,
            **{
                name: str(free_port())
                for name in ("LOCAL_PORT", "SANDBOX_PORT", "MOTO_PORT", "SMTP_PORT")
            },
        }
        same_state = run([sys.executable, "-m", "infra.local_stack"], other_ports)
        assert same_state.returncode != 0
        assert "Another local stack" in same_state.stderr and "LOCAL_STATE_DIR" in same_state.stderr

        reset = run([sys.executable, "-m", "infra.reset", str(state)], first.env)
        assert reset.returncode != 0 and "running" in reset.stderr

        assert files(state) == before  # not a byte of the first stack's files changed
        number = created.json()["id"]
        assert requests.get(f"{first.api}/tickets/{number}", headers=headers).status_code == 200
    finally:
        first.stop()

    reset = run([sys.executable, "-m", "infra.reset", str(state)], first.env)
    assert reset.returncode == 0, reset.stderr
    assert [p.name for p in state.iterdir()] == ["stack.lock"]


def test_a_burst_of_50_is_answered_and_ctrl_c_then_stops_within_seconds(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "state")
    headers = {"Authorization": f"Bearer {stack.token('agent')}"}

    def call(n: int) -> int:
        if n % 5 == 0:
            return requests.post(
                f"{stack.api}/tickets",
                json={"direction": "d0", "subject": f"Burst {n}", "text": "..."},
                headers={**headers, "Connection": "close"},
                timeout=60,
            ).status_code
        return requests.get(
            f"{stack.api}/openapi.json", headers={"Connection": "close"}, timeout=60
        ).status_code

    try:
        with ThreadPoolExecutor(50) as pool:
            statuses = list(pool.map(call, range(50)))
        assert sorted(set(statuses)) == [200, 201] and len(statuses) == 50

        started = time.monotonic()
        stack.process.send_signal(signal.SIGINT)
        stack.process.wait(timeout=30)
        assert time.monotonic() - started < 5
    finally:
        if stack.process.poll() is None:
            stack.kill()
    assert stack.process.returncode == 0, stack.output()
    assert "State saved" in stack.output()
