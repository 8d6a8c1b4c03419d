"""make bench, reports: what report counters add to each ticket event, what a 30-day report of
one direction reads at 10,000 and at 200,000 tickets, and the AWS cost per 1,000 tickets.

1. A ticket's life through the real doors (the Telegram webhook, the tickets API, the
   dispatcher with an accepting sender), 20 tickets: opened, answered, categorised, resolved,
   rated. Per event: AWS calls, write units of the whole transaction and of its report
   counters (1 per started KB of the larger image, doubled in a transaction; the meter of
   benchmarks/run.py, with the counters items picked out).
2. Tables of 10,000 and 200,000 tickets over 90 days, each ticket's counters made by the
   funnel's own rule (`reports.moves` on the rules' changes, through `usecases.changes.tracked`)
   for 96 lifecycles, summed per counters item and written with BatchWriteItem; the ticket items
   themselves put straight into moto's table (benchmarks/sweeps.py's shortcut). Then every
   report of d0 over the last 30 days through `ReportDesk`: items read (what every Query read),
   read units, calls, time.
3. Cost per 1,000 tickets: the counted requests of part 1 per ticket x the published prices in
   `HELPDESK_CONFIG`'s `aws_prices` (defaults: us-east-1 on-demand), excluding logs.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time
import zlib
from collections import Counter, defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.client
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType

from benchmarks import run, sweeps  # before helpdesk: environment, sys.path, the meters
from helpdesk import csat, reports, tickets
from helpdesk.models import Actor, Category, Channel, Message, MessageKind, Ticket, iso
from helpdesk.settings import get_settings
from helpdesk.store import Store
from helpdesk.store import keys as store_keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.items import ticket_item
from helpdesk.usecases.changes import tracked
from helpdesk.usecases.reporting import ReportDesk
from infra import moto_patches
from infra.lambda_runtime import LambdaContext, load_function, sqs_event
from infra.provision import provision
from infra.template import functions, load_template

TABLE = sweeps.TABLE
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AGENTS = [f"agent-{n}" for n in range(5)]
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "staffing": {
                "agents": [
                    {"id": agent, "team": f"team-{n % 2}", "hours_per_week": 40}
                    for n, agent in enumerate(AGENTS)
                ]
            },
        },
        {"id": "d1"},
    ]
}
SIZES = (10_000, 200_000)
SPREAD_DAYS = 90
LIFECYCLES = 96
SAMPLE = 20
RUNS = 5
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bench-JobQueue"


# ---- the report counters' share of each write ------------------------------------------------


@dataclass
class CounterMeter:
    units: int = 0

    def reset(self) -> None:
        self.units = 0


COUNTERS = CounterMeter()
_below: Any = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009
_REPORT_PREFIXES = ("REPORT#", "COMPLAINTS#")


def _report_keys(operation: str, params: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    found = []
    if operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            kind, body = next(iter(entry.items()))
            key = body.get("Key") or {k: body["Item"][k] for k in ("PK", "SK")}
            if kind != "ConditionCheck" and key["PK"]["S"].startswith(_REPORT_PREFIXES):
                found.append((key, True))
    elif operation in ("UpdateItem", "PutItem", "DeleteItem"):
        key = params.get("Key") or {k: params["Item"][k] for k in ("PK", "SK")}
        if key["PK"]["S"].startswith(_REPORT_PREFIXES):
            found.append((key, False))
    return found


def _counter_metered(self: Any, operation: str, params: dict[str, Any]) -> Any:
    if self.meta.service_model.service_name != "dynamodb" or not run.METER.on:
        return _below(self, operation, params)
    targets = _report_keys(operation, params)
    if not targets:
        return _below(self, operation, params)

    def size(key: dict[str, Any]) -> int:
        item = run._original(self, "GetItem", {"TableName": TABLE, "Key": key}).get("Item")
        return run.item_size(item)

    before = [size(key) for key, _ in targets]
    try:
        return _below(self, operation, params)
    finally:
        for (key, transactional), old in zip(targets, before, strict=True):
            new = size(key)
            if old != new or new:
                COUNTERS.units += run.units(max(old, new)) * (2 if transactional else 1)


setattr(botocore.client.BaseClient, "_make_api_call", _counter_metered)  # noqa: B010


# ---- part 1: a ticket's life through the doors -----------------------------------------------


@dataclass
class Usage:
    """Everything a sample of tickets made AWS do, for the cost per ticket."""

    tickets: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    write_units: int = 0
    read_units: float = 0.0
    invocations: int = 0
    api_requests: int = 0
    handler_ms: float = 0.0


@dataclass
class EventRow:
    name: str
    calls: list[int] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    counter_units: list[int] = field(default_factory=list)


class Accepting:
    def send(self, message: Any) -> Any:
        from helpdesk.channels.base import SendResult

        return SendResult(provider_message_id=None)


def press_update(update_id: int, chat: int, ticket: str, value: str) -> bytes:
    body = json.loads((run.EVENTS / "telegram" / "callback_query.json").read_text())
    body["update_id"] = update_id
    query = body["callback_query"]
    query["id"] = f"q{update_id}"
    query["from"]["id"] = query["message"]["chat"]["id"] = chat
    query["data"] = f"csat:{ticket}:{value}"
    return json.dumps(body, ensure_ascii=False).encode()


def life(usage: Usage) -> list[EventRow]:
    """SAMPLE tickets through the doors, each event metered."""
    hook = run.Door("MessengerWebhookFunction")
    api = run.Door("TicketsFunction", {"sub": "agent-1", "cognito:groups": ["agent"]})
    secret = {"X-Telegram-Bot-Api-Secret-Token": "bench-tg"}
    spec = functions()["DispatcherFunction"]
    dispatcher = load_function(spec)
    dispatcher.dispatcher.sender_for = lambda channel, service_id: Accepting()
    dispatcher.notices.sender_for = lambda channel, service_id: Accepting()
    sqs = boto3.client("sqs")
    queue = os.environ["QUEUE_URL"]
    rows: dict[str, EventRow] = {}

    def metered(name: str, door: run.Door, method: str, path: str, raw: bytes) -> Any:
        sweeps.READS.reset()
        COUNTERS.reset()
        with run.measured() as meter:
            start = time.perf_counter()
            status, body = door.call(method, path, raw, secret if door is hook else None)
            usage.handler_ms += (time.perf_counter() - start) * 1000
        assert status in (200, 201), (name, status, body)
        row = rows.setdefault(name, EventRow(name))
        row.calls.append(meter.total_calls)
        row.units.append(meter.write_units)
        row.counter_units.append(COUNTERS.units)
        usage.calls.update(meter.calls)
        usage.write_units += meter.write_units
        usage.read_units += sweeps.READS.units
        usage.invocations += 1
        usage.api_requests += 1
        return body

    def drain() -> None:
        while received := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sweeps.READS.reset()
            with run.measured() as meter, redirect_stdout(io.StringIO()):
                start = time.perf_counter()
                dispatcher.lambda_handler(
                    sqs_event(received, QUEUE_ARN), LambdaContext(spec.logical_id)
                )
                usage.handler_ms += (time.perf_counter() - start) * 1000
            usage.calls.update(meter.calls)
            usage.write_units += meter.write_units
            usage.read_units += sweeps.READS.units
            usage.invocations += 1
            # The event source's own requests: one ReceiveMessage, one DeleteMessageBatch.
            usage.calls.update({"sqs:ReceiveMessage": 1, "sqs:DeleteMessageBatch": 1})
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(received)
                ],
            )

    for n in range(SAMPLE):
        chat = 70_000 + n
        created = metered(
            "Telegram first contact (opened)",
            hook,
            "POST",
            "/webhooks/telegram",
            run.telegram_update(80_000 + n, chat, "Не работает вход"),
        )
        assert created["handled"] == ["created"], created
        listed = api.call("GET", "/tickets?channel=telegram&limit=1")[1]
        number = listed["tickets"][0]["id"]
        drain()
        reply = json.dumps({"text": "Смотрим"}).encode()
        metered("reply (first response)", api, "POST", f"/tickets/{number}/replies", reply)
        category = "complaint" if n % 5 == 0 else "problem"
        patch = json.dumps({"category": category, "topic": f"topic-{n % 4}"}).encode()
        metered("categorise (category, topic)", api, "PATCH", f"/tickets/{number}", patch)
        metered("resolve (notice, CSAT prompt)", api, "POST", f"/tickets/{number}/resolve", b"{}")
        drain()
        value = "good" if n % 3 else "bad"
        press = press_update(90_000 + n, chat, number, value)
        metered("CSAT press (rated)", hook, "POST", "/webhooks/telegram", press)
        drain()
    usage.tickets = SAMPLE
    return list(rows.values())


def aws_estimate() -> tuple[int, int]:
    """What the funnel counted of part 1's own usage: (events, write units)."""
    table, _, _ = ReportDesk(store=Store(TABLE), clock=lambda: NOW).report(
        "costs", NOW.date().isoformat(), NOW.date().isoformat(), "d0"
    )
    row = next((r for r in table.rows if r["channel"] == "aws"), None)
    return (int(row["charges"]), int(row["quantity"])) if row else (0, 0)


