"""Schedule (hourly): each direction's month against its budget, told once at 80 % and 100 %."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.budgets import BudgetWatch

logger = Logger(service="budget-watch")
metrics = Metrics()
watch = BudgetWatch()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = watch.run()
    logger.info("budget watch", extra=result)
    return result
