"""Telegram and WhatsApp webhooks: verify, then hand the events to the inbox."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import intake
from helpdesk.api import make_resolver, raw_body
from helpdesk.messages import Inbox, Outcome

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver("Helpdesk messenger webhooks")
inbox = Inbox()


def accepted(channel: str, outcomes: list[Outcome]) -> dict[str, Any]:
    for outcome in outcomes:
        metrics.add_metric(name=f"{channel}_{outcome.result}", unit=MetricUnit.Count, value=1)
    logger.info("webhook handled", extra={"outcomes": [o.result for o in outcomes]})
    return {"ok": True, "handled": [o.result for o in outcomes] or ["ignored"]}


@app.post("/webhooks/telegram", include_in_schema=False)
def telegram_webhook():  # type: ignore[no-untyped-def]
    header = app.current_event.headers.get("x-telegram-bot-api-secret-token")
    return accepted(
        "telegram",
        inbox.receive(intake.telegram_events(header, raw_body(app.current_event.raw_event))),
    )


@app.get("/webhooks/whatsapp", include_in_schema=False)
def whatsapp_challenge():  # type: ignore[no-untyped-def]
    params = app.current_event.query_string_parameters or {}
    return Response(200, "text/plain", intake.whatsapp_challenge(params))


@app.post("/webhooks/whatsapp", include_in_schema=False)
def whatsapp_webhook():  # type: ignore[no-untyped-def]
    header = app.current_event.headers.get("x-hub-signature-256")
    return accepted(
        "whatsapp",
        inbox.receive(intake.whatsapp_events(header, raw_body(app.current_event.raw_event))),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
