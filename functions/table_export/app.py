"""Schedule (daily): the table's export to S3 for Athena (helpdesk.usecases.exports)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk.usecases.exports import TableExport

logger = Logger(service="table-export")
export = TableExport()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = export.run(context.invoked_function_arn)
    logger.info("table export", extra=result)
    return result
