"""Schedule (every minute): SLA warnings and breaches marked once and told; waiting rules."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.sla_sweep import SlaSweep

logger = Logger(service="sla-sweep")
tracer = Tracer(service="sla-sweep")
metrics = Metrics()
sweep = SlaSweep()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = asdict(sweep.run())
    for name, value in result.items():
        metrics.add_metric(name=f"Sla_{name}", unit=MetricUnit.Count, value=value)
    logger.info("SLA sweep", extra=result)
    return result
