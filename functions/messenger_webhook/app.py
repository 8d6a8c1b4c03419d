"""Telegram and WhatsApp webhooks: verify, then hand the events to the inbox."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.channels import registry
from helpdesk.http.resolver import make_resolver, raw_body
from helpdesk.models import Channel
from helpdesk.usecases.inbox import Inbox

logger = Logger(service="messenger-webhook")
tracer = Tracer(service="messenger-webhook")
metrics = Metrics()
app = make_resolver("Helpdesk messenger webhooks")
inbox = Inbox()


def receive(channel: Channel) -> dict[str, Any]:
    request = registry.WebhookRequest(
        dict(app.current_event.headers), raw_body(app.current_event.raw_event)
    )
    outcomes = inbox.receive(registry.read_webhook(channel, request))
    for outcome in outcomes:
        metrics.add_metric(name=f"{channel}_{outcome.result}", unit=MetricUnit.Count, value=1)
    logger.info("webhook handled", extra={"outcomes": [o.result for o in outcomes]})
    replies = [outcome.webhook_reply for outcome in outcomes if outcome.webhook_reply]
    if len(replies) == 1:
        return replies[0]  # a Bot API method call, carried out by Telegram itself
    return {"ok": True, "handled": [o.result for o in outcomes] or ["ignored"]}


@app.post("/webhooks/telegram")
def telegram_webhook() -> dict[str, Any]:
    return receive(Channel.TELEGRAM)


@app.get("/webhooks/whatsapp")
def whatsapp_challenge() -> Response[str]:
    params = app.current_event.query_string_parameters or {}
    return Response(200, "text/plain", registry.whatsapp_challenge(params))


@app.post("/webhooks/whatsapp")
def whatsapp_webhook() -> dict[str, Any]:
    return receive(Channel.WHATSAPP)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