# ---- part 2: populations and the 30-day report ------------------------------------------------


def lifecycle_moves(index: int, settings: Any) -> tuple[Ticket, list[tuple[int, reports.Move]]]:
    """One of LIFECYCLES ticket lives by the core's rules, opened on NOW's date: its counters
    as (days after opening, move), and the ticket as it ends."""
    calendar = settings.direction("d0").business_calendar()
    channels = [Channel.TELEGRAM, Channel.WHATSAPP, Channel.PHONE, Channel.MANUAL]
    opened_at = datetime.combine(NOW.date(), datetime.min.time(), UTC) + timedelta(
        hours=index % 24, minutes=7
    )
    contact = tickets.Contact(
        direction="d0",
        channel=channels[index % len(channels)],
        customer_id=f"c{index}",
        subject="Не работает вход",
        recipient_id=str(index),
    )
    number = sweeps.TEMPLATE_NUMBER
    moved: list[tuple[int, reports.Move]] = []

    def step(before: Ticket | None, change: tickets.TicketChange, at: datetime) -> Ticket:
        change = tracked(before, change, settings, at)
        for move in reports.moves(before, change.ticket, change.messages, calendar, at):
            moved.append(((move.day - opened_at.date()).days, move))
        return change.ticket

    first = Message(
        ticket_id="",
        kind=MessageKind.INBOUND,
        author="customer",
        text="Не работает вход",
        at=opened_at,
        channel=contact.channel,
    )
    ticket = step(
        None,
        tickets.open_ticket(number, contact, opened_at, actor="customer", first_message=first),
        opened_at,
    )
    agent = Actor(user_id=AGENTS[index % len(AGENTS)], roles=frozenset({"agent"}))
    answered = opened_at + timedelta(minutes=5 + 37 * (index % 11))
    ticket = step(ticket, tickets.reply(ticket, answered, actor=agent, text="Смотрим"), answered)
    category = list(Category)[index % len(Category)]
    ticket = step(
        ticket,
        tickets.update_fields(
            ticket, answered, actor=agent, category=category, topic=f"topic-{index % 6}"
        ),
        answered,
    )
    resolved = answered + timedelta(hours=1 + 3 * (index % 9))
    ticket = step(ticket, tickets.resolve(ticket, resolved, actor=agent), resolved)
    if index % 2 == 0:
        rated = resolved + timedelta(minutes=30)
        value = "good" if index % 6 else "bad"
        ticket = step(ticket, csat.rate(ticket, value, settings.direction("d0"), rated), rated)
    return ticket, moved


