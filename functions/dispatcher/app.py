"""Queue consumer: carries out each job; failed records are retried alone (partial batch)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.jobs.queue import parse_job
from helpdesk.usecases.budgets import BudgetAlerts
from helpdesk.usecases.dispatch import Dispatcher
from helpdesk.usecases.notices import NOTICE_JOBS, NoticeDelivery
from helpdesk.usecases.problem_calls import ProblemCallNotices
from helpdesk.usecases.topics import TopicMirror
from helpdesk.usecases.trackers import TaskUpdates

logger = Logger(service="dispatcher")
tracer = Tracer(service="dispatcher")
metrics = Metrics()
# A batch whose every record failed still answers which ones (the same retry for each).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
notices = NoticeDelivery()
mirror = TopicMirror()
task_updates = TaskUpdates()
dispatcher = Dispatcher(
    extra_handlers={
        "problem_call_notice": ProblemCallNotices().send,
        "budget_alert": BudgetAlerts().send,
        "topic_sync": mirror.sync,
        "task_event": task_updates.continue_page,
        **dict.fromkeys(NOTICE_JOBS, notices.handle),
    }
)
# A paced notice batch stops sending this long before the invocation's timeout and puts
# the rest of its recipients back on the queue.
SAFETY_SECONDS = 8


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    job = parse_job(record.body)
    logger.append_keys(job_type=job.type)
    dispatcher.handle(job)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    remaining = context.get_remaining_time_in_millis() / 1000
    notices.deadline = mirror.deadline = time.monotonic() + remaining - SAFETY_SECONDS
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
