"""Problem-call notices to the review mailbox (an SNS topic with an e-mail subscription).

Published once: the ticket is marked first (a conditional write that only one job can win),
and unmarked if publishing fails, so that the retried job publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from helpdesk.calls import problem_call_notice
from helpdesk.jobs import Job, ProblemCallNoticeJob
from helpdesk.models import iso, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store, TransactionFailed
from helpdesk.store.tickets import marked_once, unmarked

logger = logging.getLogger(__name__)

MARK = "problem_notice_at"


@dataclass
class ProblemCallNotices:
    store: Store = field(default_factory=Store)
    client: Any = None
    settings: Callable[[], Settings] = get_settings

    @property
    def sns(self) -> Any:
        if self.client is None:
            self.client = boto3.client("sns")
        return self.client

    def send(self, job: Job) -> None:
        assert isinstance(job, ProblemCallNoticeJob)
        topic = self.settings().problem_calls_topic_arn
        if not topic:
            logger.warning("PROBLEM_CALLS_TOPIC_ARN not set; notice not sent")
            return
        try:
            self.store.transact([marked_once(job.ticket_id, MARK, iso(utc_now()))])
        except TransactionFailed:
            logger.info("problem-call notice already sent", extra={"ticket_id": job.ticket_id})
            return
        ticket = self.store.tickets.get(job.ticket_id)
        subject, body = problem_call_notice(ticket)
        try:
            self.sns.publish(TopicArn=topic, Subject=subject, Message=body)
        except Exception:
            self.store.transact([unmarked(job.ticket_id, MARK)])
            raise
