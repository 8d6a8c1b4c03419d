"""Usage cost by the rate card, pure: started minutes of an ended call, corrections as
adjustments, one charge per billable WhatsApp message; bad rate cards stop the start."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from helpdesk import costs, tickets
from helpdesk.models import Channel, Ticket
from helpdesk.reports import Move
from helpdesk.settings import ConfigError, RateCard, load_config

AT = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 00:30 on the 24th in Moscow
CARD = RateCard(currency="RUB", call_minute=150, call_minute_by_line={"+7495": 200})


def phone(line: str = "+7495", **call: Any) -> Ticket:
    contact = tickets.Contact(
        direction="d0", channel=Channel.PHONE, customer_id="c", subject="s", service_id=line
    )
    ticket = tickets.open_ticket("D0-000001", contact, AT, actor="telephony").ticket
    return ticket.model_copy(update={"call": {"call_id": "c1", **call}}) if call else ticket


def test_an_ended_call_is_charged_its_started_minutes_at_its_lines_price() -> None:
    ringing = phone(answered_at="x")
    ended = phone(answered_at="x", ended_at="y", talk_seconds=61)
    charge = costs.call_charge(ringing, ended, CARD, AT)
    assert charge is not None
    assert (charge.quantity, charge.amount, charge.currency, charge.new) == (2, 400, "RUB", True)
    assert costs.charge_moves(charge, "Europe/Moscow") == [
        Move("cost", date(2026, 11, 24), "cost#phone#RUB", 400),
        Move("cost", date(2026, 11, 24), "usage#phone#minute", 2),
        Move("cost", date(2026, 11, 24), "charges#phone"),
    ]
    assert costs.call_charge(ended, ended, CARD, AT) is None  # the same state again
    other_line = phone("+7000", ended_at="y", talk_seconds=60)
    unlisted = costs.call_charge(None, other_line, CARD, AT)
    assert unlisted is not None and unlisted.amount == 150  # the card's default price
    assert costs.call_charge(ringing, ended, None, AT) is None  # no rate card: no charge


def test_a_corrected_duration_is_charged_as_an_adjustment_and_a_new_call_on_its_own() -> None:
    first = phone(ended_at="y", talk_seconds=61)
    longer = phone(ended_at="y", talk_seconds=185)
    adjustment = costs.call_charge(first, longer, CARD, AT)
    assert adjustment is not None
    assert (adjustment.quantity, adjustment.amount, adjustment.new) == (2, 400, False)
    assert [m.name for m in costs.charge_moves(adjustment, "UTC")] == [
        "cost#phone#RUB",
        "usage#phone#minute",
    ]
    second = longer.model_copy(
        update={"call": {"call_id": "c2", "ended_at": "z", "talk_seconds": 10}}
    )
    charge = costs.call_charge(longer, second, CARD, AT)
    assert charge is not None and (charge.amount, charge.new) == (200, True)
    assert charge.source == "call:D0-000001:c2"


def test_a_billable_whatsapp_message_costs_its_categorys_price() -> None:
    card = RateCard(currency="USD", whatsapp={"utility": 4, "marketing": 25})
    pricing = {"billable": True, "category": "marketing", "pricing_model": "PMP"}
    charge = costs.whatsapp_charge("d0", pricing, card, AT, "wamid.1", None)
    assert charge is not None and (charge.amount, charge.unit) == (25, "message")
    assert costs.whatsapp_charge("d0", {**pricing, "billable": False}, card, AT, "w", None) is None
    unknown = costs.whatsapp_charge("d0", {"billable": True}, card, AT, "w", None)
    assert unknown is not None and (unknown.amount, unknown.detail) == (0, "unknown")


@pytest.mark.parametrize(
    ("card", "named"),
    [
        ({"call_minute": 100}, "rate_card.currency: Field required"),
        ({"currency": "rub"}, "rate_card.currency"),
        ({"currency": "RUB", "call_minute": -1}, "rate_card.call_minute"),
        ({"currency": "RUB", "whatsapp": {"utility": -5}}, "rate_card.whatsapp.utility"),
    ],
)
def test_a_rate_card_without_currency_or_with_negative_prices_stops_the_start(
    card: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(json.dumps({"directions": [{"id": "d0", "rate_card": card}]}))


@pytest.mark.parametrize(
    ("spent", "budget", "reached"),
    [(0, 100, []), (79, 100, []), (80, 100, [80]), (99, 100, [80]), (100, 100, [80, 100])],
)
def test_budget_thresholds_in_whole_minor_units(
    spent: int, budget: int, reached: list[int]
) -> None:
    assert costs.crossed(spent, budget) == reached
    assert costs.crossed(spent, 0) == []


def test_money_is_told_in_major_units_without_floats() -> None:
    assert costs.money(212005) == "2120.05" and costs.money(-7) == "-0.07"
    text = costs.budget_text("D1", "2026-11", 80, 100, "USD", "en")
    assert text == "D1 budget for 2026-11: 0.80 of 1.00 USD spent (80 %)."


def test_the_helpdesks_own_aws_usage_is_estimated_from_the_writes_and_priced() -> None:
    from helpdesk.settings import AwsPrices
    from helpdesk.store.table import estimated_write_units, put, update

    small = put({"PK": "a", "SK": "b", "GSI1PK": "x", "GSI1SK": "y"})  # 1 KB + 1 index entry
    large = put({"PK": "a", "SK": "c", "text": "x" * 1500})  # 2 KB
    counter = update({"PK": "r", "SK": "s"}, "ADD n :n", {":n": 1})
    assert estimated_write_units([small]) == 2
    assert estimated_write_units([small, large, counter]) == (1 + 2 + 1) * 2 + 1  # transaction
    prices = AwsPrices()  # 0.625 $ a million write units, 1.20 $ a million requests
    assert costs.aws_cost_minor(100_000, 2_000_000, prices) == 137  # $1.25 + $0.12
    today, opening = date(2026, 11, 23), date(2026, 11, 2)
    moved = [Move("agent", today, "replies", 1, "amy"), Move("open", opening, "opened")]
    assert costs.aws_moves(moved, today, 7) == [  # on an item the change writes anyway
        Move("open", opening, "usage#aws#events"),
        Move("open", opening, "usage#aws#write_units", 7),
    ]
    assert costs.aws_moves([], today, 3)[0] == Move("times", today, "usage#aws#events")
