"""A provider's send budget per second, shared by every consumer: a token bucket in the
table, one item per (channel, bot or number, second). Taking tokens is one atomic ADD; a
consumer gets what was left of the second and the slots it may send in."""

from __future__ import annotations

from helpdesk.store import keys
from helpdesk.store.table import Table, update

KEEP_SECONDS = 3600  # the items expire (TTL) an hour after their second


class Rates:
    def __init__(self, table: Table) -> None:
        self.table = table

    def take(
        self, channel: str, service: str, second: int, wanted: int, cap: int
    ) -> tuple[int, int]:
        """Take up to `wanted` of this second's `cap` sends: (how many were granted, the
        index of the first granted slot in the second). Over-asking is harmless: the counter
        passes the cap and later takers are granted nothing."""
        write = update(
            keys.rate(channel, service, second),
            "ADD used :n SET expires_at = if_not_exists(expires_at, :expires)",
            {":n": wanted, ":expires": second + KEEP_SECONDS},
        )
        answer = self.table.update_returning(write, "UPDATED_NEW") or {}
        before = int(answer.get("used", wanted)) - wanted
        return max(0, min(wanted, cap - before)), before
