"""Domain models to items and back: the one place that adds keys and index keys to a model."""

from __future__ import annotations

from typing import Any

from helpdesk.models import Customer, DeliveryState, HistoryEntry, Message, Ticket, iso
from helpdesk.sla import response_due
from helpdesk.store import keys
from helpdesk.store.codec import compact
from helpdesk.store.table import KEY_ATTRIBUTES

# What the status, direction and agent indexes project (template.yaml's NonKeyAttributes say
# the same; a test checks). Attributes a client's message changes (updated_at, version,
# message_count, last_customer_message_at) are left out on purpose: a message then writes no
# index entry. A list shows summaries; GET /tickets/{id} shows all.
SUMMARY_FIELDS = (
    "id",
    "direction",
    "channel",
    "customer_id",
    "customer_name",
    "customer_address",
    "status",
    "category",
    "topic",
    "priority",
    "assignee",
    "subject",
    "created_at",
    "first_response_at",
    "resolved_at",
    "flags",
    "our_client",
    "difficulty",
    "response_due",
)
INDEX_EXTRA_FIELDS = ("ticket_id",)  # outbox and callback entries name their ticket
UNFINISHED = (DeliveryState.QUEUED, DeliveryState.SENDING)


def fields(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in KEY_ATTRIBUTES}


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    item = {**keys.ticket(ticket.id), "type": "ticket", **compact(ticket.model_dump(mode="json"))}
    status = ticket.status.value
    item["GSI1PK"] = keys.direction_index(ticket.direction)
    item["GSI1SK"] = keys.status_sort_key(status, ticket.created_at, ticket.id)
    if ticket.assignee:
        item["GSI2PK"] = keys.agent_index(ticket.assignee)
        item["GSI2SK"] = keys.status_sort_key(status, ticket.created_at, ticket.id)
    item["GSI3PK"] = keys.status_index(status)
    item["GSI3SK"] = keys.created_sort_key(ticket.created_at, ticket.id)
    item["GSI4PK"] = keys.customer_index(ticket.customer_id)
    item["GSI4SK"] = keys.created_sort_key(ticket.created_at, ticket.id)
    if (due := response_due(ticket)) is not None:
        # The queue in deadline order: tickets waiting for an answer, soonest first, the
        # direction's "our clients" first at the same minute.
        item["response_due"] = iso(due)
        item["GSI5PK"] = keys.queue_index(ticket.direction)
        item["GSI5SK"] = keys.due_sort_key(due, ticket.our_client, ticket.id)
    return item


def timer_item(ticket: Ticket) -> dict[str, Any]:
    """When the SLA sweep must next look at a ticket: a sparse, sharded index entry (none
    when nothing is pending), so the sweep reads only what is due, at any table size."""
    item: dict[str, Any] = {**keys.timer(ticket.id), "type": "timer", "ticket_id": ticket.id}
    if ticket.attention_at is not None:
        item["direction"] = ticket.direction
        item["GSI3PK"] = keys.due_index(keys.shard_of(ticket.id))
        item["GSI3SK"] = keys.created_sort_key(ticket.attention_at, ticket.id)
    return item


def ticket_from_item(item: dict[str, Any]) -> Ticket:
    return Ticket.model_validate(fields(item))


def summary_from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in SUMMARY_FIELDS} | {
        "flags": item.get("flags", []),
        "our_client": bool(item.get("our_client")),
    }


def message_item(message: Message) -> dict[str, Any]:
    key = keys.message(message.ticket_id, message.id)
    item = {**key, "type": "message", **compact(message.model_dump(mode="json"))}
    if message.delivery in UNFINISHED:
        # Sparse outbox index: every send not yet finished is in it, keyed by when the sweep
        # should look again, so a lost job, a dead consumer or a dead-lettered job is found.
        item["GSI3PK"] = keys.OUTBOX
        item["GSI3SK"] = keys.outbox_sort_key(message.at, message.ticket_id, message.id)
    return item


def message_from_item(item: dict[str, Any]) -> Message:
    return Message.model_validate(fields(item))


def history_item(entry: HistoryEntry) -> dict[str, Any]:
    key = keys.history(entry.ticket_id, entry.at, entry.id)
    return {**key, "type": "history", **compact(entry.model_dump(mode="json"))}


def history_from_item(item: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry.model_validate(fields(item))


def customer_item(customer: Customer) -> dict[str, Any]:
    return {
        **keys.customer(customer.id),
        "type": "customer",
        **compact(customer.model_dump(mode="json")),
    }


def customer_from_item(item: dict[str, Any]) -> Customer:
    return Customer.model_validate(fields(item))