@dataclass
class Population:
    tickets: int
    counter_items: int
    opened_last_30: int
    seconds: float


def populate(size: int, settings: Any, lives: list[tuple[Ticket, list[Any]]]) -> Population:
    start = time.perf_counter()
    moto = sweeps.MotoTable(TABLE, {})
    typed_templates = [to_dynamo(ticket_item(ticket)) for ticket, _ in lives]
    shared = [{k: DynamoType(v) for k, v in typed.items()} for typed in typed_templates]
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_day = NOW.date() - timedelta(days=29)
    opened_last_30 = 0
    for n in range(size):
        number = tickets.ticket_number("d0", n + 1)
        which = n % LIFECYCLES
        opening = NOW.date() - timedelta(days=n % SPREAD_DAYS)
        if opening >= first_day:
            opened_last_30 += 1
        typed = {
            name: sweeps._renumbered(value, number)
            for name, value in typed_templates[which].items()
        }
        moto.put(typed, (typed_templates[which], shared[which]))
        shard = str(zlib.crc32(number.encode()) % store_keys.REPORT_SHARDS)
        for offset, move in lives[which][1]:
            day = opening + timedelta(days=offset)
            if day > NOW.date():
                continue  # not happened yet
            owner = move.agent if move.kind == "agent" and move.agent else shard
            sums[(move.kind, day.isoformat(), owner)][move.name] += move.delta
    items = [
        {**store_keys.report("d0", day, kind, owner), **{k: v for k, v in counters.items() if v}}
        for (kind, day, owner), counters in sums.items()
    ]
    Store(TABLE).table.put_many(items)
    return Population(size, len(items), opened_last_30, time.perf_counter() - start)


