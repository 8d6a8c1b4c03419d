"""SES's notifications through SNS: a mail received (stored in S3 by the receipt rule), or a
bounce or complaint on one we sent. Each record is one notification; what cannot be read is
logged and dropped (SES sends it as it is, again it would be the same), what failed on our
side raises, and Lambda retries it (then its dead-letter queue keeps it)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.channels import ses
from helpdesk.usecases.email_intake import EmailIntake

logger = Logger(service="email-intake")
tracer = Tracer(service="email-intake")
metrics = Metrics()
intake = EmailIntake()


def handle(record: dict[str, Any]) -> list[str]:
    try:
        note = ses.parse(ses.from_sns(record))
    except ses.MalformedNotification as error:
        logger.error("not an SES notification we can read", extra={"error": str(error)})
        return ["malformed"]
    if isinstance(note, ses.Received):
        return [intake.received(note).result]
    if isinstance(note, ses.Feedback):
        return [outcome.result for outcome in intake.feedback(note)]
    return ["ignored"]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = [result for record in event.get("Records") or [] for result in handle(record)]
    for result in results:
        metrics.add_metric(name=f"email_{result}", unit=MetricUnit.Count, value=1)
    logger.info("notifications handled", extra={"outcomes": results})
    return {"handled": results}
