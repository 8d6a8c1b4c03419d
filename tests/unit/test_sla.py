"""SLA clocks follow the ticket: set at opening, met by answers, re-targeted by priority and
group, paused by waiting on the client (and by a hold when the policy says so)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk import sla, tickets
from helpdesk.models import Actor, Channel, Message, MessageKind, Priority, Status, Ticket
from helpdesk.settings import ConfigError, DirectionConfig, load_config

MONDAY_9 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
H = timedelta(hours=1)
AGENT = Actor(user_id="agent-1", roles=frozenset({"agent"}))
OFFICE = DirectionConfig.model_validate(
    {
        "id": "d0",
        "calendar": {
            "hours": {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
        },
        "sla": {
            "targets": {
                "normal": {"first_response": "2h", "next_response": "4h", "resolution": "9h"}
            },
            "our_clients": {
                "normal": {"first_response": "1h", "next_response": "2h", "resolution": "6h"}
            },
        },
    }
)


def opened(at: datetime = MONDAY_9, **values: object) -> Ticket:
    contact = tickets.Contact(
        direction="d0", channel=Channel.TELEGRAM, customer_id="c1", subject="s", recipient_id="1"
    )
    change = tickets.open_ticket("D0-000001", contact, at, actor="customer")
    ticket = change.ticket.model_copy(update=values)
    tracked, _ = sla.track(None, ticket, OFFICE, at)
    return tracked


def follow(before: Ticket, change: tickets.TicketChange, at: datetime) -> tuple[Ticket, list]:
    return sla.track(before, change.ticket, OFFICE, at)


def test_opening_sets_first_response_and_resolution_in_working_time() -> None:
    ticket = opened()
    assert ticket.sla["first_response"].due == MONDAY_9 + 2 * H
    assert ticket.sla["resolution"].due == MONDAY_9 + 9 * H  # 18:00 the same day
    assert ticket.sla["first_response"].warn_at == MONDAY_9 + 1.6 * H  # 80 % of the target
    assert ticket.attention_at == ticket.sla["first_response"].warn_at
    friday_evening = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # 17:30 Moscow
    late = opened(friday_evening)
    assert late.sla["first_response"].due == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # Mon 10:30


def test_our_clients_get_the_tighter_targets() -> None:
    assert opened(our_client=True).sla["first_response"].due == MONDAY_9 + H


def test_an_answer_meets_the_first_response_and_a_client_message_starts_the_next() -> None:
    ticket = opened()
    answered, _ = follow(
        ticket, tickets.reply(ticket, MONDAY_9 + H, actor=AGENT, text="hi"), MONDAY_9 + H
    )
    assert answered.sla["first_response"].state == "met"
    assert answered.sla["first_response"].met_at == MONDAY_9 + H
    message = Message(
        ticket_id="", kind=MessageKind.INBOUND, author="customer", text="more",
        at=MONDAY_9 + 2 * H, channel=Channel.TELEGRAM,
    )  # fmt: skip
    change = tickets.client_wrote(answered, message, MONDAY_9 + 2 * H)
    assert change is not None
    waiting, _ = follow(answered, change, MONDAY_9 + 2 * H)
    assert waiting.sla["next_response"].due == MONDAY_9 + 6 * H
    assert sla.response_due(waiting) == MONDAY_9 + 6 * H
    again, _ = follow(
        waiting, tickets.reply(waiting, MONDAY_9 + 3 * H, actor=AGENT, text="ok"), MONDAY_9 + 3 * H
    )
    assert again.sla["next_response"].state == "met"
    assert sla.response_due(again) is None


def test_a_priority_change_re_applies_the_policy_and_says_why() -> None:
    ticket = opened()
    later = MONDAY_9 + H
    change = tickets.update_fields(ticket, later, actor=AGENT, priority=Priority.URGENT)
    urgent, history = follow(ticket, change, later)
    # urgent's default first response is 1h; one hour of it is spent already: due now
    assert urgent.sla["first_response"].due == later
    assert [entry.note for entry in history] == [
        "SLA targets re-applied: priority normal -> urgent (set by agent-1)"
    ]


def test_waiting_on_the_client_pauses_the_resolution_until_they_write() -> None:
    ticket = opened()
    asked, _ = follow(
        ticket,
        tickets.reply(ticket, MONDAY_9 + H, actor=AGENT, text="?", wait_for_client=True),
        MONDAY_9 + H,
    )
    paused = asked.sla["resolution"]
    assert (paused.state, paused.remaining_seconds) == ("paused", 8 * 3600)
    answer_at = MONDAY_9 + 26 * H  # Tuesday 11:00 Moscow
    message = Message(
        ticket_id="", kind=MessageKind.INBOUND, author="customer", text="here",
        at=answer_at, channel=Channel.TELEGRAM,
    )  # fmt: skip
    change = tickets.client_wrote(asked, message, answer_at)
    assert change is not None
    resumed, _ = follow(asked, change, answer_at)
    assert resumed.sla["resolution"].state == "running"
    # 8 working hours left: Tuesday 11:00-18:00 (7h), then Wednesday 09:00-10:00 Moscow
    assert resumed.sla["resolution"].due == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_a_hold_pauses_only_when_the_policy_says_so() -> None:
    ticket = opened()
    held = tickets.hold(ticket, MONDAY_9 + H, actor=AGENT, task_url="https://t/1")
    running, _ = follow(ticket, held, MONDAY_9 + H)
    assert running.sla["resolution"].state == "running"
    pausing = OFFICE.model_copy(
        update={"sla": OFFICE.sla.model_copy(update={"pause_on_hold": True})}
    )
    paused, _ = sla.track(ticket, held.ticket, pausing, MONDAY_9 + H)
    assert paused.sla["resolution"].state == "paused"


def test_resolving_stops_every_clock_and_reopening_starts_the_resolution_again() -> None:
    ticket = opened()
    resolved, _ = follow(ticket, tickets.resolve(ticket, MONDAY_9 + H, actor=AGENT), MONDAY_9 + H)
    assert {name: clock.state for name, clock in resolved.sla.items()} == {
        "first_response": "stopped",
        "resolution": "met",
    }
    assert resolved.attention_at is None
    reopened, _ = follow(
        resolved, tickets.reopen(resolved, MONDAY_9 + 2 * H, actor=AGENT), MONDAY_9 + 2 * H
    )
    assert reopened.status == Status.OPEN
    # a fresh 9 working hours from Monday 11:00: 11:00-18:00, then Tuesday 09:00-11:00
    assert reopened.sla["resolution"].due == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_the_sweep_marks_each_warning_and_breach_once() -> None:
    ticket = opened()
    clocks, found = sla.lapses(ticket, MONDAY_9 + 1.7 * H)
    assert [(lapse.target, lapse.kind) for lapse in found] == [("first_response", "warned")]
    warned = ticket.model_copy(update={"sla": clocks})
    assert sla.lapses(warned, MONDAY_9 + 1.8 * H)[1] == []
    clocks, found = sla.lapses(warned, MONDAY_9 + 2.5 * H)
    assert [(lapse.target, lapse.kind) for lapse in found] == [("first_response", "breached")]
    breached = warned.model_copy(update={"sla": clocks})
    assert sla.lapses(breached, MONDAY_9 + 3 * H)[1] == []
    assert breached.sla["first_response"].state == "running"  # a late answer is still recorded


@pytest.mark.parametrize(
    ("sla_config", "message"),
    [
        (
            {
                "targets": {
                    "low": {"first_response": "30h", "next_response": "1h", "resolution": "2d"}
                }
            },
            "24 hours is the outer limit",
        ),
        (
            {
                "targets": {
                    "high": {"first_response": "-1h", "next_response": "1h", "resolution": "1h"}
                }
            },
            "not a duration",
        ),
        (
            {
                "targets": {
                    "high": {"first_response": "0m", "next_response": "1h", "resolution": "1h"}
                }
            },
            "must be positive",
        ),
        ({"warn_at": 1.5}, "warn_at"),
        ({"remind_after": "soon"}, "remind_after"),
    ],
)
def test_a_bad_policy_stops_the_start_naming_the_field(sla_config: dict, message: str) -> None:
    config = json.dumps({"directions": [{"id": "d0", "sla": sla_config}]})
    with pytest.raises(ConfigError, match=message):
        load_config(config)
