"""make bench, e-mail (issue 21): AWS calls and DynamoDB write units per inbound e-mail and per
SES notification, through the intake function against moto (benchmarks/run.py's meter: calls
at the botocore boundary, write units from item sizes, doubled in transactions); the mail the
dispatcher sends for a first contact; then the intake's time, p50 / p99 over 1,000 mails (10
batches of 10 clients x 10 mails, each batch on an empty table as run.py does).
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from contextlib import redirect_stdout
from typing import Any

import boto3
from moto import mock_aws

from benchmarks import run  # before helpdesk: the bench environment, sys.path, the meter
from helpdesk.jobs.queue import parse_job
from helpdesk.settings import get_settings
from infra.lambda_runtime import LambdaContext, load_function
from infra.mail import receipt_event
from infra.provision import provision
from infra.template import functions

BUCKET = "bench-mail"
MAILBOX = "support@helpdesk.example"
SAMPLES = run.EVENTS / "email"
MAILS = 1000


class Intake:
    def __init__(self) -> None:
        self.spec = functions()["EmailIntakeFunction"]
        self.module = load_function(self.spec)
        self.s3 = boto3.client("s3")
        self.count = 0

    def put(self, raw: bytes) -> dict[str, Any]:
        """The raw mail where SES stores it, and SES's notification of it (not measured:
        SES does both before the intake runs)."""
        self.count += 1
        key = f"inbound/bench{self.count:036d}"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=raw)
        return receipt_event(BUCKET, key, key.removeprefix("inbound/"), [MAILBOX], "c@x.example")

    def invoke(self, event: dict[str, Any]) -> list[str]:
        with redirect_stdout(io.StringIO()):
            result = self.module.lambda_handler(event, LambdaContext(self.spec.logical_id))
        return list(result["handled"])


def client_mail(sender: str, message_id: str, subject: str, body: str) -> bytes:
    raw = (SAMPLES / "gmail_inline_image.eml").read_bytes()
    raw = raw.replace(b"anna.petrova@gmail.com", sender.encode())
    raw = raw.replace(
        b"<CAJ8rQ2XkV9sPz1mT4wY6bN3cE5fH7gJ9kL1mN3pQ5sT7vX9zB@mail.gmail.com>",
        message_id.encode(),
    )
    if subject:
        raw = raw.replace(
            b"=?UTF-8?B?0J3QtSDQv9GA0L7RhdC+0LTQuNGCINC+0L/Qu9Cw0YLQsA==?=", subject.encode()
        )
    return raw + body.encode()


def scenarios(intake: Intake) -> list[str]:
    lines = [*run.HEADER]

    def measure(name: str, event: dict[str, Any]) -> list[str]:
        with run.measured() as meter:
            handled = intake.invoke(event)
        lines.append(run.row(f"{name} ({', '.join(handled)})", meter))
        return handled

    first = client_mail("anna@example.com", "<m1@example.com>", "", "")
    measure("Gmail first contact, 1 inline image", intake.put(first))
    # the acknowledgement goes out: what the dispatcher does for it
    sqs = boto3.client("sqs")
    url = os.environ["QUEUE_URL"]
    jobs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    dispatcher = load_function(functions()["DispatcherFunction"]).dispatcher
    with run.measured() as meter:
        for job in jobs:
            dispatcher.handle(parse_job(job["Body"]))
    lines.append(run.row("dispatcher: the acknowledgement, 1 mail via SES", meter))
    for job in jobs:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=job["ReceiptHandle"])
    reply = client_mail("anna@example.com", "<m2@example.com>", "Re: x [D0-000001]", "")
    measure("reply on the open ticket (subject number)", intake.put(reply))
    measure("the same mail again (redelivery)", intake.put(reply))
    auto = (SAMPLES / "auto_reply_out_of_office.eml").read_bytes()
    measure("out-of-office auto-reply, new client (stored, unanswered)", intake.put(auto))
    forged = (SAMPLES / "forged_own_mailbox.eml").read_bytes()
    measure("forged From of our mailbox (refused)", intake.put(forged))
    bounce = json.loads((SAMPLES / "sns_bounce.json").read_text())
    measure("SES bounce notification (no message of ours)", bounce)
    return lines


def timed(intake: Intake) -> dict[str, float]:
    run.METER.on = False
    times: list[float] = []
    for n in range(MAILS):
        if n % 100 == 0:
            run.fresh_table()
        raw = client_mail(f"client{n % 10}@example.com", f"<bench-{n}@example.com>", "", "")
        event = intake.put(raw)
        start = time.perf_counter()
        intake.invoke(event)
        times.append((time.perf_counter() - start) * 1000)
    run.METER.on = True
    return {"p50": run.percentile(times, 0.5), "p99": run.percentile(times, 0.99)}


def main() -> None:
    logging.getLogger("helpdesk").setLevel(logging.ERROR)  # the refusals' warnings
    config = {"directions": [{"id": "d0", "email": {"mailboxes": [MAILBOX]}}]}
    os.environ.update({"HELPDESK_CONFIG": json.dumps(config), "EMAIL_BUCKET": BUCKET})
    os.environ.pop("EMAIL_OUTBOX_URL", None)
    get_settings.cache_clear()
    with mock_aws():
        provision(boto3.client("dynamodb"), boto3.client("sqs"), "bench", "bench")
        os.environ["QUEUE_URL"] = boto3.client("sqs").get_queue_url(QueueName="bench-JobQueue")[
            "QueueUrl"
        ]
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("ses").verify_domain_identity(Domain="helpdesk.example")
        intake = Intake()
        print("\n## E-mail intake (issue 21), per inbound e-mail or SES notification\n")
        print("\n".join(scenarios(intake)))
        times = timed(intake)
        print(
            f"\nIntake time over {MAILS:,} mails (Gmail's format, an inline image each; 10 "
            "batches of 10 clients x 10) against moto: "
            f"p50 {times['p50']:.1f} ms, p99 {times['p99']:.1f} ms"
        )


if __name__ == "__main__":
    main()
