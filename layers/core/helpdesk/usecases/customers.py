"""Customers for agents and leads: who the client is across channels, and the groups a lead
sets (e.g. 'our clients', who report problems often and are served first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.errors import BadRequest, Conflict
from helpdesk.models import Actor, Customer, HistoryEntry, Ticket, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store
from helpdesk.store.customers import changed_customer, customer_history
from helpdesk.store.items import summary_from_item, ticket_item
from helpdesk.tickets import ACTIVE, TicketChange
from helpdesk.usecases.changes import ticket_writes

RECENT_TICKETS = 20
MAX_ATTEMPTS = 4


@dataclass
class CustomerDesk:
    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def view(self, customer_id: str) -> dict[str, Any]:
        customer = self.store.customers.get(customer_id)
        tickets = self.store.tickets.of_customer(customer_id, limit=RECENT_TICKETS)
        return {
            "customer": customer.model_dump(mode="json"),
            "tickets": [_summary(ticket) for ticket in tickets],
            "history": [
                entry.model_dump(mode="json", exclude={"ticket_id"})
                for entry in self.store.customers.history(customer_id)
            ],
        }

    def change(
        self,
        actor: Actor,
        customer_id: str,
        expected_version: int | None,
        name: str | None = None,
        groups: list[str] | None = None,
    ) -> Customer:
        """A lead renames a customer or sets their groups; their open tickets follow the
        group (an 'our client' gets the tighter SLA targets, with a history entry)."""
        if name is None and groups is None:
            raise BadRequest("nothing to change: give name or groups")
        now = self.clock()
        customer = self.store.customers.get(customer_id)
        if expected_version is not None and expected_version != customer.version:
            raise Conflict(
                f"customer {customer_id} is at version {customer.version}, not "
                f"{expected_version}; reload it and try again",
                current_version=customer.version,
            )
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name.strip() or None
        if groups is not None:
            values["groups"] = sorted(set(groups))
        changes = {
            key: [getattr(customer, key), value]
            for key, value in values.items()
            if getattr(customer, key) != value
        }
        updated = customer.model_copy(
            update={**values, "updated_at": now, "version": customer.version + 1}
        )
        entry = HistoryEntry(
            ticket_id=customer_id, at=now, actor=actor.user_id, action="update", changes=changes
        )
        self.store.transact(
            [changed_customer(updated, customer.version), customer_history(customer_id, entry)]
        )
        if "groups" in changes or "name" in changes:
            for ticket in self.store.tickets.of_customer(customer_id):
                if ticket.status in ACTIVE:
                    self._follow(ticket.id, updated, now)
        return updated

    def _follow(self, ticket_id: str, customer: Customer, now: datetime) -> None:
        """An open ticket takes the customer's group and name (re-read on a race)."""
        settings = self.settings()
        for _ in range(MAX_ATTEMPTS):
            ticket = self.store.tickets.get(ticket_id)
            config = settings.direction(ticket.direction)
            values = {
                "our_client": config.our_clients_group in customer.groups,
                "customer_name": customer.name or ticket.customer_name,
            }
            if all(getattr(ticket, key) == value for key, value in values.items()):
                return
            updated = ticket.model_copy(
                update={**values, "updated_at": now, "version": ticket.version + 1}
            )
            _, writes = ticket_writes(ticket, TicketChange(updated), settings, now)
            try:
                self.store.transact(writes)
                return
            except Conflict:
                continue


def _summary(ticket: Ticket) -> dict[str, Any]:
    return summary_from_item(ticket_item(ticket))
