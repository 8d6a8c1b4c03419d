"""End-to-end fixtures: the real local stack in a subprocess, on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningStack:
    api: str
    sandbox: str
    process: subprocess.Popen[str]
    env: dict[str, str]
    log: Path
    moto: str = ""
    smtp_port: int = 0

    def token(self, role: str, subject: str | None = None) -> str:
        command = [sys.executable, "-m", "infra.dev_auth", role, *([subject] if subject else [])]
        return subprocess.check_output(command, cwd=ROOT, env=self.env, text=True).strip()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        output = self.output()
        assert self.process.returncode == 0, output
        return output

    def kill(self) -> None:
        """kill -9: no handler runs, nothing is flushed or saved on the way out."""
        self.process.kill()
        self.process.wait(timeout=10)


def start_stack(state_dir: Path, extra_env: dict[str, str] | None = None) -> RunningStack:
    """The stack as `make run` starts it; its output goes to a file (a pipe nobody reads
    would fill up and block the stack's logging)."""
    ports = {name: free_port() for name in ("LOCAL_PORT", "SANDBOX_PORT", "MOTO_PORT", "SMTP_PORT")}
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    log = state_dir.parent / f"stack-{time.monotonic_ns()}.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **{name: str(port) for name, port in ports.items()},
        "LOCAL_STATE_DIR": str(state_dir),
        "LOCAL_SCHEDULE_SECONDS": "2",
        **(extra_env or {}),
    }
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local_stack"],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
    stack = RunningStack(
        f"http://127.0.0.1:{ports['LOCAL_PORT']}",
        f"http://127.0.0.1:{ports['SANDBOX_PORT']}",
        process,
        env,
        log,
        f"http://127.0.0.1:{ports['MOTO_PORT']}",
        ports["SMTP_PORT"],
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"local stack exited: {stack.output()}")
        try:
            if requests.get(f"{stack.api}/openapi.json", timeout=1).status_code == 200:
                return stack
        except requests.RequestException:  # not listening yet, or bound but not serving yet
            time.sleep(0.3)
    process.kill()
    raise AssertionError("local stack did not start within 60 s")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = start_stack(tmp_path / "state")
    yield running
    if running.process.poll() is None:
        running.stop()
