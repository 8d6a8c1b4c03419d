"""Customer satisfaction: the prompt sent when a ticket is resolved, and reading the answer.

Button data is `csat:<ticket>:<value>`: `good` / `bad`, or `1`..`5` stars. It fits
Telegram's 64-byte callback_data and WhatsApp's reply ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.models import Channel, MessageKind, Ticket, time_ordered_id
from helpdesk.settings import DirectionConfig
from helpdesk.tickets import TicketChange, outbound_message

STARS = tuple(("⭐" * n, str(n)) for n in range(1, 6))
WHATSAPP_WINDOW = timedelta(hours=24)  # free-form messages only within 24 h of the client's


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
    if value not in {"good", "bad", "1", "2", "3", "4", "5"} or not ticket_id:
        return None
    return ticket_id, value


def scale_of(value: str) -> str:
    return "binary" if value in ("good", "bad") else "stars"


def announce_resolution(
    change: TicketChange, direction: DirectionConfig, now: datetime
) -> TicketChange:
    """Tell the client the ticket is resolved and ask for a rating, in its own channel.

    WhatsApp only carries free-form messages within 24 hours of the client's last message;
    later, the direction's approved template is used (without it the send fails visibly).
    """
    ticket: Ticket = change.ticket
    if ticket.channel not in (Channel.TELEGRAM, Channel.WHATSAPP, Channel.SANDBOX):
        return change
    texts = direction.client_texts()
    resolved = texts.resolved.format(number=ticket.id, resolution=ticket.resolution or "").strip()
    prompt = texts.csat_prompt.format(number=ticket.id)
    message, job = outbound_message(
        ticket,
        MessageKind.AUTO,
        "system",
        f"{resolved}\n\n{prompt}",
        now,
        time_ordered_id(now),
        buttons=buttons_for(ticket.id, direction),
    )
    last_word = ticket.last_customer_message_at or ticket.created_at
    if ticket.channel == Channel.WHATSAPP and now - last_word > WHATSAPP_WINDOW:
        message = message.model_copy(
            update={
                "template_name": direction.whatsapp_resolved_template,
                "template_language": direction.whatsapp_template_language,
                "template_params": [ticket.id],
                "buttons": [],
            }
        )
    change.messages.append(message)
    change.jobs.append(job)
    return change
