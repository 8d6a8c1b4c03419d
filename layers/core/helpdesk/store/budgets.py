"""Budget alerts: which thresholds of a direction's month were told (one item each)."""

from __future__ import annotations

from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.events import Duplicate
from helpdesk.store.table import Table, Write, delete, put_new

ALERT_DAYS = 400


def alert_claimed(direction: str, month: str, threshold: int, at_epoch: int, at: str) -> Write:
    """Claim telling a threshold: only one job wins (a redelivered or second job finds it)."""
    item = {
        **keys.budget_alert(direction, month, threshold),
        "type": "budget_alert",
        "threshold": threshold,
        "at": at,
        "expires_at": at_epoch + ALERT_DAYS * 86400,
    }
    return put_new(item, Duplicate())


def alert_released(direction: str, month: str, threshold: int) -> Write:
    """Undo a claim when telling failed, so that the retried job tells."""
    return delete(keys.budget_alert(direction, month, threshold))


class Budgets:
    def __init__(self, table: Table) -> None:
        self.table = table

    def alerted(self, direction: str, month: str) -> set[int]:
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_dynamo({":pk": keys.budget_partition(direction, month)}),
        )
        return {int(item["threshold"]) for item in items}
