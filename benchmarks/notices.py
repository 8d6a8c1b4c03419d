"""make bench, incident notices: a red notice to 10,000 clients (7,000 in Telegram, 3,000 in
WhatsApp, a third of those outside the 24-hour window, so they get the incident template).

Two runs:
1. Counted, in-process against moto: the commander's start and every job it leads to, handled
   by the dispatcher's own `NoticeDelivery` on a virtual clock (its sleeps advance the clock,
   so the pacing takes as many budget calls as it would in real seconds), with a sender that
   answers at once. AWS calls by operation and DynamoDB write units (benchmarks/run.py's
   meter), per recipient. The queue's delays are dropped (moto would make us wait them); the
   calls are the same. The event source mapping's own ReceiveMessage / DeleteMessageBatch
   (one each per ten jobs) are counted apart: Lambda makes them, not our code.
2. Timed, through the local stack (`make run`'s, its queue consumer as eight Lambda instances;
   the template lets the dispatcher run ten, DispatcherMaxConcurrency)
   against the fake Telegram / WhatsApp API on loopback (infra/fake_providers.py), which
   enforces the caps and answers 429s past them and counts every message per recipient: wall
   time, achieved rate per channel as a share of the configured cap, duplicates, lost.
   Incidents take 80 % of each cap (`notice_share`, leaving room for replies to clients).
   Telegram's cap is its real one (30/s a bot, so 24/s for the notice). WhatsApp's real cap
   (80/s a number) is more than this machine's local stack drives while it also sends
   Telegram: moto and every consumer share one Python process, about 40-50 sends a second
   in all on two shared cores, past which the machine and not the pacing sets the rate. So
   WhatsApp's cap is configured down to 15/s here (12/s for the notice): what is measured is
   the pacing against its cap, not the machine.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from moto import mock_aws

from benchmarks import run  # before helpdesk: the bench environment, sys.path, the meter
from helpdesk.channels.base import OutboundText, Sender, SendResult
from helpdesk.jobs import Job
from helpdesk.jobs.queue import JobQueue, parse_job
from helpdesk.models import Actor, Channel
from helpdesk.settings import get_settings
from helpdesk.store import Store
from helpdesk.usecases.broadcasts import IncidentDesk
from helpdesk.usecases.notices import NoticeDelivery
from infra.provision import provision
from tests.e2e import fanout

TABLE = "bench"
TELEGRAM, WHATSAPP = 7_000, 3_000
RECIPIENTS = TELEGRAM + WHATSAPP
LOCAL_CAPS = {"telegram": 30, "whatsapp": 15}  # the providers' (the fake enforces them)
NOTICE_SHARE = 0.8
WORKERS = 8
CONFIG = {"directions": [{"id": "d0", "whatsapp_incident_template": "incident_notice"}]}
COMMANDER = Actor(user_id="ic-1", roles=frozenset({"commander"}))


@dataclass
class VirtualClock:
    """Seconds that pass only when someone sleeps: pacing without waiting."""

    now: float = 1_800_000_000.0

    def wall(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def instant(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@dataclass
class InstantSender:
    sent: Counter[str] = field(default_factory=Counter)

    def send(self, message: OutboundText) -> SendResult:
        self.sent[message.recipient_id] += 1
        return SendResult(f"m{sum(self.sent.values())}")

    def edit(self, recipient_id: str, message_id: str, text: str) -> None:
        pass


class UndelayedQueue(JobQueue):
    def send(self, jobs: list[Job], delay_seconds: int = 0) -> None:  # type: ignore[override]
        super().send(jobs, 0)


def counted() -> tuple[run.Meter, int, int, InstantSender, float]:
    """(the meter, jobs handled, polling calls, the sender, virtual seconds) for one notice."""
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=f"{TABLE}-JobQueue")["QueueUrl"]
    store = Store(TABLE)
    now = datetime.now(UTC)
    run.METER.on = False
    chats = [str(10_000_000 + i) for i in range(TELEGRAM)]
    store.audience.import_clients("d0", "telegram", [(c, c, "7000", now) for c in chats])
    outside = now - timedelta(days=2)
    numbers = [f"7916{i:07d}" for i in range(WHATSAPP)]
    store.audience.import_clients(
        "d0",
        "whatsapp",
        [
            (f"+{n}", n, fanout.NUMBER, outside if i % 3 == 0 else now)
            for i, n in enumerate(numbers)
        ],
    )
    clock = VirtualClock(now.timestamp())
    sender = InstantSender()
    queue = UndelayedQueue(queue_url, sqs)

    def sender_for(channel: Channel, service: str | None) -> Sender:
        return sender

    delivery = NoticeDelivery(
        store,
        queue,
        sender_for=sender_for,
        clock=clock.instant,
        sleep=clock.sleep,
        wall=clock.wall,
    )
    desk = IncidentDesk(store, queue, clock=clock.instant)
    started = clock.now
    jobs = polls = 0
    with run.measured() as meter:
        desk.start(
            COMMANDER,
            severity="red",
            directions=["d0"],
            text={"ru": "Не работает оплата картой, чиним."},
            request_id="bench-1",
        )
        while True:
            run.METER.on = False  # the event source mapping's polling, counted apart
            received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not received:
                break
            polls += 2
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(received)
                ],
            )
            run.METER.on = True
            for message in received:
                jobs += 1
                delivery.handle(parse_job(message["Body"]))
    return meter, jobs, polls, sender, clock.now - started


def timed(directory: Path) -> dict[str, object]:
    """The same notice through the local stack against the fake providers."""
    scene = fanout.start(
        directory / "state",
        TELEGRAM,
        WHATSAPP,
        LOCAL_CAPS,
        workers=WORKERS,
        notice_share=NOTICE_SHARE,
    )
    try:
        posted = time.monotonic()
        scene.post_red()
        scene.wait_quiet(RECIPIENTS, timeout=RECIPIENTS / 10 + 300, quiet=30)
        wall = time.monotonic() - posted
        delivery = scene.delivery()
    finally:
        scene.stop()
    reached = {
        ("telegram", chat) for chat in scene.telegram if scene.fake.received["telegram", chat]
    } | {("whatsapp", wa) for wa in scene.whatsapp if scene.fake.received["whatsapp", wa]}
    return {
        "wall": wall,
        "rates": {channel: scene.fake.rate(channel) for channel in LOCAL_CAPS},
        "duplicates": len(scene.fake.duplicates()),
        "lost": RECIPIENTS - len(reached),
        "refused": dict(scene.fake.refused),
        "delivery": delivery,
    }


def main() -> None:
    """`--counted-only` / `--timed-only` run one of the two."""
    print("# make bench: incident notices\n")
    print(
        f"A red notice to {RECIPIENTS:,} clients of one direction: {TELEGRAM:,} in Telegram, "
        f"{WHATSAPP:,} in WhatsApp (a third outside the 24-hour window: template).\n"
    )
    if "--timed-only" not in sys.argv:
        report_counted()
    if "--counted-only" not in sys.argv:
        report_timed()


def report_counted() -> None:
    with mock_aws():
        provision(boto3.client("dynamodb"), boto3.client("sqs"), TABLE, TABLE)
        os.environ["QUEUE_URL"] = boto3.client("sqs").get_queue_url(QueueName=f"{TABLE}-JobQueue")[
            "QueueUrl"
        ]
        os.environ["HELPDESK_CONFIG"] = json.dumps(CONFIG)
        get_settings.cache_clear()
        with redirect_stdout(io.StringIO()):
            meter, jobs, polls, sender, seconds = counted()
    told = sum(sender.sent.values())
    assert told == RECIPIENTS and max(sender.sent.values()) == 1, sender.sent.most_common(3)
    print("## AWS calls and write units (in-process, moto, real caps 30/s and 80/s)\n")
    print("| figure | total | per recipient |")
    print("|---|---|---|")
    print(f"| AWS calls (our code) | {meter.total_calls:,} | {meter.total_calls / told:.2f} |")
    print(f"| DynamoDB write units | {meter.write_units:,} | {meter.write_units / told:.2f} |")
    for name, count in sorted(meter.calls.items()):
        print(f"| {name} | {count:,} | {count / told:.3f} |")
    print(f"| jobs handled | {jobs:,} | {jobs / told:.3f} |")
    print(f"| queue polling (event source mapping) | {polls:,} | {polls / told:.3f} |")
    print(
        f"\nPaced sending time on the virtual clock: {seconds:.0f} s "
        f"(the Telegram share alone needs {TELEGRAM / 30:.0f} s at 30/s).\n"
    )


def report_timed() -> None:
    with tempfile.TemporaryDirectory() as directory:
        figures = timed(Path(directory))
    rates = figures["rates"]
    assert isinstance(rates, dict)
    print("## Through the local stack against the fake providers\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| wall time, post to last message | {figures['wall']:.0f} s |")
    for channel, cap in LOCAL_CAPS.items():
        rate, notice_cap = float(rates[channel]), int(cap * NOTICE_SHARE)
        print(
            f"| {channel} rate / the notice's cap ({NOTICE_SHARE:.0%} of {cap}/s) "
            f"| {rate:.1f}/s of {notice_cap}/s = {rate / notice_cap:.0%} |"
        )
    print(f"| duplicates (counted per recipient by the fake) | {figures['duplicates']} |")
    print(f"| lost (never reached) | {figures['lost']} |")
    print(f"| 429s answered by the fake | {figures['refused']} |")
    print(f"| progress the API shows | {figures['delivery']} |")


if __name__ == "__main__":
    main()
