"""Telephony webhooks: verify, normalise, and record the call on its ticket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import telephony
from helpdesk.http.resolver import make_resolver, raw_body
from helpdesk.settings import get_settings
from helpdesk.usecases.switchboard import Switchboard

logger = Logger(service="call-webhook")
tracer = Tracer(service="call-webhook")
metrics = Metrics()
app = make_resolver("Helpdesk call webhooks")
switchboard = Switchboard()


def public_url() -> str:
    """The URL the provider called (Twilio signs it): the public base, path and query."""
    event = app.current_event.raw_event
    base = get_settings().public_base_url or f"https://{event['requestContext']['domainName']}"
    query = event.get("rawQueryString")
    return f"{base.rstrip('/')}{event['rawPath']}" + (f"?{query}" if query else "")


@app.post("/webhooks/calls/<provider>")
def call_notification(provider: str) -> dict[str, Any] | Response[str]:
    request = telephony.CallRequest(
        provider,
        dict(app.current_event.headers),
        raw_body(app.current_event.raw_event),
        public_url(),
    )
    try:
        event = telephony.read_notification(request)
    except telephony.UnsupportedEvent as ignored:
        logger.info("call notification ignored", extra={"reason": str(ignored)})
        return {"ok": True, "handled": "ignored"}
    outcome = switchboard.record(event)
    metrics.add_metric(name=f"call_{outcome.result}", unit=MetricUnit.Count, value=1)
    # A provider waiting for call instructions (Twilio's voice request, Zadarma's
    # NOTIFY_START) hears what the caller is told first: a red incident, out of hours.
    answer, config = switchboard.line_answer(event)
    instructions = telephony.call_instructions(request, answer, config)
    if instructions is not None:
        content_type, body = instructions
        return Response(200, content_type, body)
    return {"ok": True, "handled": outcome.result, "ticket": outcome.ticket_id}


@app.get("/webhooks/calls/<provider>")
def call_url_check(provider: str) -> Response[str]:
    params = app.current_event.query_string_parameters or {}
    return Response(200, "text/plain", telephony.url_check(provider, params))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
