"""Move the jobs in the dead-letter queue back to the job queue (what `make redrive` does).

Every job names what it is about (its type, the ticket, the messages), and the dispatcher's
claim makes a job for a message already sent harmless, so redriving everything is safe.

On AWS, SQS moves them itself (StartMessageMoveTask: back to the queue each job came from,
at a bounded rate; the command prints the task to follow). Against the local stack (moto,
which has no move tasks) the jobs are received from the dead-letter queue, sent to the job
queue and deleted, batch by batch; a job is deleted only once the queue has taken it.

The queues: QUEUE_URL and DEAD_LETTER_QUEUE_URL, or else found by name
(`<prefix>JobQueue`, `<prefix>JobDeadLetterQueue`; the local stack's prefix by default).

    python -m infra.redrive                 # AWS, with the usual credentials and region
    python -m infra.redrive --local         # the local stack's moto (make run)
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import boto3

LOCAL_PREFIX = "helpdesk-local-"
BATCH = 10  # SQS ReceiveMessage / SendMessageBatch / DeleteMessageBatch limit


def find_queues(sqs: Any, prefix: str = LOCAL_PREFIX) -> tuple[str, str]:
    """(job queue URL, dead-letter queue URL) from the environment, or by name."""
    queue, dead = os.environ.get("QUEUE_URL"), os.environ.get("DEAD_LETTER_QUEUE_URL")
    if queue and dead:
        return queue, dead
    urls = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    by_name = {url.rsplit("/", 1)[-1]: url for url in urls}
    queue = queue or by_name.get(f"{prefix}JobQueue")
    dead = dead or by_name.get(f"{prefix}JobDeadLetterQueue")
    if not queue or not dead:
        raise SystemExit(
            f"no queues {prefix}JobQueue / {prefix}JobDeadLetterQueue (found {sorted(by_name)}); "
            "set QUEUE_URL and DEAD_LETTER_QUEUE_URL"
        )
    return queue, dead


def stack_queues(cloudformation: Any, stack: str) -> tuple[str, str]:
    """(job queue URL, dead-letter queue URL) of a deployed stack: CloudFormation names the
    queues `<stack>-JobQueue-<random>`, and a queue's physical id is its URL."""
    urls = []
    for logical_id in ("JobQueue", "JobDeadLetterQueue"):
        resource = cloudformation.describe_stack_resource(
            StackName=stack, LogicalResourceId=logical_id
        )
        urls.append(str(resource["StackResourceDetail"]["PhysicalResourceId"]))
    return urls[0], urls[1]


def move_by_hand(sqs: Any, dead_letter_url: str, queue_url: str) -> tuple[int, int]:
    """Receive, send on, delete what was taken; (moved, left behind)."""
    moved = left = 0
    while True:
        received = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=BATCH,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,  # what the queue refuses stays hidden until the next run
        ).get("Messages", [])
        if not received:
            return moved, left
        entries = []
        for index, message in enumerate(received):
            entry = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        taken = [received[int(entry["Id"])] for entry in answer.get("Successful", [])]
        left += len(received) - len(taken)
        if taken:
            sqs.delete_message_batch(
                QueueUrl=dead_letter_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(taken)
                ],
            )
            moved += len(taken)


def start_move_task(sqs: Any, dead_letter_url: str) -> str:
    """Ask SQS to move every job back to the queue it came from; the task's handle."""
    arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    handle: str = sqs.start_message_move_task(SourceArn=arn)["TaskHandle"]
    return handle


def redrive(sqs: Any, queue_url: str, dead_letter_url: str, move_task: bool) -> str:
    """Redrive the dead-letter queue; a line saying what was done."""
    if move_task:
        handle = start_move_task(sqs, dead_letter_url)
        return (
            f"SQS is moving the jobs back (task {handle}); follow it with list-message-move-tasks"
        )
    moved, left = move_by_hand(sqs, dead_letter_url, queue_url)
    tail = f"; {left} refused by the queue stay in the dead-letter queue" if left else ""
    return f"moved {moved} job(s) back to the queue{tail}"


def local_client() -> Any:
    """An SQS client for the local stack's moto (make run), as the stack itself makes it."""
    port = os.environ.get("MOTO_PORT", "5005")
    return boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--local", action="store_true", help="the local stack's moto")
    parser.add_argument("--prefix", default=LOCAL_PREFIX, help="queue name prefix to look for")
    parser.add_argument(
        "--stack", help="a deployed stack's queues (CloudFormation), e.g. helpdesk-dev"
    )
    parser.add_argument(
        "--by-hand", action="store_true", help="receive, send and delete instead of a move task"
    )
    args = parser.parse_args(argv)
    sqs = local_client() if args.local else boto3.client("sqs")
    # moto (the local stack, or AWS_ENDPOINT_URL pointing elsewhere) has no move tasks.
    by_hand = args.by_hand or args.local or bool(os.environ.get("AWS_ENDPOINT_URL"))
    if args.stack:
        queue_url, dead_letter_url = stack_queues(boto3.client("cloudformation"), args.stack)
    else:
        queue_url, dead_letter_url = find_queues(sqs, args.prefix)
    print(redrive(sqs, queue_url, dead_letter_url, move_task=not by_hand))
    return 0


if __name__ == "__main__":
    sys.exit(main())
