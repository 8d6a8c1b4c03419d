"""Queue consumer: carries out each job; failed records are retried alone (partial batch)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.delivery import Dispatcher
from helpdesk.notices import ProblemCallNotices
from helpdesk.providers import answer_button, channel_for
from helpdesk.queue import parse_job

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
dispatcher = Dispatcher(
    channel_for=channel_for,
    extra_handlers={
        "answer_button": answer_button,
        "problem_call_notice": ProblemCallNotices().send,
    },
)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    job = parse_job(record.body)
    logger.append_keys(job_type=job.type)
    dispatcher.handle(job)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
