"""Fitting what we send to the channel's own rules before it is stored and queued.

WhatsApp carries free-form messages only within 24 hours of the client's last message (the
channel registry knows each channel's window). Outside it an approved template goes instead:
the direction's reply template for an agent's reply, its resolution template (with the rating
as quick-reply buttons) for the resolution notice. Without a template an agent's reply is
refused with a clear reason; a resolution notice is stored as failed with the reason, and the
ticket flagged, so that nobody believes the client was told. A mail carries the notice and
the rating links in one message (the channel registry's `one_resolution_message`).
"""

from __future__ import annotations

from datetime import datetime

from helpdesk.channels import registry
from helpdesk.errors import ChannelUnavailable
from helpdesk.models import (
    Channel,
    DeliveryState,
    Message,
    MessageKind,
    Ticket,
    iso,
    time_ordered_id,
)
from helpdesk.settings import DirectionConfig


def window_open(ticket: Ticket, now: datetime) -> bool:
    window = (
        registry.spec(ticket.channel).reply_window if ticket.channel in registry.SPECS else None
    )
    if window is None:
        return True
    last_word = ticket.last_customer_message_at or ticket.created_at
    return now - last_word <= window


def fit_reply(ticket: Ticket, message: Message, config: DirectionConfig, now: datetime) -> Message:
    """An agent's reply as it may go out now, or ChannelUnavailable saying why it cannot."""
    if not registry.can_send(ticket.channel):
        raise ChannelUnavailable(
            f"a {ticket.channel.value} ticket has no written channel to reply in; "
            "call the client back and add a comment",
            channel=ticket.channel.value,
        )
    if window_open(ticket, now):
        return message
    if not config.whatsapp_reply_template:
        raise ChannelUnavailable(
            "the client last wrote more than 24 hours ago: WhatsApp now carries only an "
            "approved template; configure whatsapp_reply_template for direction "
            f"{config.id}, or wait for the client to write",
            channel=ticket.channel.value,
            last_customer_message_at=iso(ticket.last_customer_message_at or ticket.created_at),
        )
    return message.model_copy(
        update={
            "template_name": config.whatsapp_reply_template,
            "template_language": config.whatsapp_template_language,
            "template_params": [ticket.id, message.text],
        }
    )


def fit_resolution(
    ticket: Ticket, messages: list[Message], config: DirectionConfig, now: datetime
) -> list[Message]:
    """The resolution notice and rating prompt as they may go out now (see the module doc);
    one message where the channel wants it so (e-mail: the notice, then the rating links)."""
    notice, prompt = messages
    if ticket.channel in registry.SPECS and registry.spec(ticket.channel).one_resolution_message:
        joined = {
            "text": f"{notice.text}\n\n{prompt.text}",
            "buttons": prompt.buttons,
            "buttons_label": prompt.buttons_label,
        }
        return [notice.model_copy(update=joined)]
    if window_open(ticket, now):
        return messages
    if config.whatsapp_resolved_template:
        # One template message: its approved text tells and asks; its quick replies rate.
        return [
            notice.model_copy(
                update={
                    "template_name": config.whatsapp_resolved_template,
                    "template_language": config.whatsapp_template_language,
                    "template_params": [ticket.id],
                    "buttons": prompt.buttons,
                }
            )
        ]
    reason = (
        "not sent: the client last wrote more than 24 hours ago and direction "
        f"{config.id} has no whatsapp_resolved_template"
    )
    return [
        message.model_copy(update={"delivery": DeliveryState.FAILED, "error": reason})
        for message in messages
    ]


def staff_notices(
    ticket: Ticket,
    chats: list[str | None],
    text: str,
    now: datetime,
    bot_id: str,
    first: int = 0,
) -> list[Message]:
    """Messages about a ticket to staff chats in Telegram (the team chat, the lead's), stored
    with the ticket and sent by the dispatcher like any other message."""
    return [
        Message(
            ticket_id=ticket.id,
            id=time_ordered_id(now, first + n),
            kind=MessageKind.NOTICE,
            author="system",
            text=text,
            at=now,
            channel=Channel.TELEGRAM,
            delivery=DeliveryState.QUEUED,
            recipient_id=chat,
            service_id=bot_id,
        )
        for n, chat in enumerate(chat for chat in chats if chat)
    ]