@dataclass
class ReportRun:
    items: int
    read_units: float
    calls: int
    ms: float
    opened: int


def report_run(name: str) -> ReportRun:
    desk = ReportDesk(store=Store(TABLE), clock=lambda: NOW)
    start_day = (NOW.date() - timedelta(days=29)).isoformat()
    times, items, units, calls = [], 0, 0.0, 0
    for _ in range(RUNS):
        sweeps.READS.reset()
        with run.measured() as meter:
            start = time.perf_counter()
            table, _, _ = desk.report(name, start_day, NOW.date().isoformat(), "d0")
            times.append((time.perf_counter() - start) * 1000)
        items, units, calls = sweeps.READS.items, sweeps.READS.units, meter.total_calls
    opened = sum(row.get("tickets", 0) for row in table.rows) if name == "channels" else 0
    return ReportRun(items, units, calls, statistics.median(times), opened)


# ---- part 3: cost ---------------------------------------------------------------------------


def cost_per_thousand(usage: Usage, prices: Any) -> tuple[float, list[str]]:
    memory_gb = float(load_template()["Globals"]["Function"]["MemorySize"]) / 1024
    per = 1000 / usage.tickets
    sqs_requests = sum(v for k, v in usage.calls.items() if k.startswith("sqs:"))
    parts = {
        "DynamoDB writes": usage.write_units * prices.dynamodb_write_per_million / 1e6,
        "DynamoDB reads": usage.read_units * prices.dynamodb_read_per_million / 1e6,
        "Lambda requests": usage.invocations * prices.lambda_request_per_million / 1e6,
        "Lambda duration": usage.handler_ms / 1000 * memory_gb * prices.lambda_gb_second,
        "API Gateway (HTTP API)": usage.api_requests * prices.http_api_per_million / 1e6,
        "SQS": sqs_requests * prices.sqs_per_million / 1e6,
    }
    lines = [
        "| item | per ticket | USD per 1,000 tickets |",
        "|---|---|---|",
        f"| DynamoDB write units | {usage.write_units / usage.tickets:.1f} "
        f"| {parts['DynamoDB writes'] * per:.5f} |",
        f"| DynamoDB read units | {usage.read_units / usage.tickets:.1f} "
        f"| {parts['DynamoDB reads'] * per:.5f} |",
        f"| Lambda invocations | {usage.invocations / usage.tickets:.1f} "
        f"| {parts['Lambda requests'] * per:.5f} |",
        f"| Lambda GB-seconds (moto times x {memory_gb:g} GB) "
        f"| {usage.handler_ms / 1000 * memory_gb / usage.tickets:.3f} "
        f"| {parts['Lambda duration'] * per:.5f} |",
        f"| API Gateway requests | {usage.api_requests / usage.tickets:.1f} "
        f"| {parts['API Gateway (HTTP API)'] * per:.5f} |",
        f"| SQS requests | {sqs_requests / usage.tickets:.1f} | {parts['SQS'] * per:.5f} |",
    ]
    total = sum(parts.values()) * per
    lines.append(f"| **total** | | **{total:.4f}** |")
    return total, lines


