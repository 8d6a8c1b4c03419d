"""The job queue: the only module that calls SQS."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import boto3

from helpdesk.jobs import JOB_ADAPTER, Job, job_key
from helpdesk.settings import get_settings

MAX_BATCH = 10  # SQS SendMessageBatch limit
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit


class JobQueue:
    def __init__(self, queue_url: str | None = None, client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = client

    @property
    def queue_url(self) -> str:
        return self._queue_url or get_settings().queue_url

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("sqs")
        return self._client

    def send(self, jobs: Sequence[Job], delay_seconds: int = 0) -> None:
        """Send jobs in batches of ten; raises if any entry was refused, so callers retry."""
        delay = max(0, min(int(delay_seconds), MAX_DELAY_SECONDS))
        for start in range(0, len(jobs), MAX_BATCH):
            batch = jobs[start : start + MAX_BATCH]
            entries = [
                {
                    "Id": hashlib.sha1(job_key(job).encode()).hexdigest()[:16] + f"-{index}",
                    "MessageBody": JOB_ADAPTER.dump_json(job).decode(),
                    "DelaySeconds": delay,
                    "MessageAttributes": {"type": {"DataType": "String", "StringValue": job.type}},
                }
                for index, job in enumerate(batch)
            ]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused {len(response['Failed'])} job(s): {response}")


def parse_job(body: str) -> Job:
    return JOB_ADAPTER.validate_json(body)
