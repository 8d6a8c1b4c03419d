"""Counters: the per-direction sequence behind ticket numbers (atomic ADD, never reused)."""

from __future__ import annotations

from helpdesk.store import keys
from helpdesk.store.table import Table


class Counters:
    def __init__(self, table: Table) -> None:
        self.table = table

    def next(self, direction: str) -> int:
        response = self.table.client.update_item(
            TableName=self.table.name,
            Key={name: {"S": value} for name, value in keys.counter(direction).items()},
            UpdateExpression="ADD #value :one",
            ExpressionAttributeNames={"#value": "value"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["value"]["N"])
