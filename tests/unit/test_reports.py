"""Report counters, pure: which counters each ticket change moves, bucket edges, percentiles
from a histogram, the fair ranking, and the tables built from summed counters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk import digest, reports, tickets
from helpdesk.calls import MISSED_FLAG, PROBLEM_FLAG
from helpdesk.models import Actor, Category, Channel, Clock, Message, Ticket
from helpdesk.reports import BUCKET_EDGES, Move, Staff, Totals
from helpdesk.settings import CalendarConfig

AGENT = Actor(user_id="alice", roles=frozenset({"agent"}))
MONDAY_9 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
MOSCOW = CalendarConfig.model_validate(
    {"hours": {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}
).business_calendar("Europe/Moscow")
DAY = date(2026, 11, 23)


def opened(at: datetime = MONDAY_9, channel: Channel = Channel.TELEGRAM) -> Ticket:
    contact = tickets.Contact(
        direction="d0", channel=channel, customer_id="c1", subject="s", recipient_id="1"
    )
    return tickets.open_ticket("D0-000001", contact, at, actor="customer").ticket


def counted(
    before: Ticket | None, after: Ticket, now: datetime, messages: Sequence[Message] = ()
) -> set[Move]:
    return set(reports.moves(before, after, messages, MOSCOW, now))


def test_opening_counts_the_ticket_its_channel_and_its_local_hour_on_its_local_day() -> None:
    late = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 01:30 on Tuesday in Moscow
    found = counted(None, opened(late, Channel.WHATSAPP), late)
    tuesday = date(2026, 11, 24)
    assert found == {
        Move("open", tuesday, "opened"),
        Move("open", tuesday, "opened#channel#whatsapp"),
        Move("open", tuesday, "opened#hour#1"),
        Move("open", tuesday, "opened#category#none"),
        Move("open", tuesday, "opened#topic#none"),
    }


def test_a_recategorised_ticket_moves_on_its_opening_day_not_today() -> None:
    ticket = opened()
    later = MONDAY_9 + timedelta(days=3)
    first = tickets.update_fields(ticket, later, actor=AGENT, category=Category.PROBLEM).ticket
    second = tickets.update_fields(first, later, actor=AGENT, category=Category.COMPLAINT).ticket
    assert counted(ticket, first, later) == {
        Move("open", DAY, "opened#category#none", -1),
        Move("open", DAY, "opened#category#problem"),
    }
    assert counted(first, second, later) == {
        Move("open", DAY, "opened#category#problem", -1),
        Move("open", DAY, "opened#category#complaint"),
    }
    topic = tickets.update_fields(second, later, actor=AGENT, topic="  Login ").ticket
    assert counted(second, topic, later) == {
        Move("open", DAY, "opened#topic#none", -1),
        Move("open", DAY, "opened#topic#login"),
    }


def test_first_response_and_resolution_go_to_today_in_working_time_buckets() -> None:
    ticket = opened(MONDAY_9 - timedelta(hours=10))  # Sunday 23:00: working time starts Mon 9
    answer_at = MONDAY_9 + timedelta(minutes=20)
    reply = tickets.reply(ticket, answer_at, actor=AGENT, text="hi")
    found = counted(ticket, reply.ticket, answer_at, reply.messages)
    assert Move("times", DAY, "frt#count") in found
    assert Move("times", DAY, f"frt#bucket#{reports.bucket(20 * 60)}") in found
    assert Move("agent", DAY, "first_responses", 1, "alice") in found
    assert Move("agent", DAY, "replies", 1, "alice") in found
    assert Move("times", DAY, "replies") in found

    resolve_at = MONDAY_9 + timedelta(hours=3)
    resolved = tickets.resolve(reply.ticket, resolve_at, actor=AGENT).ticket
    assert counted(reply.ticket, resolved, resolve_at) == {
        Move("times", DAY, "resolved"),
        Move("times", DAY, f"res#bucket#{reports.bucket(3 * 3600)}"),
        Move("agent", DAY, "resolved", 1, "alice"),
    }
    reopened = tickets.reopen(resolved, resolve_at, actor=AGENT).ticket
    assert counted(resolved, reopened, resolve_at) == {Move("times", DAY, "reopened")}


def test_a_rating_counts_once_for_the_direction_and_the_assignee() -> None:
    ticket = opened().model_copy(update={"assignee": "bob"})
    rated = ticket.model_copy(update={"csat": {"value": "good", "scale": "binary"}})
    found = counted(ticket, rated, MONDAY_9)
    assert found == {
        Move("times", DAY, "csat#count"),
        Move("times", DAY, "csat#good"),
        Move("times", DAY, "csat#points", 5),
        Move("agent", DAY, "csat#count", 1, "bob"),
        Move("agent", DAY, "csat#good", 1, "bob"),
        Move("agent", DAY, "csat#points", 5, "bob"),
    }
    assert counted(rated, rated, MONDAY_9) == set()  # the same ticket again moves nothing


def test_calls_count_on_the_day_of_the_call_and_a_late_answer_undoes_missed() -> None:
    ticket = opened(channel=Channel.PHONE)
    missed = ticket.model_copy(update={"flags": [MISSED_FLAG], "callback": {"attempts": 0}})
    later = MONDAY_9 + timedelta(days=2)
    assert counted(ticket, missed, later) == {Move("calls", DAY, "calls#missed")}
    answered = missed.model_copy(
        update={"flags": [PROBLEM_FLAG], "call": {"answered_at": "2026-11-23T06:00:00Z"}}
    )
    assert counted(missed, answered, later) == {
        Move("calls", DAY, "calls#missed", -1),
        Move("calls", DAY, "calls#problem"),
        Move("calls", DAY, "calls#answered"),
    }
    outcome = missed.model_copy(update={"callback": {"outcome": "escalated"}})
    final = outcome.model_copy(update={"callback": {"outcome": "called_back"}})
    assert counted(outcome, final, later) == {
        Move("calls", DAY, "calls#outcome#escalated", -1),
        Move("calls", DAY, "calls#outcome#called_back"),
    }


def test_a_first_breach_makes_the_ticket_overdue_once() -> None:
    ticket = opened()
    assert not ticket.sla  # open_ticket alone starts none: give it breached clocks
    breached = Clock(state="running", target_seconds=60, started_at=MONDAY_9, breached_at=MONDAY_9)
    one = ticket.model_copy(update={"sla": {"first_response": breached}})
    two = one.model_copy(update={"sla": {"first_response": breached, "resolution": breached}})
    assert counted(ticket, one, MONDAY_9) == {
        Move("open", DAY, "overdue"),
        Move("times", DAY, "breached#first_response"),
    }
    assert counted(one, two, MONDAY_9) == {Move("times", DAY, "breached#resolution")}


def test_grouped_sums_per_item_and_drops_what_cancels_out() -> None:
    grouped = reports.grouped(
        [
            Move("open", DAY, "a"),
            Move("open", DAY, "a", -1),
            Move("open", DAY, "b", 2),
            Move("agent", DAY, "x", 1, "alice"),
            Move("times", DAY, "c", 1),
            Move("times", DAY, "c", -1),
        ]
    )
    assert grouped == {("open", DAY, None): {"b": 2}, ("agent", DAY, "alice"): {"x": 1}}


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_a_duration_falls_in_the_bucket_between_its_edges(seconds: float) -> None:
    index = reports.bucket(seconds)
    lower = BUCKET_EDGES[index - 1] if index > 0 else -1
    upper = reports.bucket_upper(index)
    assert lower < seconds and (upper is None or seconds <= upper)


@given(
    st.lists(st.integers(min_value=0, max_value=200_000), min_size=1, max_size=200),
    st.sampled_from([0.5, 0.9, 0.99, 1.0, 0.01]),
)
def test_percentile_from_the_histogram_is_the_bucket_of_the_exact_percentile(
    durations: list[int], share: float
) -> None:
    histogram: dict[int, int] = {}
    for seconds in durations:
        histogram[reports.bucket(seconds)] = histogram.get(reports.bucket(seconds), 0) + 1
    exact = sorted(durations)[max(1, math.ceil(share * len(durations))) - 1]
    expected = reports.bucket_upper(reports.bucket(exact)) or BUCKET_EDGES[-1]
    assert reports.percentile(histogram, share) == expected


def test_percentile_of_nothing_is_none() -> None:
    assert reports.percentile({}, 0.5) is None


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_wilson_lower_bound_is_below_the_share_and_rises_with_evidence(
    good: int, total: int
) -> None:
    good = min(good, total)
    bound = reports.wilson_lower(good, total)
    assert 0 <= bound <= good / total + 1e-9
    assert reports.wilson_lower(good * 10, total * 10) >= bound - 1e-9


def test_one_good_rating_does_not_outrank_ninety_of_a_hundred() -> None:
    assert reports.wilson_lower(1, 1) < reports.wilson_lower(90, 100)


def totals(direction: str = "d0", **counters: int) -> Totals:
    total = Totals(direction, 7)
    total.add("open", DAY, None, {name.replace("__", "#"): v for name, v in counters.items()})
    return total


def test_categories_always_show_the_complaint_share_even_at_zero() -> None:
    table = reports.build(
        "categories",
        [totals(opened=4, opened__category__problem=3, opened__category__none=1)],
        {"d0": Staff({}, {})},
        [DAY],
        5,
    )
    complaint = next(row for row in table.rows if row["category"] == "complaint")
    assert complaint == {
        "direction": "d0",
        "category": "complaint",
        "tickets": 0,
        "share_percent": 0.0,
    }
    assert table.notes["complaint_share_percent"] == 0.0
    assert table.rows[0]["share_percent"] == 75.0


def test_load_marks_a_direction_under_half_the_mean_as_underloaded() -> None:
    staff = {
        "d0": Staff({"alice": 40}, {"alice": "a"}),
        "d1": Staff({"bob": 40}, {"bob": "b"}),
        "d2": Staff({"carol": 40}, {"carol": "c"}),
    }
    table = reports.build(
        "load",
        [totals("d0", opened=100), totals("d1", opened=100), totals("d2", opened=10)],
        staff,
        [DAY + timedelta(days=n) for n in range(7)],
        5,
    )
    directions = {row["direction"]: row for row in table.rows if row["scope"] == "direction"}
    assert directions["d0"]["per_staffed_hour"] == 2.5
    assert directions["d0"]["staffed_hours"] == 40
    assert [d for d, row in directions.items() if row["underloaded"]] == ["d2"]


def test_csat_leaderboard_ranks_only_those_with_enough_ratings_fairly() -> None:
    total = totals()
    total.add("agent", DAY, "lucky", {"csat#count": 1, "csat#good": 1, "csat#points": 5})
    total.add("agent", DAY, "steady", {"csat#count": 20, "csat#good": 18, "csat#points": 92})
    total.add("agent", DAY, "mixed", {"csat#count": 10, "csat#good": 6, "csat#points": 36})
    table = reports.build("csat", [total], {"d0": Staff({}, {"steady": "t1"})}, [DAY], 5)
    agents = [row for row in table.rows if row["scope"] == "agent"]
    assert [(row["name"], row["rank"]) for row in agents] == [
        ("steady", 1),
        ("mixed", 2),
        ("lucky", None),
    ]
    teams = {row["name"]: row["ratings"] for row in table.rows if row["scope"] == "team"}
    assert teams == {"t1": 20, "unstaffed": 11}


@pytest.mark.parametrize("name", reports.REPORT_NAMES)
def test_every_report_builds_on_empty_counters_with_its_columns(name: str) -> None:
    table = reports.build(name, [totals()], {"d0": Staff({}, {})}, [DAY], 5)
    for row in table.rows:
        assert list(row) == table.columns


def test_the_digest_says_yesterday_in_the_directions_language_within_telegrams_limit() -> None:
    total = totals(opened=12)
    times = {"frt#count": 2, "frt#bucket#3": 2, "breached#resolution": 1, "kb_gaps": 4}
    total.add("times", DAY, None, times)
    total.add("agent", DAY, "bob", {"csat#count": 3, "csat#good": 3, "csat#points": 15})
    total.add("agent", DAY, "amy", {"csat#count": 1, "csat#good": 1, "csat#points": 5})
    complaints = [{"ticket_id": f"D0-{n:06d}", "subject": "x" * 100} for n in range(100)]
    text = digest.text(total, "D0", DAY, "en", 2, complaints)
    lines = text.splitlines()
    assert lines[0] == "D0 digest for 2026-11-23"
    assert "Tickets: 12" in lines and "First response, median: ≤ 1 h 00 min" in lines
    assert "Promises breached: 1" in lines and "Missed calls not yet called back: 2" in lines
    assert "Resolved with no knowledge base article: 4" in lines
    assert "Best rated: bob (3 of 3)" in lines  # three good ratings beat one
    assert "Complaints: 100" in lines and lines[-1].startswith("… and ")
    assert len(text) <= 4096
