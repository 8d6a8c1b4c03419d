"""Ticket rules: transitions, what each action records, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk import tickets
from helpdesk.errors import BadRequest, ChannelUnavailable, InvalidTransition
from helpdesk.jobs import SendMessageJob
from helpdesk.models import Actor, Category, Channel, DeliveryState, MessageKind, Priority, Ticket
from helpdesk.models import Status as S
from helpdesk.settings import DirectionConfig
from helpdesk.usecases.outbound import fit_reply

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AGENT = Actor(user_id="agent-7", roles=frozenset({"agent"}))


def make_ticket(status: S = S.NEW, channel: Channel = Channel.TELEGRAM, **values) -> Ticket:
    return Ticket(
        id="D0-000042",
        direction="d0",
        channel=channel,
        customer_id="c1",
        status=status,
        recipient_id="111222333",
        created_at=T0,
        updated_at=T0,
        version=3,
        **values,
    )


ACTIONS = {
    "reply": lambda t, now: tickets.reply(t, now, actor=AGENT, text="hello"),
    "assign": lambda t, now: tickets.assign(t, now, actor=AGENT, assignee="agent-9"),
    "update": lambda t, now: tickets.update_fields(t, now, actor=AGENT, topic="login"),
    "hold": lambda t, now: tickets.hold(t, now, actor=AGENT, task_url="https://jira/T-1"),
    "resolve": lambda t, now: tickets.resolve(t, now, actor=AGENT, resolution="fixed"),
    "close": lambda t, now: tickets.close(t, now, actor=AGENT),
    "reopen": lambda t, now: tickets.reopen(t, now, actor=AGENT, reason="client wrote back"),
}
# The transition table, written out here (not read from the code it checks).
ALLOWED = {
    "reply": {S.NEW, S.OPEN, S.ON_HOLD},
    "assign": {S.NEW, S.OPEN, S.ON_HOLD, S.RESOLVED},
    "update": {S.NEW, S.OPEN, S.ON_HOLD, S.RESOLVED},
    "hold": {S.NEW, S.OPEN},
    "resolve": {S.NEW, S.OPEN, S.ON_HOLD},
    "close": {S.NEW, S.OPEN, S.ON_HOLD, S.RESOLVED},
    "reopen": {S.ON_HOLD, S.RESOLVED, S.CLOSED},
}
EXPECTED_STATUS = {
    "reply": None,
    "assign": None,
    "update": None,
    "hold": S.ON_HOLD,
    "resolve": S.RESOLVED,
    "close": S.CLOSED,
    "reopen": S.OPEN,
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", list(S))
def test_each_action_is_allowed_exactly_from_its_statuses(action: str, status: S) -> None:
    ticket = make_ticket(status)
    now = T0 + timedelta(minutes=5)
    if status not in ALLOWED[action]:
        with pytest.raises(InvalidTransition) as refused:
            ACTIONS[action](ticket, now)
        assert refused.value.details["status"] == status.value
        return
    change = ACTIONS[action](ticket, now)
    assert change.ticket.version == ticket.version + 1
    assert change.ticket.updated_at == now
    assert change.history[0].action == action
    assert change.history[0].actor == AGENT.user_id
    expected = EXPECTED_STATUS[action]
    if expected is not None:
        assert change.ticket.status == expected
        assert change.history[0].changes["status"] == [status.value, expected.value]


def test_first_reply_opens_the_ticket_records_first_response_and_takes_it() -> None:
    now = T0 + timedelta(minutes=12)
    change = tickets.reply(make_ticket(S.NEW), now, actor=AGENT, text="  We are looking  ")
    assert change.ticket.status == S.OPEN
    assert change.ticket.first_response_at == now
    assert change.ticket.assignee == "agent-7"
    (message,) = change.messages
    assert message.kind == MessageKind.REPLY
    assert message.text == "We are looking"
    assert message.delivery == DeliveryState.QUEUED
    assert message.recipient_id == "111222333"
    assert change.jobs == [SendMessageJob(ticket_id="D0-000042", message_id=message.id)]
    assert change.history[0].changes["status"] == ["new", "open"]


def test_a_later_reply_keeps_first_response_time_and_hold() -> None:
    first = T0 + timedelta(minutes=1)
    ticket = make_ticket(S.ON_HOLD, first_response_at=first, assignee="agent-1")
    change = tickets.reply(ticket, T0 + timedelta(hours=2), actor=AGENT, text="update")
    assert change.ticket.first_response_at == first
    assert change.ticket.status == S.ON_HOLD
    assert change.ticket.assignee == "agent-1"


def test_reply_to_a_closed_ticket_says_to_reopen_first() -> None:
    with pytest.raises(InvalidTransition, match="reopen it first"):
        tickets.reply(make_ticket(S.CLOSED), T0, actor=AGENT, text="late")


@pytest.mark.parametrize("channel", [Channel.PHONE, Channel.MANUAL])
def test_phone_and_hand_opened_tickets_have_no_written_reply(channel: Channel) -> None:
    ticket = make_ticket(S.NEW, channel)
    message = tickets.reply(ticket, T0, actor=AGENT, text="hi").messages[0]
    with pytest.raises(ChannelUnavailable, match="call the client back"):
        fit_reply(ticket, message, DirectionConfig(id="d0"), T0)


@pytest.mark.parametrize("text", ["", "   ", "x" * 4001])
def test_reply_text_must_be_present_and_fit_the_channel(text: str) -> None:
    with pytest.raises(BadRequest):
        tickets.reply(make_ticket(), T0, actor=AGENT, text=text)


def test_comment_is_internal_and_allowed_even_when_closed() -> None:
    change = tickets.comment(make_ticket(S.CLOSED), T0, actor=AGENT, text="note for devs")
    (message,) = change.messages
    assert message.kind == MessageKind.COMMENT
    assert message.delivery is None
    assert change.jobs == []
    assert change.ticket.status == S.CLOSED


def test_update_records_old_and_new_values_and_why_priority_changed() -> None:
    change = tickets.update_fields(
        make_ticket(), T0, actor=AGENT, category=Category.COMPLAINT, priority=Priority.HIGH
    )
    assert change.ticket.category == Category.COMPLAINT
    assert change.ticket.priority_reason == "set by agent-7"
    assert change.history[0].changes["category"] == [None, "complaint"]
    assert change.history[0].changes["priority"] == ["normal", "high"]


def test_update_with_nothing_to_change_is_refused() -> None:
    with pytest.raises(BadRequest, match="nothing to change"):
        tickets.update_fields(make_ticket(), T0, actor=AGENT)


def test_hold_keeps_the_external_task_and_reopen_clears_the_hold() -> None:
    held = tickets.hold(
        make_ticket(S.OPEN), T0, actor=AGENT, task_url="https://tracker/DEV-1", reason="bug"
    ).ticket
    assert held.external_task_url == "https://tracker/DEV-1"
    reopened = tickets.reopen(held, T0, actor=AGENT).ticket
    assert reopened.status == S.OPEN
    assert reopened.hold_reason is None
    assert reopened.external_task_url == "https://tracker/DEV-1"  # the link stays for history


def test_resolve_then_reopen_clears_resolution_time() -> None:
    resolved = tickets.resolve(make_ticket(S.OPEN), T0, actor=AGENT).ticket
    assert resolved.resolved_at == T0
    assert tickets.reopen(resolved, T0, actor=AGENT).ticket.resolved_at is None
