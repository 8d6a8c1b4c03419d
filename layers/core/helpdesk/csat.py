"""Customer satisfaction: telling the client a ticket is resolved, asking for a rating, and
recording the answer once.

Button data is `csat:<ticket>:<value>`: `good` / `bad`, or `1`..`5` stars. It fits
Telegram's 64-byte callback_data and WhatsApp's 256-character reply ids.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk.models import HistoryEntry, Message, MessageKind, Ticket, iso, time_ordered_id
from helpdesk.settings import DirectionConfig
from helpdesk.tickets import TicketChange, outbound_message, send_in_order

STARS = tuple(("⭐" * n, str(n)) for n in range(1, 6))
VALUES = frozenset({"good", "bad", "1", "2", "3", "4", "5"})


class AlreadyRated(Exception):
    """The client rated this ticket before: the first rating stands."""


def buttons_for(ticket_id: str, direction: DirectionConfig) -> list[dict[str, str]]:
    texts = direction.client_texts()
    binary = ((texts.csat_good, "good"), (texts.csat_bad, "bad"))
    choices = STARS if direction.csat_scale == "stars" else binary
    return [{"label": label, "data": f"csat:{ticket_id}:{value}"} for label, value in choices]


def parse_button(data: str) -> tuple[str, str] | None:
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "csat":
        return None
    _, ticket_id, value = parts
    if value not in VALUES or not ticket_id:
        return None
    return ticket_id, value


def scale_of(value: str) -> str:
    return "binary" if value in ("good", "bad") else "stars"


def resolution_messages(ticket: Ticket, direction: DirectionConfig, now: datetime) -> list[Message]:
    """The resolution notice, then the rating prompt with its buttons: two messages, so a long
    resolution never pushes the buttons' message past a provider's limit."""
    texts = direction.client_texts()
    values = {"number": ticket.id, "direction": direction.display_name()}
    notice = texts.render("resolved", resolution=ticket.resolution or "", **values).strip()
    prompt = texts.render("csat_prompt", **values)
    return [
        outbound_message(ticket, MessageKind.AUTO, "system", notice, now, time_ordered_id(now, 1)),
        outbound_message(
            ticket,
            MessageKind.AUTO,
            "system",
            prompt,
            now,
            time_ordered_id(now, 2),
            buttons=buttons_for(ticket.id, direction),
        ).model_copy(update={"buttons_label": texts.csat_choose}),
    ]


def rate(ticket: Ticket, value: str, direction: DirectionConfig, now: datetime) -> TicketChange:
    """Store the client's rating once and thank them; a second press raises AlreadyRated."""
    if ticket.csat is not None:
        raise AlreadyRated()
    record = {"value": value, "scale": scale_of(value), "at": iso(now)}
    thanks = outbound_message(
        ticket,
        MessageKind.AUTO,
        "system",
        direction.client_texts().render(
            "csat_thanks", number=ticket.id, direction=direction.display_name()
        ),
        now,
        time_ordered_id(now),
    )
    updated = ticket.model_copy(
        update={"csat": record, "updated_at": now, "version": ticket.version + 1}
    )
    entry = HistoryEntry(
        ticket_id=ticket.id,
        at=now,
        actor="customer",
        action="rate",
        changes={"csat": [None, value]},
    )
    return TicketChange(updated, [entry], [thanks], send_in_order([thanks]))
