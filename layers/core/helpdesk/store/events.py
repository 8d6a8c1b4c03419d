"""Dedupe records: an external event (or a client's request id) is stored at most once.

The record is written in the same transaction as what the event stored, so the event and its
marker land together or not at all; it also keeps what the first delivery enqueued, so a
redelivery re-enqueues exactly that (the dispatcher's claim makes a second job harmless).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.table import Table, Write, put_new

DEDUPE_DAYS = 14  # longer than any provider's retry window (WhatsApp retries for 7 days)


class Duplicate(Exception):
    """The event was already stored."""


def dedupe(event_id: str, now: datetime, **record: Any) -> Write:
    item = {
        **keys.event(event_id),
        "type": "event",
        "at": iso(now),
        "expires_at": int(now.timestamp()) + DEDUPE_DAYS * 86400,
        **record,
    }
    return put_new(item, Duplicate())


class Events:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, event_id: str) -> dict[str, Any] | None:
        return self.table.get(keys.event(event_id))
