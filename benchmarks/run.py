"""make bench: AWS calls, DynamoDB write units and handler times per event, against moto.

Counts, not seconds, are the figures to trust on a shared machine: every AWS call a handler
makes is counted at the botocore boundary, and write units are computed from item sizes as
DynamoDB bills them (1 per started KB of the larger of the before and after image, doubled
inside a transaction, plus one write per index entry that changes), because moto does not
compute consumed capacity. Times are p50/p99 of in-process handler calls against moto.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "HelpdeskBench",
        "TELEGRAM_SECRET_TOKEN": "bench-tg",
        "TELEGRAM_BOT_TOKEN": "7000:bench",
        "WHATSAPP_APP_SECRET": "bench-wa",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "GENERIC_CTI_TOKEN": "bench-cti",
        "GITHUB_WEBHOOK_SECRET": "bench-gh",
        "TABLE_NAME": "bench",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT)]

import warnings  # noqa: E402

import boto3  # noqa: E402
import botocore.client  # noqa: E402
from moto import mock_aws  # noqa: E402

from infra.lambda_runtime import FunctionRoutes  # noqa: E402
from infra.provision import provision  # noqa: E402
from infra.template import functions, resources_of_type, table_definition  # noqa: E402

warnings.filterwarnings("ignore")
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
EVENTS = ROOT / "events"


# ---- counting ------------------------------------------------------------------------------


def attribute_size(value: dict[str, Any]) -> int:
    kind, inner = next(iter(value.items()))
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(x.encode() if isinstance(x, str) else x) for x in inner)
    if kind == "NS":
        return sum((len(x) + 1) // 2 + 1 for x in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in inner)
    return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in inner.items())  # M


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024)) if size else 0


def indexes() -> list[tuple[str, str, str, list[str]]]:
    (table,) = resources_of_type("AWS::DynamoDB::Table").values()
    found = []
    for index in table["Properties"]["GlobalSecondaryIndexes"]:
        keys = [k["AttributeName"] for k in index["KeySchema"]]
        found.append(
            (index["IndexName"], keys[0], keys[1], index["Projection"].get("NonKeyAttributes", []))
        )
    return found


INDEXES = indexes()


def index_entry(
    item: dict[str, Any] | None, pk: str, sk: str, projected: list[str]
) -> dict[str, Any] | None:
    if not item or pk not in item or sk not in item:
        return None
    return {name: item[name] for name in ["PK", "SK", pk, sk, *projected] if name in item}


def index_writes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """Index entries written: a changed entry costs one write, a moved key two."""
    total = 0
    for _, pk, sk, projected in INDEXES:
        old = index_entry(before, pk, sk, projected)
        new = index_entry(after, pk, sk, projected)
        if old == new:
            continue
        if old and new and (old[pk], old[sk]) != (new[pk], new[sk]):
            total += units(item_size(old)) + units(item_size(new))
        else:
            total += units(max(item_size(old), item_size(new)))
    return total


@dataclass
class Meter:
    calls: Counter[str] = field(default_factory=Counter)
    write_units: int = 0
    on: bool = True

    def reset(self) -> None:
        self.calls.clear()
        self.write_units = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


METER = Meter()
_original: Any = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009


def _keys(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    if operation == "TransactWriteItems":
        found = []
        for entry in params["TransactItems"]:
            kind, body = next(iter(entry.items()))
            if kind == "ConditionCheck":
                continue
            key = body.get("Key") or {k: body["Item"][k] for k in ("PK", "SK")}
            found.append((body["TableName"], key, True))
        return found
    if operation == "BatchWriteItem":
        found = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                body = request.get("PutRequest") or request.get("DeleteRequest")
                key = body.get("Key") or {k: body["Item"][k] for k in ("PK", "SK")}
                found.append((table, key, False))
        return found
    key = params.get("Key") or {k: params["Item"][k] for k in ("PK", "SK")}
    return [(params["TableName"], key, False)]


def _metered_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
    if not METER.on:
        return _original(self, operation, params)
    METER.calls[f"{self.meta.service_model.service_name}:{operation}"] += 1
    if self.meta.service_model.service_name != "dynamodb" or operation not in WRITES:
        return _original(self, operation, params)
    targets = _keys(operation, params)

    def read(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = _original(
            self, "GetItem", {"TableName": table, "Key": key}
        ).get("Item")
        return item

    before = [read(table, key) for table, key, _ in targets]
    try:
        return _original(self, operation, params)
    finally:
        for (table, key, transactional), old in zip(targets, before, strict=True):
            new = read(table, key)
            if old == new:
                continue  # a failed condition writes nothing (DynamoDB still bills it; see note)
            base = units(max(item_size(old), item_size(new)))
            METER.write_units += base * (2 if transactional else 1) + index_writes(old, new)


setattr(botocore.client.BaseClient, "_make_api_call", _metered_call)  # noqa: B010


@contextmanager
def measured() -> Iterator[Meter]:
    METER.reset()
    METER.on = True
    yield METER


# ---- doors ---------------------------------------------------------------------------------


class Door(FunctionRoutes):
    def __init__(self, function: str, claims: dict[str, Any] | None = None) -> None:
        super().__init__(functions()[function], claims)

    def call(
        self, method: str, path: str, raw: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        path, _, query = path.partition("?")
        with redirect_stdout(io.StringIO()):  # the handlers' metric and log lines
            status, _, body = self.request(method, path, raw, headers, query)
        text = body.decode()
        return status, json.loads(text) if text.startswith(("{", "[")) else text


def fresh_table() -> None:
    """moto deep-copies every table on each transaction (its rollback), so its cost grows
    with the table; DynamoDB's does not. Timing batches start from an empty table."""
    client = boto3.client("dynamodb")
    client.delete_table(TableName="bench")
    client.create_table(**table_definition("bench"))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def row(name: str, meter: Meter) -> str:
    detail = ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(meter.calls.items()))
    return f"| {name} | {meter.total_calls} | {meter.write_units} | {detail} |"


