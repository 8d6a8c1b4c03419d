"""Identities: who writes or calls from an address, and their open ticket per channel and
direction (`open` maps `<channel>:<direction>` to a ticket number)."""

from __future__ import annotations

from typing import Any

from helpdesk.store import keys
from helpdesk.store.table import Table, Write, put, update


class IdentityMoved(Exception):
    """Someone else changed the client's identity (its open ticket) since we read it."""


class Identities:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, kind: str, address: str) -> dict[str, Any] | None:
        return self.table.get(keys.identity(kind, address))


def identity_item(
    kind: str, address: str, customer_id: str, open_tickets: dict[str, str], **flags: bool
) -> dict[str, Any]:
    return {
        **keys.identity(kind, address),
        "type": "identity",
        "kind": kind,
        "address": address,
        "customer_id": customer_id,
        "open": open_tickets,
        **flags,
    }


def new_identity(kind: str, address: str, customer_id: str) -> Write:
    """A first call from a number: who it is, no open messenger ticket yet."""
    return put(
        identity_item(kind, address, customer_id, {}),
        "attribute_not_exists(PK)",
        None,
        IdentityMoved(),
    )


def point_at_ticket(
    kind: str,
    address: str,
    identity: dict[str, Any] | None,
    customer_id: str,
    slot: str,
    number: str,
    greeted_flag: str,
) -> Write:
    """Make `number` the open ticket of `slot`, only if the slot is still what we read.

    Timeline: two first messages of one client arrive together. Both read "no open ticket";
    both try to point the identity at their new ticket; the condition lets one win. The
    loser's transaction fails whole (IdentityMoved), it re-reads and continues the winner's
    ticket (its counter value is left as a gap).
    """
    key = keys.identity(kind, address)
    if identity is None:
        item = identity_item(kind, address, customer_id, {slot: number}, **{greeted_flag: True})
        return put(item, "attribute_not_exists(PK)", None, IdentityMoved())
    previous = (identity.get("open") or {}).get(slot)
    names = {"#open": "open", "#slot": slot, "#greeted": greeted_flag}
    values: dict[str, Any] = {":number": number, ":yes": True}
    if "open" not in identity:
        return update(
            key,
            "SET #open = :slots, #greeted = :yes",
            {":slots": {slot: number}, ":yes": True},
            {"#open": "open", "#greeted": greeted_flag},
            "attribute_not_exists(#open)",
            IdentityMoved(),
        )
    if previous is None:
        condition = "attribute_not_exists(#open.#slot)"
    else:
        condition = "#open.#slot = :previous"
        values[":previous"] = previous
    return update(
        key,
        "SET #open.#slot = :number, #greeted = :yes",
        values,
        names,
        condition,
        IdentityMoved(),
    )
