"""The cost ledger: one entry per usage event and its cost, by direction and local day.

An entry is written in the same transaction as the cost counters it moves (and, for a
call, the ticket change that ended the call), so the ledger and the finance report always
agree to the minor unit. Read a month partition at a time, in pages, for the CSV export.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from typing import Any

from helpdesk.costs import Charge
from helpdesk.errors import BadRequest
from helpdesk.models import iso
from helpdesk.reports import local_day
from helpdesk.store import keys
from helpdesk.store.codec import to_dynamo
from helpdesk.store.reports import months
from helpdesk.store.table import Table, Write, put

LEDGER_DAYS = 800  # two years and a bit: finance compares a month with last year's


def ledger_entry(charge: Charge, zone: str) -> Write:
    day = local_day(charge.at, zone).isoformat()
    item = {
        **keys.ledger(charge.direction, day, charge.at, charge.source),
        "type": "ledger",
        "day": day,
        "at": iso(charge.at),
        "direction": charge.direction,
        "channel": charge.channel,
        "source": charge.source,
        "quantity": charge.quantity,
        "unit": charge.unit,
        "amount": charge.amount,
        "currency": charge.currency,
        "ticket_id": charge.ticket_id,
        "detail": charge.detail,
        "expires_at": int(charge.at.timestamp()) + LEDGER_DAYS * 86400,
    }
    return put({name: value for name, value in item.items() if value is not None})


LEDGER_FIELDS = (
    "day",
    "at",
    "direction",
    "channel",
    "source",
    "ticket_id",
    "detail",
    "quantity",
    "unit",
    "amount",
    "currency",
)


class Ledger:
    def __init__(self, table: Table) -> None:
        self.table = table

    def page(
        self, direction: str, start: date, end: date, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Entries from `start` to `end` in order of day and time, a page at a time."""
        wanted = months(start, end)
        month, after = _decode(cursor, wanted) if cursor else (wanted[0], None)
        found: list[dict[str, Any]] = []
        for current in wanted[wanted.index(month) :]:
            request: dict[str, Any] = {
                "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
                "ExpressionAttributeValues": to_dynamo(
                    {
                        ":pk": keys.ledger_partition(direction, current),
                        ":first": start.isoformat(),
                        ":last": f"{end.isoformat()}#~",
                    }
                ),
            }
            while len(found) < limit:
                request["Limit"] = limit - len(found)
                if after:
                    request["ExclusiveStartKey"] = to_dynamo(
                        {"PK": keys.ledger_partition(direction, current), "SK": after}
                    )
                items, last = self.table.query_page(**request)
                found += [{name: item.get(name) for name in LEDGER_FIELDS} for item in items]
                after = str(last["SK"]["S"]) if last else None
                if not last:
                    break
            if len(found) >= limit:
                if after:
                    return found, _encode(current, after)
                later = wanted[wanted.index(current) + 1 :]
                return found, _encode(later[0], None) if later else None
            after = None
        return found, None


def _encode(month: str, after: str | None) -> str:
    raw = json.dumps({"m": month, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, wanted: list[str]) -> tuple[str, str | None]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        data = None
    if (
        not isinstance(data, dict)
        or data.get("m") not in wanted
        or not isinstance(data.get("a"), str | None)
    ):
        raise BadRequest("invalid cursor: pass back the next_cursor of the previous page")
    return str(data["m"]), data.get("a")
