"""Provider messages: a provider's statuses of a message we sent (WhatsApp wamid, pricing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.table import Table, update

PROVIDER_MESSAGE_DAYS = 400  # finance reads pricing per month; keep a year and a bit


class ProviderMessages:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, channel: str, provider_message_id: str) -> dict[str, Any] | None:
        return self.table.get(keys.provider_message(channel, provider_message_id))

    def record_status(
        self,
        channel: str,
        provider_message_id: str,
        status: str,
        entry: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any] | None:
        """Append a provider's status to its record once; None if already recorded.

        An upsert: a status that overtakes our own 'sent' bookkeeping is kept, and the
        dispatcher adds the ticket and message ids to the same item (then applies it).
        """
        write = update(
            keys.provider_message(channel, provider_message_id),
            "SET #type = :type, updated_at = :now, "
            "statuses = list_append(if_not_exists(statuses, :empty), :entry), "
            "expires_at = if_not_exists(expires_at, :expires) ADD seen :seen",
            {
                ":type": "provider_message",
                ":empty": [],
                ":entry": [entry],
                ":now": iso(now),
                ":expires": int(now.timestamp()) + PROVIDER_MESSAGE_DAYS * 86400,
                ":status": status,
            },
            names={"#type": "type"},
            # A redelivered status (same message, same status) changes nothing.
            condition="attribute_not_exists(seen) OR NOT contains(seen, :status)",
        )
        write.request["Update"]["ExpressionAttributeValues"][":seen"] = {"SS": [status]}
        return self.table.update_returning(write)
