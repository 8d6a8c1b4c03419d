"""Schedule (daily): yesterday's digest of each direction to its team chat in Telegram."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.digest import DailyDigest

logger = Logger(service="daily-digest")
metrics = Metrics()
digest = DailyDigest()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = digest.run()
    metrics.add_metric(name="Digest_sent", unit=MetricUnit.Count, value=len(result["sent"]))
    logger.info("daily digest", extra=result)
    return result