def main() -> None:
    started = time.perf_counter()
    revert = moto_patches.apply()
    os.environ["HELPDESK_CONFIG"] = json.dumps(CONFIG)
    os.environ["HELPDESK_NOW"] = iso(NOW)
    print("# make bench: reports\n")
    with mock_aws(), sweeps.narrowed_index_queries():
        provision(boto3.client("dynamodb"), boto3.client("sqs"), TABLE, TABLE)
        os.environ["QUEUE_URL"] = boto3.client("sqs").get_queue_url(QueueName=f"{TABLE}-JobQueue")[
            "QueueUrl"
        ]
        get_settings.cache_clear()
        settings = get_settings()
        usage = Usage()
        events = life(usage)
        estimate = aws_estimate()
        lives = [lifecycle_moves(index, settings) for index in range(LIFECYCLES)]
        run.METER.on = False
        populations: list[Population] = []
        runs: dict[int, dict[str, ReportRun]] = {}
        for size in SIZES:
            sweeps.fresh_table()
            population = populate(size, settings, lives)
            populations.append(population)
            run.METER.on = True
            runs[size] = {name: report_run(name) for name in reports.REPORT_NAMES}
            run.METER.on = False
            assert runs[size]["channels"].opened == population.opened_last_30, (
                runs[size]["channels"].opened,
                population.opened_last_30,
            )
    revert()
    os.environ.pop("HELPDESK_NOW", None)

    print(f"## Report counters per ticket event ({SAMPLE} tickets through the doors)\n")
    print(
        "| event | AWS calls | write units (whole event) | of which report counters "
        "| counters' share |"
    )
    print("|---|---|---|---|---|")
    for row in events:
        total, counter = statistics.mean(row.units), statistics.mean(row.counter_units)
        print(
            f"| {row.name} | {statistics.mean(row.calls):.1f} | {total:.1f} | {counter:.1f} "
            f"| {100 * counter / total if total else 0:.0f} % |"
        )
    lifecycle = sum(statistics.mean(row.counter_units) for row in events)
    print(
        f"\nA ticket's whole life (these {len(events)} events) adds {lifecycle:.1f} write units "
        "for its report counters and complaints feed; a counters item is an `ADD` in the "
        "event's own transaction (no extra call)."
    )

    print("\n## A 30-day report of one direction (d0), every report\n")
    for population in populations:
        print(
            f"- {population.tickets:,} tickets over {SPREAD_DAYS} days "
            f"({population.opened_last_30:,} in the 30 days): {population.counter_items:,} "
            f"counters items; built in {population.seconds:.1f} s."
        )
    print(
        "\n| report | "
        + " | ".join(f"items read @ {s:,} | read units | calls | ms" for s in SIZES)
        + " |"
    )
    print("|---|" + "---|---|---|---|" * len(SIZES))
    for name in reports.REPORT_NAMES:
        cells = []
        for size in SIZES:
            r = runs[size][name]
            cells.append(f"{r.items} | {r.read_units:g} | {r.calls} | {r.ms:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    same = all(
        len({(runs[s][n].items, runs[s][n].calls) for s in SIZES}) == 1
        for n in reports.REPORT_NAMES
    )
    print(
        f"\nGoal: the same items read at both sizes: **{'holds' if same else 'does not hold'}** "
        "(reports read counters items only: 30 days x (4 shards x 3 kinds + active agents)). "
        "Times are moto's, in-process."
    )

    counted = sum(sum(row.units) for row in events)
    print(
        f"\nThe costs report's own estimate of this usage (channel `aws`, counted by the funnel "
        f"from item sizes): {estimate[0]} ticket changes, {estimate[1]} write units, against "
        f"{counted} write units counted here for the same doors' events (the dispatcher's "
        f"writes, {usage.write_units - counted} more, are not in the estimate)."
    )

    total, lines = cost_per_thousand(usage, settings.config.aws_prices)
    print("\n## AWS cost per 1,000 tickets (excluding logs)\n")
    print(
        f"A ticket's life as in part 1 ({usage.tickets} tickets: opened by Telegram, answered, "
        "categorised, resolved, rated; every job sent by the dispatcher). Requests counted at the "
        "botocore boundary, the SQS event source's receive and delete added per batch; prices "
        f"from `aws_prices` ({settings.config.aws_prices.currency}, us-east-1 on-demand).\n"
    )
    print("\n".join(lines))
    print(f"\nGoal < $0.05 per 1,000 tickets: **{'holds' if total < 0.05 else 'does not hold'}**.")
    print(f"\nThe whole bench took {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
