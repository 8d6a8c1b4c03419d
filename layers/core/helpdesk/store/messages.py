"""Messages: a send's claim, release and finish, provider statuses, and the outbox index.

A message we send is `queued`, then `sending` while a dispatcher holds its lease, then
`sent` (later `delivered` / `read` from provider statuses) or `failed` with a reason. While it
is unfinished (queued or sending) it sits in the sparse OUTBOX index under the time the sweep
should look at it again, so a job lost before the queue, a consumer that died mid-send and a
job that went to the dead-letter queue are all found again.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from helpdesk.models import DeliveryState, Message, iso
from helpdesk.store import keys
from helpdesk.store.items import message_from_item
from helpdesk.store.table import Table, TransactionFailed, Write, update

# Statuses only move forward; a late 'delivered' never undoes 'read'.
FORWARD = ["queued", "sending", "sent", "delivered", "read"]


class Claimed(Exception):
    """Someone else holds (or finished) this message's send."""


class Messages:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, ticket_id: str, message_id: str) -> Message | None:
        item = self.table.get(keys.message(ticket_id, message_id))
        return message_from_item(item) if item else None

    def unfinished_before(self, cutoff: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(ticket id, message id) of unfinished sends the sweep should look at by `cutoff`."""
        items, _ = self.table.query_page(
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :outbox AND GSI3SK < :cutoff",
            ExpressionAttributeValues={
                ":outbox": {"S": keys.OUTBOX},
                ":cutoff": {"S": iso(cutoff)},
            },
            ProjectionExpression="ticket_id, id",
            Limit=limit,
        )
        return [(item["ticket_id"], item["id"]) for item in items]

    def claim(self, message: Message, now: datetime, lease_until: datetime) -> Message:
        """queued -> sending with a lease, counting the attempt; raises Claimed otherwise.

        Timeline: consumer A claims (lease until t+L). A duplicate job in consumer B finds
        'sending' with a live lease and stops. If A dies before finishing, the lease expires;
        the retried job or the sweep claims it again. 'sent' and 'failed' never match.
        """
        write = update(
            keys.message(message.ticket_id, message.id),
            "SET delivery = :sending, lease_until = :lease, GSI3SK = :due ADD attempts :one",
            {
                ":sending": DeliveryState.SENDING.value,
                ":queued": DeliveryState.QUEUED.value,
                ":lease": iso(lease_until),
                ":now": iso(now),
                ":due": keys.outbox_sort_key(lease_until, message.ticket_id, message.id),
                ":one": 1,
            },
            condition=(
                "attribute_exists(PK) AND (delivery = :queued OR "
                "(delivery = :sending AND lease_until < :now))"
            ),
        )
        attributes = self.table.update_returning(write)
        if attributes is None:
            raise Claimed()
        return message_from_item(attributes)

    def release(self, message: Message, look_again_at: datetime, reason: str) -> None:
        """sending -> queued: the send did not happen; the sweep looks again at the given time."""
        write = update(
            keys.message(message.ticket_id, message.id),
            "SET delivery = :queued, GSI3SK = :due, last_error = :reason REMOVE lease_until",
            {
                ":queued": DeliveryState.QUEUED.value,
                ":sending": DeliveryState.SENDING.value,
                ":due": keys.outbox_sort_key(look_again_at, message.ticket_id, message.id),
                ":reason": reason[:500],
            },
            # Only the holder releases; a message finished meanwhile stays finished.
            condition="delivery = :sending",
        )
        with contextlib.suppress(TransactionFailed):
            self.table.transact([write])

    def hold_back(self, ticket_id: str, message_id: str, until: datetime) -> None:
        """A queued message is not for the sweep before `until` (it waits behind another)."""
        write = update(
            keys.message(ticket_id, message_id),
            "SET GSI3SK = :due",
            {
                ":due": keys.outbox_sort_key(until, ticket_id, message_id),
                ":queued": DeliveryState.QUEUED.value,
            },
            condition="delivery = :queued",  # one sent or being sent meanwhile is left alone
        )
        with contextlib.suppress(TransactionFailed):
            self.table.transact([write])

    def finish(
        self,
        message: Message,
        state: DeliveryState,
        at: datetime,
        provider_message_id: str | None = None,
        error: str | None = None,
    ) -> dict[str, Any] | None:
        """sending -> sent / failed, out of the outbox index; then the provider-id link.

        Answers the provider-message record when there is one: statuses that overtook our own
        bookkeeping wait there, and the caller applies them.
        """
        self.table.transact([finished(message, state, at, provider_message_id, error)])
        if not provider_message_id:
            return None
        # Lets a delivery status (which names only the provider's id) find our message.
        link = update(
            keys.provider_message(message.channel.value, provider_message_id),
            "SET ticket_id = :ticket, message_id = :message, #type = :type",
            {":ticket": message.ticket_id, ":message": message.id, ":type": "provider_message"},
            names={"#type": "type"},
        )
        return self.table.update_returning(link)

    def record_provider_status(
        self, ticket_id: str, message_id: str, state: DeliveryState, entry: dict[str, Any]
    ) -> bool:
        """Append a provider status to the message once; move its state forward only. True if
        moved."""
        try:
            self.table.transact([status_recorded(ticket_id, message_id, state, entry)])
            return True
        except TransactionFailed:
            pass
        # Already further on (read, then a late delivered): keep the status as history only.
        # (A message that does not exist is never: messages are not deleted.)
        with contextlib.suppress(TransactionFailed):
            self.table.transact([status_recorded(ticket_id, message_id, None, entry)])
        return False


def finished(
    message: Message,
    state: DeliveryState,
    at: datetime,
    provider_message_id: str | None = None,
    error: str | None = None,
) -> Write:
    """sending -> sent / failed, out of the outbox index."""
    values: dict[str, Any] = {":state": state.value, ":at": iso(at)}
    expression = "SET delivery = :state, sent_at = :at"
    names = None
    if provider_message_id:
        expression += ", provider_message_id = :pid"
        values[":pid"] = provider_message_id
    if error:
        expression += ", #error = :error"
        values[":error"] = error[:500]
        names = {"#error": "error"}
    key = keys.message(message.ticket_id, message.id)
    return update(key, expression + " REMOVE lease_until, GSI3PK, GSI3SK", values, names=names)


def status_recorded(
    ticket_id: str, message_id: str, state: DeliveryState | None, entry: dict[str, Any]
) -> Write:
    """A provider status appended to the message, moving it to `state` (None: as history
    only). Each status once: a webhook retried after dying half-way applies it again."""
    status = str(entry.get("status"))
    history = "SET status_history = list_append(if_not_exists(status_history, :empty), :entry)"
    values: dict[str, Any] = {":entry": [entry], ":empty": [], ":status": status, ":seen": {status}}
    condition = (
        "attribute_exists(PK) AND "
        "(attribute_not_exists(statuses_seen) OR NOT contains(statuses_seen, :status))"
    )
    key = keys.message(ticket_id, message_id)
    if state == DeliveryState.FAILED:
        return update(
            key,
            f"{history}, delivery = :failed, #error = :error REMOVE GSI3PK, GSI3SK"
            " ADD statuses_seen :seen",
            {**values, ":failed": state.value, ":error": entry.get("error") or "failed"},
            names={"#error": "error"},
            condition=condition,
        )
    if state is None:
        return update(key, f"{history} ADD statuses_seen :seen", values, condition=condition)
    earlier = FORWARD[: FORWARD.index(state.value)]
    placeholders = {f":s{n}": value for n, value in enumerate(earlier)}
    return update(
        key,
        f"{history}, delivery = :state ADD statuses_seen :seen",
        {**values, ":state": state.value, **placeholders},
        condition=f"{condition} AND delivery IN ({', '.join(placeholders)})",
    )