HEADER = ["| operation | AWS calls | write units | calls |", "|---|---|---|---|"]


# ---- scenarios -------------------------------------------------------------------------------


def ticket_operations() -> list[str]:
    agent = {"sub": "agent-1", "cognito:groups": ["agent"]}
    api = Door("TicketsFunction", agent)
    lines = [*HEADER]

    def op(name: str, method: str, path: str, body: Any = None) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        with measured() as meter:
            status, answer = api.call(method, path, raw)
        assert status in (200, 201), (name, status, answer)
        lines.append(row(name, meter))
        return answer

    # A client's ticket (replies reach a channel); hand-opened ones fill the list.
    hook = Door("MessengerWebhookFunction")
    hook.call(
        "POST",
        "/webhooks/telegram",
        telegram_update(900, 9000, "hello"),
        {"X-Telegram-Bot-Api-Secret-Token": "bench-tg"},
    )
    op(
        "create ticket (by hand)",
        "POST",
        "/tickets",
        {"direction": "d0", "subject": "s", "text": "t"},
    )
    for _ in range(30):
        api.call(
            "POST",
            "/tickets",
            json.dumps({"direction": "d0", "subject": "s", "text": "t"}).encode(),
        )
    op("list tickets (page of 25)", "GET", "/tickets")
    op("list tickets, unassigned (filtered)", "GET", "/tickets?assignee=none")
    op("get ticket with conversation", "GET", "/tickets/D0-000001")
    op("reply", "POST", "/tickets/D0-000001/replies", {"text": "hello"})
    op(
        "reply with request_id",
        "POST",
        "/tickets/D0-000001/replies",
        {"text": "x", "request_id": "r1"},
    )
    op("comment", "POST", "/tickets/D0-000001/comments", {"text": "note"})
    op("assign", "POST", "/tickets/D0-000001/assign", {"assignee": "agent-2"})
    op("set category/topic/priority", "PATCH", "/tickets/D0-000001", {"category": "problem"})
    op("hold", "POST", "/tickets/D0-000001/hold", {"task_url": "https://t.example/1"})
    op("resolve (notice + CSAT prompt)", "POST", "/tickets/D0-000001/resolve", {})
    op("close", "POST", "/tickets/D0-000001/close", {})
    op("reopen", "POST", "/tickets/D0-000001/reopen", {})
    return lines


def telegram_update(update_id: int, chat: int, text: str) -> bytes:
    body = json.loads((EVENTS / "telegram" / "text_message.json").read_text())
    body["update_id"] = update_id
    body["message"]["message_id"] = update_id
    body["message"]["chat"]["id"] = chat
    body["message"]["from"]["id"] = chat
    body["message"]["text"] = text
    return json.dumps(body, ensure_ascii=False).encode()


