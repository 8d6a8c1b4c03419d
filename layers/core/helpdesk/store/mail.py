"""E-mail: the suppression list and a ticket's mail thread.

An address lands on the suppression list when SES reports a permanent bounce or a complaint
for mail we sent to it; every later send to it is refused before it reaches SES (SES's own
account-level list may not be on, and a sender with many bounces is paused by SES). The
thread is read from the ticket's own messages: the client's newest Message-ID and References
are what our reply's In-Reply-To and References carry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.table import Table, Write, put

THREAD_LOOKBACK = 25  # the newest messages of a ticket searched for the client's last mail


class Mail:
    def __init__(self, table: Table) -> None:
        self.table = table

    def suppressed(self, address: str) -> dict[str, Any] | None:
        return self.table.get(keys.suppression("email", address))

    def suppress(self, address: str, reason: str, now: datetime) -> bool:
        """True when the address was put on the list now (False: it was on it already)."""
        try:
            self.table.transact([suppression_write(address, reason, now)])
        except AlreadySuppressed:
            return False
        return True

    def thread(self, ticket_id: str) -> tuple[str | None, list[str]]:
        """The client's newest Message-ID on the ticket and the References it carried."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :msg)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.ticket_partition(ticket_id)},
                ":msg": {"S": "MSG#"},
                ":inbound": {"S": "inbound"},
            },
            FilterExpression="kind = :inbound AND attribute_exists(email)",
            ProjectionExpression="email",
            ScanIndexForward=False,
            Limit=THREAD_LOOKBACK,
        )
        for item in items:
            details = item.get("email") or {}
            if details.get("message_id"):
                return str(details["message_id"]), [str(r) for r in details.get("references", [])]
        return None, []


def suppression_write(address: str, reason: str, now: datetime) -> Write:
    """Put (or refresh) an address on the list; the first reason and time are kept."""
    item = {
        **keys.suppression("email", address),
        "type": "suppression",
        "address": address.lower(),
        "reason": reason[:500],
        "at": iso(now),
    }
    # A second bounce for the same address changes nothing: the first one is the record.
    return put(item, "attribute_not_exists(PK)", None, AlreadySuppressed())


class AlreadySuppressed(Exception):
    """The address is on the suppression list already."""
