"""How tickets look in API responses (JSON-ready dicts, times in UTC ISO-8601)."""

from __future__ import annotations

from typing import Any

from helpdesk.models import HistoryEntry, Message, Ticket


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    return ticket.model_dump(mode="json")


def message_view(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude={"ticket_id"})


def history_view(entry: HistoryEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json", exclude={"ticket_id"})


def conversation_view(
    ticket: Ticket, messages: list[Message], history: list[HistoryEntry]
) -> dict[str, Any]:
    return {
        "ticket": ticket_view(ticket),
        "messages": [message_view(message) for message in messages],
        "history": [history_view(entry) for entry in history],
    }
