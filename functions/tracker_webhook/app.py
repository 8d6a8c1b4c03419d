"""Issue-tracker webhooks: verify, read the task event, and tell the tickets that wait for it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import trackers
from helpdesk.http.resolver import make_resolver, raw_body
from helpdesk.usecases.trackers import TaskUpdates

logger = Logger(service="tracker-webhook")
tracer = Tracer(service="tracker-webhook")
metrics = Metrics()
app = make_resolver("Helpdesk tracker webhooks")
updates = TaskUpdates()


@app.post("/webhooks/tracker/<provider>")
def tracker_event(provider: str) -> dict[str, Any]:
    request = trackers.TrackerRequest(
        dict(app.current_event.headers), raw_body(app.current_event.raw_event)
    )
    try:
        event = trackers.read_event(provider, request)
    except trackers.Ignored as ignored:
        logger.info("tracker event ignored", extra={"provider": provider, "reason": str(ignored)})
        return {"ok": True, "ignored": str(ignored)}
    outcome = updates.receive(event)
    if outcome.ignored:
        metrics.add_metric(name="tracker_unknown_task", unit=MetricUnit.Count, value=1)
        return {"ok": True, "ignored": outcome.ignored, "task": outcome.task_key}
    for result in outcome.tickets.values():
        metrics.add_metric(name=f"tracker_{result}", unit=MetricUnit.Count, value=1)
    answer: dict[str, Any] = {"ok": True, "task": outcome.task_key, "tickets": outcome.tickets}
    if outcome.more:
        answer["more"] = "further linked tickets follow through the queue"
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
