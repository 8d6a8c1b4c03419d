"""What happened to a message we sent: provider statuses, and a failure the ticket must show.

Shared by the dispatcher (a provider refused the send) and the messenger webhook (a provider
reported a failure later): either way the reason is kept on the message, and the ticket gets
the `delivery_failed` flag (a queue filter), so an agent sees the client did not get it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk import tickets
from helpdesk.errors import Conflict, NotFound
from helpdesk.models import DeliveryState
from helpdesk.store import Store, TransactionFailed, Write
from helpdesk.store.messages import status_recorded
from helpdesk.store.tickets import writes_for

STATES = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ,
    "failed": DeliveryState.FAILED,
}
MAX_ATTEMPTS = 5


def apply_status(
    store: Store, ticket_id: str, message_id: str, entry: dict[str, Any], now: datetime
) -> None:
    """A provider's status on our message; a failure also flags the ticket."""
    state = STATES.get(str(entry.get("status")))
    if state is None:
        return
    if state == DeliveryState.FAILED:
        failed = status_recorded(ticket_id, message_id, state, entry)
        flag_failed(store, ticket_id, message_id, str(entry.get("error") or "failed"), now, failed)
        return
    store.messages.record_provider_status(ticket_id, message_id, state, entry)


def flag_failed(
    store: Store,
    ticket_id: str,
    message_id: str,
    reason: str,
    now: datetime,
    together: Write | None = None,
) -> None:
    """Flag the ticket `delivery_failed` with a history entry (re-read on a race), in one
    transaction with `together` (the message's own failure), so a retry after a fault finds
    both done or neither; if `together` cannot be written (done before), nothing is."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            ticket = store.tickets.get(ticket_id)
        except NotFound:
            return
        change = tickets.delivery_failed(ticket, message_id, reason, now)
        try:
            store.transact([*writes_for(change, ticket), *([together] if together else [])])
            return
        except Conflict:
            if together is not None and attempt == MAX_ATTEMPTS - 1:
                raise
            continue
        except TransactionFailed as failed:
            if together is None or failed.reasons[-1:] != ["ConditionalCheckFailed"]:
                raise
            return  # the message's failure was recorded before, and the ticket flagged
