"""Charges that arrive outside a ticket change: a billable WhatsApp message, reported by the
pricing object of its status webhooks.

Meta reports pricing with every status of a message (sent, delivered, read): the charge is
claimed once per message by a dedupe record written in the same transaction as its ledger
entry and its cost counters, so a second status or a redelivered webhook charges nothing.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk import costs, reports
from helpdesk.channels.base import DeliveryStatus
from helpdesk.settings import Settings
from helpdesk.store import Store
from helpdesk.store.events import Duplicate, dedupe
from helpdesk.store.ledger import ledger_entry
from helpdesk.store.reports import counter_writes


def charge_whatsapp(
    store: Store, settings: Settings, status: DeliveryStatus, ticket_id: str | None, now: datetime
) -> bool:
    """Charge a billable message once; False when it is not billable or charged before."""
    direction = settings.direction_for_whatsapp_number(status.service_id)
    config = settings.direction(direction or settings.default_direction)
    charge = costs.whatsapp_charge(
        config.id,
        dict(status.pricing),
        config.rate_card,
        status.at,
        status.provider_message_id,
        ticket_id,
    )
    if charge is None:
        return False
    zone = config.business_calendar().zone
    moved = reports.grouped(costs.charge_moves(charge, zone))
    try:
        store.transact(
            [
                dedupe(f"charge:{charge.source}", now),
                ledger_entry(charge, zone),
                *counter_writes(config.id, charge.source, moved),
            ]
        )
    except Duplicate:
        return False
    return True
