"""Customers: who a ticket's client is (name, phone, groups such as 'our_clients')."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from helpdesk.errors import Conflict, NotFound
from helpdesk.models import Customer, HistoryEntry, iso
from helpdesk.store import keys
from helpdesk.store.codec import compact
from helpdesk.store.items import customer_from_item, customer_item, fields
from helpdesk.store.table import Table, Write, put, put_new, update


def new_customer(customer: Customer) -> Write:
    return put_new(customer_item(customer))


def changed_customer(customer: Customer, expected_version: int) -> Write:
    # Same optimistic lock as tickets: two leads editing groups never undo each other.
    return put(
        customer_item(customer),
        "attribute_exists(PK) AND (version = :expected OR attribute_not_exists(version))",
        {":expected": expected_version},
        Conflict(f"customer {customer.id} was changed by someone else; reload and try again"),
    )


def customer_history(customer_id: str, entry: HistoryEntry) -> Write:
    """Who changed what on a customer, and when (never changed once written)."""
    item = {
        **keys.customer_history(customer_id, entry.at, entry.id),
        "type": "history",
        **compact(entry.model_dump(mode="json")),
    }
    return put_new(item)


def reached(customer_id: str, ticket_id: str, at: datetime) -> Write:
    """An agent reached the client (a reply, an answered call): the missed-call sweep reads
    this one small item per waiting call instead of every ticket of the client. Its own item,
    written unconditionally, so it can ride in any ticket's transaction."""
    return update(
        keys.customer_reached(customer_id),
        "SET last_reached_at = :at, ticket_id = :ticket, #type = :type",
        {":at": iso(at), ":ticket": ticket_id, ":type": "reached"},
        {"#type": "type"},
    )


class Customers:
    def __init__(self, table: Table) -> None:
        self.table = table

    def find(self, customer_id: str) -> Customer | None:
        item = self.table.get(keys.customer(customer_id))
        return customer_from_item(item) if item else None

    def history(self, customer_id: str) -> list[HistoryEntry]:
        return [
            HistoryEntry.model_validate(fields(item))
            for item in self.table.query_all(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :hist)",
                ExpressionAttributeValues={
                    ":pk": {"S": keys.customer(customer_id)["PK"]},
                    ":hist": {"S": "HIST#"},
                },
            )
        ]

    def last_reached(self, customer_ids: Iterable[str]) -> dict[str, tuple[datetime, str] | None]:
        """customer id -> (when an agent last reached them, in which ticket), None for the
        never reached; one BatchGet (per hundred)."""
        wanted = set(customer_ids)
        found = self.table.get_many([keys.customer_reached(c) for c in wanted])
        reached: dict[str, tuple[datetime, str] | None] = dict.fromkeys(wanted)
        for item in found:
            reached[str(item["PK"]).removeprefix("CUSTOMER#")] = (
                datetime.fromisoformat(str(item["last_reached_at"])),
                str(item["ticket_id"]),
            )
        return reached

    def get(self, customer_id: str) -> Customer:
        item = self.table.get(keys.customer(customer_id))
        if item is None:
            raise NotFound(f"customer {customer_id} not found", customer_id=customer_id)
        return customer_from_item(item)
