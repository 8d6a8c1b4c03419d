"""Usage-based cost: what a call or a billable WhatsApp message costs by the rate card.

Pure. Money is integer minor units with its currency; nothing is rounded but the billed
minutes (a started minute is a minute, as telephony providers bill). A call is charged when it
has ended; if its talk time is corrected later (a longer duration reported again), the
difference is charged as an adjustment, so the ledger always sums to what the counters hold.
Telegram is free: nothing is charged for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from helpdesk.models import Channel, Ticket
from helpdesk.reports import Move, local_day
from helpdesk.settings import AwsPrices, RateCard


@dataclass(frozen=True)
class Charge:
    """One ledger entry: a usage event and its cost."""

    direction: str
    channel: str
    source: str  # what was used: call:<ticket>:<call id>, whatsapp:<wamid>
    at: datetime
    quantity: int
    unit: str  # minute, message
    amount: int  # minor units; negative for a correction down
    currency: str
    ticket_id: str | None
    detail: str | None  # the line, the pricing category
    new: bool = True  # a first charge (False: an adjustment of an earlier one)


def billed_minutes(seconds: int | None) -> int:
    return math.ceil(seconds / 60) if seconds and seconds > 0 else 0


def _call_cost(ticket: Ticket | None, card: RateCard) -> tuple[int, int]:
    """(minutes, amount) the ticket's call costs so far: nothing until it has ended."""
    call = (ticket.call or {}) if ticket else {}
    if ticket is None or ticket.channel != Channel.PHONE or not call.get("ended_at"):
        return 0, 0
    minutes = billed_minutes(call.get("talk_seconds"))
    return minutes, minutes * card.minute_price(ticket.service_id)


def call_charge(
    before: Ticket | None, after: Ticket, card: RateCard | None, now: datetime
) -> Charge | None:
    """The charge (or correction) a change of a phone ticket's call makes, if any."""
    if card is None:
        return None
    call_id = (after.call or {}).get("call_id")
    same_call = before is not None and (before.call or {}).get("call_id") == call_id
    # A later call on the same ticket is its own charge; the earlier one stays as charged.
    old_minutes, old_amount = _call_cost(before, card) if same_call else (0, 0)
    minutes, amount = _call_cost(after, card)
    if (minutes, amount) == (old_minutes, old_amount):
        return None
    return Charge(
        direction=after.direction,
        channel=Channel.PHONE.value,
        source=f"call:{after.id}:{call_id}",
        at=now,
        quantity=minutes - old_minutes,
        unit="minute",
        amount=amount - old_amount,
        currency=card.currency,
        ticket_id=after.id,
        detail=after.service_id,
        new=old_minutes == 0,
    )


def whatsapp_charge(
    direction: str,
    pricing: dict[str, Any],
    card: RateCard | None,
    at: datetime,
    provider_message_id: str,
    ticket_id: str | None,
) -> Charge | None:
    """A billable WhatsApp message by its pricing category (from a status webhook)."""
    if card is None or pricing.get("billable") is not True:
        return None
    category = str(pricing.get("category") or "unknown")
    return Charge(
        direction=direction,
        channel=Channel.WHATSAPP.value,
        source=f"whatsapp:{provider_message_id}",
        at=at,
        quantity=1,
        unit="message",
        amount=card.whatsapp.get(category, 0),
        currency=card.currency,
        ticket_id=ticket_id,
        detail=category,
    )


def charge_moves(charge: Charge, zone: str) -> list[Move]:
    """The cost counters a charge moves, on its day in the direction's zone."""
    day = local_day(charge.at, zone)
    moves = [
        Move("cost", day, f"cost#{charge.channel}#{charge.currency}", charge.amount),
        Move("cost", day, f"usage#{charge.channel}#{charge.unit}", charge.quantity),
    ]
    if charge.new:
        moves.append(Move("cost", day, f"charges#{charge.channel}"))
    return [move for move in moves if move.delta]


def aws_moves(moves: list[Move], today: date, write_units: int) -> list[Move]:
    """One event of the helpdesk's own AWS usage (a ticket change: a request, a function
    run, a transaction) and its estimated write units, for the cost report's estimate. They
    ride on a counters item the change writes anyway (the first non-agent one, whatever its
    day), so that counting costs no extra write; a change that moves no counter (a comment)
    counts on today's `times` item."""
    kind, day = next(((m.kind, m.day) for m in moves if m.kind != "agent"), ("times", today))
    return [
        Move(kind, day, "usage#aws#events"),
        Move(kind, day, "usage#aws#write_units", write_units),
    ]


def aws_cost_minor(events: int, write_units: int, prices: AwsPrices) -> int:
    """The estimate in minor units (cents) of the prices' currency: each event one HTTP API
    request and one Lambda request, and its write units; reads, duration and logs are not
    counted (make bench measures them: about a tenth of the total)."""
    dollars = (
        write_units * prices.dynamodb_write_per_million
        + events * (prices.http_api_per_million + prices.lambda_request_per_million)
    ) / 1_000_000
    return round(dollars * 100)


THRESHOLDS = (80, 100)  # percent of a month's budget that is told, once each
BUDGET_TEXTS = {
    "ru": "Бюджет {direction} за {month}: потрачено {spent} из {budget} {currency} ({share} %).",
    "en": "{direction} budget for {month}: {spent} of {budget} {currency} spent ({share} %).",
}


def crossed(spent: int, budget: int) -> list[int]:
    """The thresholds a month's spending has reached (integer arithmetic: no rounding)."""
    if budget <= 0:
        return []
    return [threshold for threshold in THRESHOLDS if spent * 100 >= threshold * budget]


def money(minor: int) -> str:
    """Minor units as the currency's major units with two decimals: 123456 -> 1234.56."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def budget_text(
    name: str, month: str, spent: int, budget: int, currency: str, language: str
) -> str:
    template = BUDGET_TEXTS.get(language, BUDGET_TEXTS["en"])
    share = spent * 100 // budget if budget else 0
    return template.format(
        direction=name,
        month=month,
        spent=money(spent),
        budget=money(budget),
        currency=currency,
        share=share,
    )
