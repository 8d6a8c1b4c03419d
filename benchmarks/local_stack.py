"""Webhook latency of the local stack at 100 and at 10,000 stored tickets.

`webhook_latency_report()` starts the real local stack (a subprocess on free loopback
ports, a temporary state directory), stores 100 tickets, times Telegram first-contact
webhooks (a new chat each, one at a time, the dispatcher working alongside), then fills the
table up to 10,000 tickets and times the same again. The tickets are copies of the items
one POST /tickets stores, written straight into moto with batch_write_item, and the
per-direction counter is set to match. The goal: p99 under 1 s, about the same at both
sizes (nothing in the webhook path may cost in proportion to the table).

Standalone: python -m benchmarks.local_stack
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
TABLE = "helpdesk-local"
TELEGRAM_SECRET = "local-telegram-secret"
TELEGRAM_UPDATE = json.loads((ROOT / "events" / "telegram" / "text_message.json").read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StackProcess:
    """A local stack started as `make run` does, on free ports, for measuring."""

    process: subprocess.Popen[bytes]
    api: str
    sandbox: str
    moto: str
    log: Path

    def agent_headers(self) -> dict[str, str]:
        sys.path.insert(0, str(ROOT))
        from infra import dev_auth

        return {"Authorization": f"Bearer {dev_auth.issue('agent', 'bench')}"}

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.moto,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = requests.get(f"{self.api}/_local/health", timeout=10).json()
        return health


@contextmanager
def local_stack(extra_env: dict[str, str] | None = None) -> Iterator[StackProcess]:
    """Start, wait until it answers, yield, then stop it with Ctrl-C (SIGINT)."""
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-") as directory:
        ports = {"LOCAL_PORT": free_port(), "SANDBOX_PORT": free_port(), "MOTO_PORT": free_port()}
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **{name: str(port) for name, port in ports.items()},
            "LOCAL_STATE_DIR": str(Path(directory) / "state"),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        log = Path(directory) / "stack.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "infra.local_stack"],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        stack = StackProcess(
            process,
            f"http://127.0.0.1:{ports['LOCAL_PORT']}",
            f"http://127.0.0.1:{ports['SANDBOX_PORT']}",
            f"http://127.0.0.1:{ports['MOTO_PORT']}",
            log,
        )
        try:
            _wait_until_up(stack)
            yield stack
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_until_up(stack: StackProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"the local stack exited:\n{stack.log.read_text()[-3000:]}")
        try:
            if requests.get(f"{stack.api}/openapi.json", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError("the local stack did not answer within 60 s")


def telegram_update(n: int) -> dict[str, Any]:
    """The sample text message from a new chat (ids derived from n, so each is a first contact)."""
    update: dict[str, Any] = copy.deepcopy(TELEGRAM_UPDATE)
    update["update_id"] = 900_000_000 + n
    update["message"]["message_id"] = 10_000 + n
    update["message"]["chat"]["id"] = update["message"]["from"]["id"] = 500_000_000 + n
    return update


def send_telegram(session: requests.Session, stack: StackProcess, update: dict[str, Any]) -> float:
    """Seconds until the webhook answered 200."""
    started = time.perf_counter()
    answer = session.post(
        f"{stack.api}/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        timeout=30,
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text[:300]}")
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# ---- preloading tickets --------------------------------------------------------------------


def ticket_template(stack: StackProcess) -> list[dict[str, Any]]:
    """The items one POST /tickets stores (ticket, message, history...), as moto holds them."""
    created = requests.post(
        f"{stack.api}/tickets",
        json={"direction": "d0", "subject": "Preloaded", "text": "A ticket for the benchmark"},
        headers=stack.agent_headers(),
        timeout=30,
    )
    created.raise_for_status()
    number = created.json()["id"]
    items = [
        item
        for page in stack.dynamodb().get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
        if number in json.dumps(item) and not item["PK"]["S"].startswith("COUNTER#")
    ]
    if not items:
        raise RuntimeError(f"no items found for {number}")
    return items


def preload(stack: StackProcess, template: list[dict[str, Any]], first: int, last: int) -> None:
    """Copies of the template as tickets D0-<first>..D0-<last>, then the counter at `last`."""
    client = stack.dynamodb()
    source = json.dumps(template)
    pending: list[dict[str, Any]] = []
    for number in range(first, last + 1):
        text = source.replace("D0-000001", f"D0-{number:06d}")
        pending.extend({"PutRequest": {"Item": item}} for item in json.loads(text))
        while len(pending) >= 25:
            _batch_write(client, pending[:25])
            del pending[:25]
    if pending:
        _batch_write(client, pending)
    client.put_item(
        TableName=TABLE,
        Item={"PK": {"S": "COUNTER#d0"}, "SK": {"S": "#COUNTER"}, "value": {"N": str(last)}},
    )


def _batch_write(client: Any, requests_: list[dict[str, Any]]) -> None:
    unprocessed: dict[str, Any] = {TABLE: requests_}
    while unprocessed:
        unprocessed = client.batch_write_item(RequestItems=unprocessed).get("UnprocessedItems", {})


def count_tickets(stack: StackProcess) -> int:
    pages = (
        stack.dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName=TABLE,
            FilterExpression="SK = :ticket",
            ExpressionAttributeValues={":ticket": {"S": "#TICKET"}},
            Select="COUNT",
        )
    )
    return sum(page["Count"] for page in pages)


# ---- the measurement -----------------------------------------------------------------------


def first_contact_latencies(stack: StackProcess, start: int, count: int) -> list[float]:
    session = requests.Session()
    send_telegram(session, stack, telegram_update(start - 1))  # warm the connection
    return [send_telegram(session, stack, telegram_update(start + n)) for n in range(count)]


def webhook_latency_report(samples: int = 100) -> list[str]:
    """Markdown lines: p50/p99 of Telegram first-contact webhooks at 100 and 10,000 tickets.

    For each size the tickets are written, the stack is stopped (it saves) and started again
    on the same state, as a developer's stack with that many tickets starts; then the
    webhooks are timed.
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="helpdesk-bench-state-") as directory:
        state = {"LOCAL_STATE_DIR": str(Path(directory) / "state")}
        with local_stack(state) as stack:
            template = ticket_template(stack)
        for target, offset in ((100, 0), (10_000, 100_000)):
            with local_stack(state) as stack:
                started = time.perf_counter()
                preload(stack, template, count_tickets(stack) + 1, target)
                loaded_in = time.perf_counter() - started
            started = time.perf_counter()
            with local_stack(state) as stack:
                restart = time.perf_counter() - started
                stored = count_tickets(stack)
                times = first_contact_latencies(stack, offset + 1, samples)
                health = stack.health()
            if os.environ.get("BENCH_VERBOSE"):
                print(stored, [round(t * 1000) for t in sorted(times)[-8:]], file=sys.stderr)
            rows.append(
                f"| {stored:,} | {samples} | {statistics.median(times) * 1000:.0f} ms "
                f"| {percentile(times, 0.99) * 1000:.0f} ms | {max(times) * 1000:.0f} ms "
                f"| {loaded_in:.1f} s | {restart:.1f} s |"
            )
    small_p99, large_p99 = (float(r.split("|")[4].split()[0]) for r in rows)
    verdict = "met" if large_p99 < 1000 and large_p99 <= 2 * small_p99 + 50 else "NOT met"
    return [
        "## Local stack: Telegram first-contact webhook latency",
        "",
        "One webhook at a time, each from a new chat (a new ticket; greeting and "
        "acknowledgement queued, the dispatcher sending them meanwhile), over loopback HTTP "
        "to the real local stack, started on a state holding that many tickets.",
        "",
        "| tickets stored | webhooks | p50 | p99 | max | preload | start |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Goal (p99 under 1 s, about the same at both sizes): {verdict}. "
        f"Local state: status {health['status']}.",
    ]


def main() -> None:
    print("\n".join(webhook_latency_report()))


if __name__ == "__main__":
    main()
