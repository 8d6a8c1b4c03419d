"""Tracker task links: which tickets wait for a developer's task (`TASK#<key>` / `TICKET#<n>`).

A link is written in the transaction of the hold that names the task (usecases.changes), so a
held ticket is never without its link; a task done or reopened reads its links page by page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.table import Table, Write, put

PAGE = 100  # links read per query; a task with more is read in several pages


def link_item(task_key: str, ticket_id: str, task_url: str, now: datetime) -> Write:
    """The ticket waits for the task. An unconditional put: holding the ticket again for the
    same task only refreshes the link (the URL as the agent gave it last, and when)."""
    return put(
        {
            **keys.task_link(task_key, ticket_id),
            "type": "task_link",
            "task_key": task_key,
            "task_url": task_url,
            "ticket_id": ticket_id,
            "at": iso(now),
        }
    )


class TaskLinks:
    def __init__(self, table: Table) -> None:
        self.table = table

    def linked(
        self, task_key: str, after: str | None = None, limit: int = PAGE
    ) -> tuple[list[str], str | None]:
        """A page of the ticket numbers linked to the task, and where the next page starts."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.task_partition(task_key)},
                ":prefix": {"S": "TICKET#"},
            },
            "Limit": limit,
        }
        if after:
            request["ExclusiveStartKey"] = to_dynamo(keys.task_link(task_key, after))
        items, last = self.table.query_page(**request)
        following = str(last["SK"]["S"]).removeprefix("TICKET#") if last else None
        return [str(item["ticket_id"]) for item in items], following

    def all_linked(self, task_key: str) -> list[str]:
        ticket_ids, following = self.linked(task_key)
        while following:
            page, following = self.linked(task_key, following)
            ticket_ids += page
        return ticket_ids
