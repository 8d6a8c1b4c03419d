"""Customers: who a ticket's client is (name, phone, groups such as 'our_clients')."""

from __future__ import annotations

from helpdesk.errors import Conflict, NotFound
from helpdesk.models import Customer
from helpdesk.store import keys
from helpdesk.store.items import customer_from_item, customer_item
from helpdesk.store.table import Table, Write, put, put_new


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


class Customers:
    def __init__(self, table: Table) -> None:
        self.table = table

    def find(self, customer_id: str) -> Customer | None:
        item = self.table.get(keys.customer(customer_id))
        return customer_from_item(item) if item else None

    def get(self, customer_id: str) -> Customer:
        item = self.table.get(keys.customer(customer_id))
        if item is None:
            raise NotFound(f"customer {customer_id} not found", customer_id=customer_id)
        return customer_from_item(item)
