"""Notices to people inside the company (the problem-calls review mailbox): the only SNS caller."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import boto3

from helpdesk.calls import problem_call_notice
from helpdesk.jobs import ProblemCallNoticeJob
from helpdesk.models import utc_now
from helpdesk.settings import get_settings
from helpdesk.store import Store, TransactionFailed, ticket_key, update

logger = logging.getLogger(__name__)


@dataclass
class ProblemCallNotices:
    store: Store = field(default_factory=Store)
    client: Any = None

    @property
    def sns(self) -> Any:
        if self.client is None:
            self.client = boto3.client("sns")
        return self.client

    def send(self, job: ProblemCallNoticeJob) -> None:
        """Publish once: the ticket is marked first, and unmarked if publishing fails."""
        topic = get_settings().problem_calls_topic_arn
        if not topic:
            logger.warning("PROBLEM_CALLS_TOPIC_ARN not set; notice not sent")
            return
        key = ticket_key(job.ticket_id)
        mark = update(
            key,
            "SET problem_notice_at = :now",
            {":now": utc_now().isoformat()},
            condition="attribute_exists(PK) AND attribute_not_exists(problem_notice_at)",
        )
        try:
            self.store.transact([mark])
        except TransactionFailed:
            logger.info("problem-call notice already sent", extra={"ticket_id": job.ticket_id})
            return
        ticket = self.store.get_ticket(job.ticket_id)
        subject, body = problem_call_notice(ticket)
        try:
            self.sns.publish(TopicArn=topic, Subject=subject, Message=body)
        except Exception:
            self.store.transact([update(key, "REMOVE problem_notice_at")])
            raise
