"""The table's daily copy in S3, where Athena runs the ad hoc SQL leads and finance outgrow
the reports with (template.yaml: ExportBucket, the Glue table over it, named queries).

DynamoDB's export reads point-in-time recovery, not the table: it costs no read capacity
and does not slow the helpdesk down, whatever the table's size. Each day goes under its own
prefix, `exports/day=YYYY-MM-DD/`, which the Glue table projects as its `day` partition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from helpdesk.models import utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store

EXPORTS_PREFIX = "exports"


def export_prefix(day: date) -> str:
    return f"{EXPORTS_PREFIX}/day={day.isoformat()}"


def table_arn(function_arn: str, table_name: str) -> str:
    """The table's ARN in the function's own partition, region and account (a Lambda ARN is
    arn:<partition>:lambda:<region>:<account>:function:<name>)."""
    _, partition, _, region, account, *_ = function_arn.split(":")
    return f"arn:{partition}:dynamodb:{region}:{account}:table/{table_name}"


@dataclass
class TableExport:
    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def run(self, function_arn: str) -> dict[str, Any]:
        """Start today's export (once a day: a rerun the same day starts nothing new)."""
        settings = self.settings()
        if not settings.export_bucket:
            return {"skipped": "no EXPORT_BUCKET (the local stack keeps no exports)"}
        day = self.clock().date()
        prefix = export_prefix(day)
        arn = self.store.table.export(
            table_arn(function_arn, self.store.table.name),
            settings.export_bucket,
            prefix,
            token=f"helpdesk-{day}",
        )
        return {"export_arn": arn, "bucket": settings.export_bucket, "prefix": prefix}
