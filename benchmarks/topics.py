"""make bench, issue 19: the staff group's topics.

- AWS calls (and write units) per mirrored message: a client's message on a ticket with a
  topic (webhook), then the mirror's pass that posts it (the `topic_sync` job); a staff
  comment and a staff reply from the topic.
- The burst: 200 client messages from 50 clients within 20 s, mirrored to the group at its
  20 calls a minute, on a virtual clock shared by the helpdesk and the fake Bot API (which
  refuses a 21st call within 60 s with a 429, as Telegram does). Reported: the calls made,
  how long until every message was in its topic, and the limit's own floor: the minutes 20
  calls a minute need for those calls, and for one post per message (no joining).
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from benchmarks import run  # before helpdesk: the bench environment, sys.path, the meter
from helpdesk.clock import parse_instant
from helpdesk.jobs import JOB_ADAPTER, Job
from helpdesk.models import iso
from helpdesk.settings import get_settings
from infra import moto_patches
from infra.fake_providers import FakeProviders
from infra.lambda_runtime import LambdaContext, load_function, sqs_event
from infra.provision import provision
from infra.template import functions

GROUP = "-1001987654321"
START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
SECRET = {"X-Telegram-Bot-Api-Secret-Token": "bench-tg"}
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bench-JobQueue"


def at(moment: datetime) -> None:
    os.environ["HELPDESK_NOW"] = iso(moment)


def now() -> datetime:
    return parse_instant(os.environ["HELPDESK_NOW"])


class Stack:
    """The webhook, the tickets API and the queue's consumer, in process, on moto."""

    def __init__(self, queue_url: str) -> None:
        self.hook = run.Door("MessengerWebhookFunction")
        self.api = run.Door("TicketsFunction", {"sub": "agent-1", "cognito:groups": ["agent"]})
        spec = functions()["DispatcherFunction"]
        self.spec, self.consumer = spec, load_function(spec)
        self.sqs, self.queue_url = boto3.client("sqs"), queue_url
        self.waiting: list[tuple[float, Job]] = []
        mirror, real = self.consumer.mirror, self.consumer.mirror.queue
        stack = self

        class Delayed:
            """Continuations wait on the virtual clock, not on SQS's real one."""

            def send(self, jobs: list[Job], delay_seconds: int = 0) -> None:
                if delay_seconds:
                    due = now().timestamp() + delay_seconds
                    stack.waiting += [(due, job) for job in jobs]
                else:
                    real.send(jobs)

        mirror.queue = Delayed()
        self.updates = iter(range(1, 10**9))

    def client_writes(self, chat: int, text: str) -> None:
        at(now() + timedelta(milliseconds=100))
        update_id = next(self.updates)
        raw = run.telegram_update(update_id, chat, text)
        status, body = self.hook.call("POST", "/webhooks/telegram", raw, SECRET)
        assert status == 200, body

    def staff_writes(self, thread: int, text: str) -> None:
        at(now() + timedelta(milliseconds=100))
        update = json.loads((run.EVENTS / "telegram/forum/staff_message.json").read_text())
        update["update_id"] = next(self.updates)
        message = update["message"]
        message["message_thread_id"] = message["reply_to_message"]["message_thread_id"] = thread
        message["reply_to_message"]["message_id"] = thread
        message["text"] = text
        raw = json.dumps(update, ensure_ascii=False).encode()
        status, body = self.hook.call("POST", "/webhooks/telegram", raw, SECRET)
        assert status == 200 and body["handled"] != ["ignored"], body

    def drain(self) -> None:
        """Every job now on the queue, through the consumer, until none is left."""
        metering = run.METER.on
        while True:
            run.METER.on = False  # the event source's polling is not the function's doing
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            run.METER.on = metering
            if not received:
                return
            with redirect_stdout(io.StringIO()):
                self.consumer.lambda_handler(
                    sqs_event(received, QUEUE_ARN), LambdaContext(self.spec.logical_id)
                )
            run.METER.on = False
            for message in received:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            run.METER.on = metering

    def run_until_quiet(self) -> None:
        self.drain()
        while self.waiting:
            self.waiting.sort(key=lambda entry: entry[0])
            due, job = self.waiting.pop(0)
            at(datetime.fromtimestamp(max(due, now().timestamp()), UTC))
            self.sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=JOB_ADAPTER.dump_json(job).decode()
            )
            self.drain()


