"""Schedule: re-enqueue messages stored as queued whose job never reached the queue."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.outbox import requeue_stuck_messages

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    requeued = requeue_stuck_messages()
    metrics.add_metric(name="MessagesRequeued", unit=MetricUnit.Count, value=requeued)
    logger.info("outbox sweep", extra={"requeued": requeued})
    return {"requeued": requeued}
