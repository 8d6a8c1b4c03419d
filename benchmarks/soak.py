"""make soak: a bounded loopback load test of the local stack, with a zero-loss check.

Starts the real local stack (subprocess, free ports, temporary state), then sends webhooks
at a fixed rate for a fixed time, open loop (each at its scheduled instant, whatever the
answers before it): Telegram text messages signed with the local secret (the sample
update with varied update_id and chat ids; each chat writes several times, so both new
tickets and messages on open tickets are exercised) and generic CTI call events (the
samples in events/calls/generic/, each with a call id of its own). Then it checks that
every acknowledged event became what it should, through the tickets API with an agent
token: each Telegram message is in its chat's ticket, each call is the ticket the webhook
named. It reports the sustained rate and p50/p99 latency, and exits non-zero on any loss,
any refused event, or unhealthy local state.

    SOAK_RATE=20 SOAK_SECONDS=60 SOAK_CALL_SHARE=0.5 python -m benchmarks.soak
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from benchmarks.local_stack import (
    ROOT,
    TELEGRAM_SECRET,
    StackProcess,
    local_stack,
    percentile,
    telegram_update,
)

CTI_TOKEN = "local-generic-cti-token"
CALL_EVENTS = [
    json.loads(path.read_text())
    for path in sorted((ROOT / "events" / "calls" / "generic").glob("*.json"))
]


@dataclass
class Sent:
    kind: str  # "telegram" | "call"
    key: str  # the message text, or the call id
    chat: int = 0
    status: int = 0
    seconds: float = 0.0
    late: float = 0.0
    ticket: str | None = None
    error: str | None = None


@dataclass
class Plan:
    rate: float
    seconds: float
    call_share: float
    events: list[Sent] = field(default_factory=list)

    @property
    def total(self) -> int:
        return max(1, round(self.rate * self.seconds))


def build_events(plan: Plan) -> list[tuple[Sent, str, dict[str, Any], dict[str, str]]]:
    """Every request of the run: (record, path, JSON body, headers), in sending order."""
    calls_every = round(1 / plan.call_share) if plan.call_share > 0 else 0
    telegram_count = plan.total - (plan.total // calls_every if calls_every else 0)
    chats = max(1, telegram_count // 3)  # about three messages per chat, spread over the run
    requests_: list[tuple[Sent, str, dict[str, Any], dict[str, str]]] = []
    telegram_n = 0
    for n in range(plan.total):
        if calls_every and n % calls_every == calls_every - 1:
            call = dict(CALL_EVENTS[n % len(CALL_EVENTS)])
            call_id = f"soak-{n}"
            call.update(call_id=call_id, **{"from": f"+7916{n:07d}"})
            call.pop("event_id", None)
            sent = Sent("call", call_id)
            headers = {"Authorization": f"Bearer {CTI_TOKEN}"}
            requests_.append((sent, "/webhooks/calls/generic", call, headers))
        else:
            update = telegram_update(n)
            chat = 700_000_000 + telegram_n % chats
            update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
            text = f"soak message {n}"
            update["message"]["text"] = text
            sent = Sent("telegram", text, chat=chat)
            headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            requests_.append((sent, "/webhooks/telegram", update, headers))
            telegram_n += 1
        plan.events.append(sent)
    return requests_


def flood(stack: StackProcess, plan: Plan) -> float:
    """Send every event at its scheduled instant; returns the seconds the run took."""
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    def send(
        sent: Sent, path: str, body: dict[str, Any], headers: dict[str, str], at: float
    ) -> None:
        started = time.perf_counter()
        sent.late = max(0.0, started - at)
        try:
            answer = session().post(f"{stack.api}{path}", json=body, headers=headers, timeout=30)
            sent.status = answer.status_code
            if sent.kind == "call" and answer.ok:
                sent.ticket = answer.json().get("ticket")
            if not answer.ok:
                sent.error = answer.text[:200]
        except requests.RequestException as error:
            sent.error = repr(error)[:200]
        sent.seconds = time.perf_counter() - started

    work = build_events(plan)
    interval = 1 / plan.rate
    begin = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=64) as pool:
        for n, (sent, path, body, headers) in enumerate(work):
            at = begin + n * interval
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, sent, path, body, headers, at)
    return time.perf_counter() - begin


def all_tickets(stack: StackProcess, headers: dict[str, str]) -> list[dict[str, Any]]:
    tickets: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"direction": "d0", "limit": 50}
        if cursor:
            query["cursor"] = cursor
        page = requests.get(f"{stack.api}/tickets", params=query, headers=headers, timeout=60)
        page.raise_for_status()
        body = page.json()
        tickets.extend(body["tickets"])
        cursor = body.get("next_cursor")
        if not cursor:
            return tickets


def lost_events(stack: StackProcess, plan: Plan) -> list[Sent]:
    """Acknowledged events that did not become a message or a ticket."""
    headers = stack.agent_headers()
    tickets = all_tickets(stack, headers)
    ticket_ids = {t["id"] for t in tickets}
    texts_by_chat: dict[str, set[str]] = {}
    for summary in tickets:
        if summary["channel"] != "telegram":
            continue
        view = requests.get(f"{stack.api}/tickets/{summary['id']}", headers=headers, timeout=30)
        view.raise_for_status()
        ticket = view.json()
        texts = texts_by_chat.setdefault(str(ticket["ticket"]["recipient_id"]), set())
        texts.update(m["text"] for m in ticket["messages"] if m["kind"] == "inbound")
    lost = []
    for sent in plan.events:
        if sent.status != 200:
            continue  # not acknowledged: counted as refused, not as lost
        if sent.kind == "call" and sent.ticket not in ticket_ids:
            lost.append(sent)
        if sent.kind == "telegram" and sent.key not in texts_by_chat.get(str(sent.chat), set()):
            lost.append(sent)
    return lost


def soak_report(rate: float, seconds: float, call_share: float) -> tuple[list[str], bool]:
    plan = Plan(rate, seconds, call_share)
    with local_stack() as stack:
        took = flood(stack, plan)
        acknowledged = [s for s in plan.events if s.status == 200]
        refused = [s for s in plan.events if s.status != 200]
        checked = time.perf_counter()
        lost = lost_events(stack, plan)
        check_seconds = time.perf_counter() - checked
        health = stack.health()
    latencies = [s.seconds for s in acknowledged] or [0.0]
    finished = max((s.late + s.seconds for s in plan.events), default=0.0)
    late = [s.late for s in plan.events]
    ok = not lost and not refused and health["status"] == "ok"
    lines = [
        "## Local stack soak",
        "",
        f"{plan.total} webhooks planned at {rate:g}/s for {seconds:g} s "
        f"({sum(s.kind == 'call' for s in plan.events)} generic CTI call events, "
        f"{sum(s.kind == 'telegram' for s in plan.events)} Telegram messages).",
        "",
        "| acknowledged | refused or failed | lost | sustained | p50 | p99 | max | "
        "sender behind schedule (p99) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(acknowledged)} | {len(refused)} | {len(lost)} "
        f"| {len(acknowledged) / max(took, finished, 1e-9):.1f}/s "
        f"| {statistics.median(latencies) * 1000:.0f} ms "
        f"| {percentile(latencies, 0.99) * 1000:.0f} ms | {max(latencies) * 1000:.0f} ms "
        f"| {percentile(late, 0.99) * 1000:.0f} ms |",
        "",
        f"Zero-loss check through the tickets API: {check_seconds:.1f} s. Local state: "
        f"{health['status']} ({health['state']['saves']} saves, "
        f"{health['state']['failed_saves']} failed). Verdict: {'PASS' if ok else 'FAIL'}.",
    ]
    for sent in (refused + lost)[:10]:
        lines.append(f"- {sent.kind} {sent.key}: status {sent.status} {sent.error or 'lost'}")
    return lines, ok


def main() -> None:
    rate = float(os.environ.get("SOAK_RATE", "20"))
    seconds = float(os.environ.get("SOAK_SECONDS", "60"))
    call_share = float(os.environ.get("SOAK_CALL_SHARE", "0.5"))
    if not (0 < rate <= 200 and 0 < seconds <= 3600 and 0 <= call_share <= 1):
        sys.exit(
            "SOAK_RATE must be in (0, 200], SOAK_SECONDS in (0, 3600], SOAK_CALL_SHARE in [0, 1]"
        )
    lines, ok = soak_report(rate, seconds, call_share)
    print("\n".join(lines))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