def messenger() -> tuple[list[str], dict[str, float]]:
    hook = Door("MessengerWebhookFunction")
    secret = {"X-Telegram-Bot-Api-Secret-Token": "bench-tg"}
    lines = [*HEADER]

    def measure(name: str, raw: bytes, headers: dict[str, str]) -> None:
        path = (
            "/webhooks/telegram"
            if "X-Telegram-Bot-Api-Secret-Token" in headers
            else "/webhooks/whatsapp"
        )
        with measured() as meter:
            status, body = hook.call("POST", path, raw, headers)
        assert status == 200, body
        lines.append(row(f"{name} ({body['handled'][0]})", meter))

    measure("Telegram first contact", telegram_update(1, 500, "hello"), secret)
    measure("Telegram message, open ticket", telegram_update(2, 500, "more"), secret)
    measure("Telegram redelivery", telegram_update(2, 500, "more"), secret)
    measure("Telegram URGENT message", telegram_update(3, 500, "URGENT please"), secret)

    def signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        raw = json.dumps(body).encode()
        digest = hmac.new(b"bench-wa", raw, hashlib.sha256).hexdigest()
        return raw, {"X-Hub-Signature-256": f"sha256={digest}"}

    wa = json.loads((EVENTS / "whatsapp" / "text_message.json").read_text())
    measure("WhatsApp first contact", *signed(wa))
    wa2 = copy.deepcopy(wa)
    wa2["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.second"
    measure("WhatsApp message, open ticket", *signed(wa2))
    status = json.loads((EVENTS / "whatsapp" / "status_delivered.json").read_text())
    measure("WhatsApp delivery status", *signed(status))

    METER.on = False
    times: list[float] = []
    for n in range(1000):  # batches of 100: 10 clients, 10 messages each
        if n % 100 == 0:
            fresh_table()
        raw = telegram_update(10_000 + n, 1_000 + n % 10, f"message {n}")
        start = time.perf_counter()
        hook.call("POST", "/webhooks/telegram", raw, secret)
        times.append((time.perf_counter() - start) * 1000)
    METER.on = True
    return lines, {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99)}


def call_event(call_id: str, event: str, **extra: Any) -> bytes:
    body = {
        "event": event,
        "call_id": call_id,
        "direction": "in",
        "from": "+79161234567",
        "to": "+74951234567",
        "timestamp": "2026-11-23T10:00:00+00:00",
        **extra,
    }
    return json.dumps(body).encode()


LONG_HANGUP = {"cause": "normalClearing", "duration": 420, "user": "101"}
CALLS_PATH = "/webhooks/calls/generic"


def telephony() -> tuple[list[str], dict[str, float]]:
    hook = Door("CallWebhookFunction")
    auth = {"Authorization": "Bearer bench-cti"}
    lines = [*HEADER]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("new call (opens the ticket)", "newCall", {}),
        ("answer", "answer", {"user": "101"}),
        (
            "hangup, 7 min (problem call)",
            "hangup",
            {"cause": "normalClearing", "duration": 420, "user": "101"},
        ),
        ("recording", "recording", {"recording_url": "https://pbx/r.mp3"}),
        (
            "redelivered hangup",
            "hangup",
            {"cause": "normalClearing", "duration": 420, "user": "101"},
        ),
    ]
    for name, event, extra in steps:
        with measured() as meter:
            status, body = hook.call(
                "POST", "/webhooks/calls/generic", call_event("b1", event, **extra), auth
            )
        assert status == 200, body
        lines.append(row(f"{name} ({body['handled']})", meter))
    with measured() as meter:
        hook.call(
            "POST", "/webhooks/calls/generic", call_event("b2", "hangup", cause="noAnswer"), auth
        )
    lines.append(row("hangup of an unseen call, missed (created)", meter))

    METER.on = False
    times: list[float] = []
    for n in range(250):  # 250 calls x 4 events, in batches of 25 calls
        if n % 25 == 0:
            fresh_table()
        events: list[tuple[str, dict[str, Any]]] = [
            ("newCall", {}),
            ("answer", {"user": "101"}),
            ("hangup", {"cause": "normalClearing", "duration": 60}),
            ("recording", {"recording_url": "https://pbx/r.mp3"}),
        ]
        for event, extra in events:
            raw = call_event(f"t{n}", event, **extra)
            start = time.perf_counter()
            hook.call("POST", "/webhooks/calls/generic", raw, auth)
            times.append((time.perf_counter() - start) * 1000)
    METER.on = True
    return lines, {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99)}


