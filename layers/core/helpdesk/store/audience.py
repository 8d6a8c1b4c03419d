"""The audience of incident notices: every client a direction knows in a channel, with
their opt-out. One partition per direction and channel, read in pages by the fan-out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.table import Table, Write, update

PAGE = 500


def enlisted(
    direction: str,
    channel: str,
    address: str,
    recipient_id: str,
    service_id: str | None,
    at: datetime,
    subscribed: bool | None = None,
) -> Write:
    """The client is in the audience (a ticket opened, or a /start or /stop): where to reach
    them and when they last wrote; an earlier opt-out is kept unless `subscribed` says."""
    flag = "if_not_exists(subscribed, :yes)" if subscribed is None else ":flag"
    values: dict[str, Any] = {
        ":recipient": recipient_id,
        ":service": service_id or "",
        ":at": iso(at),
        ":type": "audience",
    }
    if subscribed is None:
        values[":yes"] = True
    else:
        values[":flag"] = subscribed
    return update(
        keys.audience(direction, channel, address),
        "SET recipient_id = :recipient, service_id = :service, last_inbound_at = :at, "
        f"subscribed = {flag}, #type = :type",
        values,
        {"#type": "type"},
    )


class Audience:
    def __init__(self, table: Table) -> None:
        self.table = table

    def import_clients(
        self, direction: str, channel: str, clients: list[tuple[str, str, str | None, datetime]]
    ) -> None:
        """Clients the direction knew before the helpdesk, (address, recipient id, service
        id, last inbound), put 25 at a time (a backfill: it overwrites their opt-out)."""
        self.table.put_many(
            [
                {
                    **keys.audience(direction, channel, address),
                    "type": "audience",
                    "recipient_id": recipient,
                    "service_id": service or "",
                    "last_inbound_at": iso(at),
                    "subscribed": True,
                }
                for address, recipient, service, at in clients
            ]
        )

    def get(self, direction: str, channel: str, address: str) -> dict[str, Any] | None:
        return self.table.get(keys.audience(direction, channel, address))

    def page(
        self, direction: str, channel: str, after: str | None, limit: int = PAGE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` audience entries after the address `after`, and the next `after`."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.audience_partition(direction, channel)}
            },
            "Limit": limit,
            "ConsistentRead": False,  # a fan-out page: a just-enlisted client may wait
        }
        if after:
            request["ExclusiveStartKey"] = to_dynamo(
                {"PK": keys.audience_partition(direction, channel), "SK": after}
            )
        items, last = self.table.query_page(**request)
        return items, (last["SK"]["S"] if last else None)
