"""Call records: the merged state of one call's notifications, and the callback worklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.errors import Conflict
from helpdesk.store import keys
from helpdesk.store.table import Table, Write, put, update


class CallChanged(Conflict):
    """Another notification of the same call was recorded meanwhile: re-read and merge."""


ESCALATED = "#escalated"


@dataclass(frozen=True)
class WorklistEntry:
    """A missed call on the worklist as its index tells it: enough for the sweep to decide
    whether its ticket needs a look (calls recorded before these fields: read the ticket)."""

    ticket_id: str
    customer_id: str | None
    missed_at: datetime | None
    escalated: bool


def _entry(item: dict[str, Any]) -> WorklistEntry:
    sort_key = str(item.get("GSI3SK", ""))
    missed = sort_key.split("#", 1)[0]
    try:
        missed_at = datetime.fromisoformat(missed) if missed else None
    except ValueError:
        missed_at = None
    customer = item.get("customer_id")
    return WorklistEntry(
        ticket_id=str(item["ticket_id"]),
        customer_id=str(customer) if customer else None,
        missed_at=missed_at,
        escalated=sort_key.endswith(ESCALATED),
    )


class Calls:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, provider: str, call_id: str) -> dict[str, Any] | None:
        return self.table.get(keys.call(provider, call_id))

    def waiting_for_callback(self, direction: str) -> list[WorklistEntry]:
        """The direction's missed calls still on the worklist, oldest first."""
        return [
            _entry(item)
            for item in self.table.query_all(
                IndexName="GSI3",
                KeyConditionExpression="GSI3PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.callback_index(direction)}},
                ProjectionExpression="ticket_id, customer_id, GSI3SK",
            )
        ]


def off_worklist(provider: str, call_id: str) -> Write:
    """The call leaves the callback worklist (its ticket has an outcome)."""
    return update(
        keys.call(provider, call_id),
        "REMOVE GSI3PK, GSI3SK SET waiting_for_callback = :no",
        {":no": False},
        condition="attribute_exists(PK)",
    )


def escalated_on_worklist(provider: str, call_id: str, missed_at: str, ticket_id: str) -> Write:
    """The call stays on the worklist, marked escalated: the sweep no longer reads its ticket
    unless the client is reached."""
    return update(
        keys.call(provider, call_id),
        "SET GSI3SK = :sk",
        {":sk": f"{missed_at}#{ticket_id}{ESCALATED}"},
        condition="attribute_exists(GSI3PK)",
    )


def call_record(
    provider: str,
    call_id: str,
    state: dict[str, Any],
    version: int,
    *,
    ticket_id: str | None = None,
    direction: str | None = None,
    problem: bool = False,
    waiting_for_callback: bool = False,
    missed_at: str | None = None,
    customer_id: str | None = None,
    escalated: bool = False,
) -> Write:
    """The call's merged state at `version + 1`, if nobody wrote another version meanwhile.

    Timeline: two notifications of one call arrive together; both read version 3 and write
    4. The condition lets one through; the other re-reads and merges again.
    """
    item: dict[str, Any] = {
        **keys.call(provider, call_id),
        "type": "call",
        **state,
        "version": version + 1,
    }
    if ticket_id:
        item["ticket_id"] = ticket_id
        item["direction"] = direction
    if problem:
        item["problem"] = True
    if waiting_for_callback and ticket_id and direction:
        # Sparse index of calls waiting for a callback, per direction, oldest first: the
        # missed-call sweep reads it by key at any table size, never by Scan.
        item["GSI3PK"] = keys.callback_index(direction)
        item["GSI3SK"] = f"{missed_at or ''}#{ticket_id}{ESCALATED if escalated else ''}"
        if customer_id:
            item["customer_id"] = customer_id
    if version == 0:
        return put(item, "attribute_not_exists(PK)", None, CallChanged("call changed"))
    return put(item, "version = :v", {":v": version}, CallChanged("call changed"))
