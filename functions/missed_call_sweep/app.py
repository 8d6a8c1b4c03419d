"""Schedule (every five minutes): every missed call closed, on the worklist, or escalated."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.callbacks import CallbackDesk

logger = Logger(service="missed-call-sweep")
tracer = Tracer(service="missed-call-sweep")
metrics = Metrics()
desk = CallbackDesk()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = desk.sweep()
    for name, value in result.items():
        metrics.add_metric(name=f"MissedCalls_{name}", unit=MetricUnit.Count, value=value)
    logger.info("missed-call sweep", extra=result)
    return result