def configure(members: dict[str, Any] | None = None) -> None:
    group = {"chat_id": GROUP, "members": members or {"5511223344": {"user_id": "agent-7"}}}
    os.environ["HELPDESK_CONFIG"] = json.dumps({"directions": [{"id": "d0", "staff_group": group}]})
    get_settings.cache_clear()


def per_message(stack: Stack, fake: FakeProviders) -> list[str]:
    lines = [*run.HEADER]

    def measured(name: str, action: Any) -> None:
        with run.measured() as meter:
            action()
        lines.append(run.row(name, meter))

    at(START)
    stack.client_writes(7001, "first words")
    stack.drain()
    (thread,) = fake.topics
    measured(
        "client message on a ticket with a topic (webhook)", lambda: stack.client_writes(7001, "x")
    )
    measured("its topic_sync job: the post", stack.drain)
    measured("staff comment in the topic (webhook)", lambda: stack.staff_writes(thread, "Seen"))
    measured("its topic_sync job (nothing to post)", stack.drain)
    measured(
        "staff /reply in the topic (webhook)",
        lambda: stack.staff_writes(thread, "/reply We are on it"),
    )
    measured("its jobs: the reply to the client", stack.drain)
    return lines


def burst(stack: Stack, fake: FakeProviders) -> dict[str, Any]:
    at(START + timedelta(hours=1))
    begin = now().timestamp()
    calls_before = len(fake.group_calls)
    with run.measured() as meter:
        for n in range(200):
            stack.client_writes(8000 + n % 50, f"message {n // 50} of client {8000 + n % 50}")
            if n % 10 == 9:
                stack.drain()
        stack.run_until_quiet()
    calls = fake.group_calls[calls_before:]
    posted = sum(
        post.count("\nmessage ") for topic in fake.topics.values() for post in topic["posts"]
    )
    return {
        "calls": len(calls),
        "creates": sum(1 for _, method, _ in calls if method == "createForumTopic"),
        "posts": sum(1 for _, method, _ in calls if method == "sendMessage"),
        "mirrored": posted,
        "seconds": max(at for at, _, _ in calls) - begin,
        "refused": fake.refused["telegram_group"],
        "aws_calls": meter.total_calls,
        "aws_detail": dict(meter.calls),
    }


def floor_seconds(calls: int, per_minute: int = 20) -> int:
    """The limit's own floor: the last of `calls` cannot go before this (20 in any 60 s)."""
    return (calls - 1) // per_minute * 60


def main() -> None:
    print("\n## Staff group topics (issue 19)\n")
    with mock_aws():
        revert = moto_patches.apply()
        urls = provision(boto3.client("dynamodb"), boto3.client("sqs"), "bench", "bench")
        queue_url = urls["JobQueue"][0]
        os.environ["QUEUE_URL"] = queue_url
        at(START)
        fake = FakeProviders(
            telegram_per_second=1000,
            chat_per_second=1000,
            clock=lambda: now().timestamp(),
            forum_groups=frozenset({GROUP}),
        ).start()
        os.environ["TELEGRAM_API_BASE"] = fake.url
        configure()
        from helpdesk.channels import registry

        registry.sender_for.cache_clear()
        try:
            stack = Stack(queue_url)
            print("\n".join(per_message(stack, fake)))
            found = burst(stack, fake)
        finally:
            fake.stop()
            revert()
            os.environ.pop("HELPDESK_NOW", None)
    unjoined = 200 + found["creates"]
    print(
        f"\nBurst: 200 client messages from 50 clients within 20 s, at the group's 20 calls a "
        f"minute: {found['mirrored']} of 200 mirrored with {found['calls']} Bot API calls "
        f"({found['creates']} createForumTopic, {found['posts']} sendMessage), the last "
        f"{found['seconds']:.0f} s after the first message; the limit's floor for those calls "
        f"is {floor_seconds(found['calls'])} s, for one post per message "
        f"({unjoined} calls) {floor_seconds(unjoined)} s. 429s from the group: "
        f"{found['refused']}. AWS calls for the whole burst (webhooks, jobs, mirror): "
        f"{found['aws_calls']} ({found['aws_calls'] / 200:.1f} per message)."
    )


if __name__ == "__main__":
    main()
