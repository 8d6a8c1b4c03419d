"""Schedule: re-enqueue every send that did not finish (lost job, dead consumer, DLQ),
finish incident fan-outs a crash or a lost job left behind, and nudge staff groups whose
topics are behind."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.jobs.queue import JobQueue
from helpdesk.settings import get_settings
from helpdesk.store import Store
from helpdesk.usecases.notices import NoticeDelivery
from helpdesk.usecases.outbox import requeue_unfinished
from helpdesk.usecases.topics import nudge_groups

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
    groups = nudge_groups(Store(), JobQueue(), get_settings())
    logger.info(
        "outbox sweep", extra={"requeued": requeued, "fan_outs": fan_outs, "groups": groups}
    )
    return {"requeued": requeued, "fan_outs": fan_outs, "staff_groups_nudged": groups}
