"""Schedule: re-enqueue every send that did not finish (lost job, dead consumer, DLQ), and
finish incident fan-outs a crash or a lost job left behind."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.notices import NoticeDelivery
from helpdesk.usecases.outbox import requeue_unfinished

logger = Logger(service="outbox-sweep")
tracer = Tracer(service="outbox-sweep")
metrics = Metrics()
notices = NoticeDelivery()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    requeued = requeue_unfinished()
    # MessagesStuck > 0 for two sweeps in a row raises an alarm (template.yaml).
    metrics.add_metric(name="MessagesStuck", unit=MetricUnit.Count, value=requeued)
    fan_outs = notices.sweep()
    metrics.add_metric(
        name="FanOutsRestarted",
        unit=MetricUnit.Count,
        value=fan_outs["restarted"] + fan_outs["swept_up"],
    )
    logger.info("outbox sweep", extra={"requeued": requeued, "fan_outs": fan_outs})
    return {"requeued": requeued, "fan_outs": fan_outs}
