"""An incident notice fanned out through the real local stack to a fake Telegram / WhatsApp
API on loopback (infra/fake_providers.py), which enforces the rate limits, answers 429s and
counts every message per recipient. Shared by the end-to-end test and `make bench`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import boto3
import requests

from helpdesk.store import Store
from infra.fake_providers import FakeProviders
from tests.e2e.conftest import RunningStack, start_stack

BOT = "123456789"  # the sample bot's id, as the dev config names it
NUMBER = "106540352242922"  # the sample WhatsApp business number
CHANNEL = "-1001234567890"  # the direction's incident channel


@dataclass
class FanOut:
    """A local stack with an imported audience, a fake provider and a commander."""

    fake: FakeProviders
    stack: RunningStack
    state_dir: Path
    env: dict[str, str]
    telegram: list[str]  # chat ids
    whatsapp: list[str]  # wa ids
    caps: dict[str, int]
    notice: dict[str, Any] = field(default_factory=dict)

    @property
    def expected(self) -> int:
        return len(self.telegram) + len(self.whatsapp)

    def client(self, service: Literal["dynamodb", "sqs"]) -> Any:
        """A boto3 client of the stack's moto."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.stack.moto,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def store(self) -> Store:
        return Store("helpdesk-local", self.client("dynamodb"))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token('commander', 'ic-1')}"}

    def post_red(self) -> dict[str, Any]:
        body = {
            "severity": "red",
            "directions": ["d0"],
            "text": {"ru": "Не работает оплата картой, чиним."},
            "request_id": "fan-out-1",
        }
        answer = requests.post(
            f"{self.stack.api}/broadcasts", json=body, headers=self.headers(), timeout=30
        )
        assert answer.status_code == 201, answer.text
        self.notice = answer.json()
        return self.notice

    def reached(self) -> int:
        """Audience members the fake provider accepted a message for (the channel aside)."""
        return self.fake.total() - self.fake.received["telegram", CHANNEL]

    def wait_quiet(self, until: int, timeout: float, quiet: float = 20) -> float:
        """Until `until` recipients are reached or nothing moves for `quiet` seconds; the
        seconds from the first to the last message accepted."""
        deadline = time.monotonic() + timeout
        last, still = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_reached = self.reached()
            if now_reached >= until:
                break
            if now_reached != last:
                last, still = now_reached, time.monotonic()
            elif time.monotonic() - still > quiet:
                break
            time.sleep(0.5)
        return self.fake.span()

    def wait_idle(self, timeout: float) -> None:
        """Until the job queue holds nothing (visible, in flight or delayed) for two seconds:
        every job the last sweep or post made has been handled."""
        sqs = self.client("sqs")
        url = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-JobQueue"))
        names: list[Any] = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        deadline, empty_since = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
            if any(int(v) for v in attributes["Attributes"].values()):
                empty_since = None
            elif empty_since is None:
                empty_since = time.monotonic()
            elif time.monotonic() - empty_since >= 2:
                return
            time.sleep(0.5)
        raise AssertionError(f"the job queue was still busy after {timeout:.0f} s")

    def delivery(self) -> dict[str, Any]:
        view = requests.get(
            f"{self.stack.api}/broadcasts/{self.notice['id']}", headers=self.headers(), timeout=30
        )
        assert view.status_code == 200, view.text
        return dict(view.json()["delivery"]["1"])

    def restart(self) -> None:
        self.stack = start_stack(self.state_dir, self.env)

    def sweep_at(self, minutes_later: int) -> dict[str, Any]:
        """Move the stack's clock and run the outbox sweep (which runs the notice sweep)."""
        at = datetime.now(UTC) + timedelta(minutes=minutes_later)
        moved = requests.post(
            f"{self.stack.api}/_local/clock",
            json={"now": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
            timeout=10,
        )
        assert moved.status_code == 200, moved.text
        swept = requests.post(f"{self.stack.api}/_local/sweeps/outbox_sweep", timeout=300)
        assert swept.status_code == 200, swept.text
        return dict(swept.json())

    def stop(self) -> None:
        if self.stack.process.poll() is None:
            self.stack.stop()
        self.fake.stop()


def start(
    state_dir: Path,
    telegram: int,
    whatsapp: int,
    caps: dict[str, int],
    refuse_every: int = 0,
    duplicate_every: int = 0,
    workers: int = 4,
    notice_share: float = 1.0,
) -> FanOut:
    """A stack whose direction d0 knows `telegram` + `whatsapp` clients (a third of the
    WhatsApp ones outside the 24-hour window: they get the incident template)."""
    fake = FakeProviders(
        telegram_per_second=caps["telegram"],
        whatsapp_per_second=caps["whatsapp"],
        refuse_every=refuse_every,
    ).start()
    config = {
        "directions": [
            {
                "id": "d0",
                "whatsapp_phone_number_ids": [NUMBER],
                "incident_channel_id": CHANNEL,
                "whatsapp_incident_template": "incident_notice",
            }
        ],
        "rates": {
            "telegram_per_second": caps["telegram"],
            "whatsapp_per_second": caps["whatsapp"],
            "notice_share": notice_share,
        },
    }
    env = {
        # the bot and number the audience names, whatever the calling shell has set
        "TELEGRAM_BOT_TOKEN": f"{BOT}:fan-out",
        "WHATSAPP_PHONE_NUMBER_ID": NUMBER,
        "TELEGRAM_API_BASE": fake.url,
        "WHATSAPP_API_BASE": fake.url,
        "HELPDESK_CONFIG": json.dumps(config),
        "LOCAL_QUEUE_WORKERS": str(workers),
        "LOCAL_DUPLICATE_EVERY": str(duplicate_every),
        "LOCAL_JOURNAL_FSYNC": "0",  # a kill -9 loses nothing without it; only a power cut would
        "LOCAL_SCHEDULE_SECONDS": "3600",  # the sweeps run when the test says
    }
    stack = start_stack(state_dir, env)
    run = FanOut(
        fake,
        stack,
        state_dir,
        env,
        [str(10_000_000 + i) for i in range(telegram)],
        [f"7916{i:07d}" for i in range(whatsapp)],
        caps,
    )
    now = datetime.now(UTC)
    store = run.store()
    store.audience.import_clients("d0", "telegram", [(c, c, BOT, now) for c in run.telegram])
    store.audience.import_clients(
        "d0",
        "whatsapp",
        [
            (f"+{wa}", wa, NUMBER, now - timedelta(days=2) if i % 3 == 0 else now)
            for i, wa in enumerate(run.whatsapp)
        ],
    )
    return run
