"""Schedule: re-enqueue every send that did not finish (lost job, dead consumer, DLQ)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.outbox import requeue_unfinished

logger = Logger(service="outbox-sweep")
tracer = Tracer(service="outbox-sweep")
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    requeued = requeue_unfinished()
    # MessagesStuck > 0 for two sweeps in a row raises an alarm (template.yaml).
    metrics.add_metric(name="MessagesStuck", unit=MetricUnit.Count, value=requeued)
    logger.info("outbox sweep", extra={"requeued": requeued})
    return {"requeued": requeued}