def trackers() -> list[str]:
    """A GitHub issue closed: its linked tickets handed back (draft) or resolved, per event."""
    from helpdesk.settings import get_settings

    hook = Door("MessengerWebhookFunction")
    api = Door("TicketsFunction", {"sub": "agent-1", "cognito:groups": ["agent"]})
    tracker = Door("TrackerWebhookFunction")
    sample = json.loads((EVENTS / "trackers" / "github" / "issues_closed.json").read_text())
    lines = [*HEADER]
    chats = iter(range(20_000, 30_000))

    def linked(issue: int, count: int) -> None:
        for _ in range(count):
            chat = next(chats)
            secret = {"X-Telegram-Bot-Api-Secret-Token": "bench-tg"}
            status, body = hook.call(
                "POST", "/webhooks/telegram", telegram_update(chat, chat, "help"), secret
            )
            assert status == 200, body
            number = api.call("GET", "/tickets?limit=1")[1]["tickets"][0]["id"]  # the newest
            task = json.dumps({"task_url": f"https://github.com/acme/billing-app/issues/{issue}"})
            assert api.call("POST", f"/tickets/{number}/hold", task.encode())[0] == 200

    def closed(name: str, issue: int, delivery: str) -> None:
        body = copy.deepcopy(sample)
        body["issue"]["number"] = issue
        raw = json.dumps(body).encode()
        digest = hmac.new(b"bench-gh", raw, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": f"sha256={digest}",
        }
        with measured() as meter:
            status, answer = tracker.call("POST", "/webhooks/tracker/github", raw, headers)
        assert status == 200, answer
        lines.append(row(name, meter))

    issue = 0
    for mode in ("draft", "resolve"):
        config = {"directions": [{"id": "d0", "tracker_resolution": mode}]}
        os.environ["HELPDESK_CONFIG"] = json.dumps(config)
        get_settings.cache_clear()
        for count in (1, 10):
            issue += 1
            linked(issue, count)
            tickets = "1 linked ticket" if count == 1 else f"{count} linked tickets"
            closed(f"{mode}: task closed, {tickets}", issue, f"d{issue}")
        closed(f"{mode}: the same delivery again (10 tickets)", issue, f"d{issue}")
    closed("task nobody is waiting for (ignored)", 999, "d-unknown")
    os.environ.pop("HELPDESK_CONFIG", None)
    get_settings.cache_clear()
    return lines


def import_times(runs: int = 7) -> dict[str, float]:
    """Cold import in fresh interpreters: the tickets handler against a bare `import boto3`."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}"}
    handler = ROOT / "functions" / "tickets" / "app.py"
    programs = {
        "boto3": "import boto3",
        "tickets handler": (
            "import importlib.util as u; s = u.spec_from_file_location('app', "
            f"{str(handler)!r}); m = u.module_from_spec(s); s.loader.exec_module(m)"
        ),
    }
    medians = {}
    for name, program in programs.items():
        samples = []
        for _ in range(runs):
            code = (
                f"import time; t = time.perf_counter(); {program}; print(time.perf_counter() - t)"
            )
            output = subprocess.check_output([sys.executable, "-c", code], env=env, text=True)
            samples.append(float(output.strip().splitlines()[-1]) * 1000)
        medians[name] = statistics.median(samples)
    return medians


def main() -> None:
    print("# make bench\n")
    print("Counts are exact (botocore boundary); write units computed from item sizes.\n")
    with mock_aws():
        provision(boto3.client("dynamodb"), boto3.client("sqs"), "bench", "bench")
        os.environ["QUEUE_URL"] = boto3.client("sqs").get_queue_url(QueueName="bench-JobQueue")[
            "QueueUrl"
        ]
        print("## Ticket API (issue 2), per operation\n")
        print("\n".join(ticket_operations()))
        print("\n## Messenger webhook (issue 3), per inbound event\n")
        lines, times = messenger()
        print("\n".join(lines))
        print(
            "\nHandler time over 1,000 Telegram messages (10 batches of 10 clients x 10) "
            f"against moto: "
            f"p50 {times['p50']:.1f} ms, p99 {times['p99']:.1f} ms"
        )
        print("\n## Call webhook (issue 4), per call event\n")
        lines, times = telephony()
        print("\n".join(lines))
        print(
            f"\nHandler time over 1,000 call events (250 calls x 4) against moto: "
            f"p50 {times['p50']:.1f} ms, p99 {times['p99']:.1f} ms"
        )
        print("\n## Tracker webhook (issue 19), per tracker event\n")
        print("\n".join(trackers()))
    medians = import_times()
    ratio = medians["tickets handler"] / medians["boto3"]
    print("\n## Cold import (issue 2), median of 7 fresh interpreters\n")
    print(
        f"tickets handler {medians['tickets handler']:.0f} ms, bare `import boto3` "
        f"{medians['boto3']:.0f} ms: ratio {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
