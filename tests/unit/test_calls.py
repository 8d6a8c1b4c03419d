"""The call merge: the same set of notifications gives the same call, in any order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from helpdesk.calls import apply_call, merge, problem_call_notice
from helpdesk.models import Channel, Status, Ticket
from helpdesk.settings import DirectionConfig
from helpdesk.telephony.base import CallEvent

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def event(kind: str, seconds: int, **values: object) -> CallEvent:
    return CallEvent(
        provider="generic",
        call_id="c1",
        event_id=f"generic:c1:{kind}:{seconds}",
        kind=kind,  # type: ignore[arg-type]
        at=T0 + timedelta(seconds=seconds),
        from_number="+79161234567",
        to_number="+74951234567",
        **values,  # type: ignore[arg-type]
    )


ANSWERED = [
    event("started", 0),
    event("ringing", 1, agent="101"),
    event("answered", 9, agent="101", answered=True),
    event("ended", 400, status="completed", answered=True, duration_seconds=391),
    event("recording", 410, recording_url="https://pbx/rec/1.mp3"),
]


def fold(events: list[CallEvent]):  # type: ignore[no-untyped-def]
    state = None
    for item in events:
        state = merge(state, item)
    return state


def test_every_order_gives_the_same_call() -> None:
    states = {fold(list(order)) for order in itertools.permutations(ANSWERED)}
    assert len(states) == 1
    (state,) = states
    assert state.started_at == T0
    assert state.answered_at == T0 + timedelta(seconds=9)
    assert state.status == "completed"
    assert state.agent == "101"
    assert state.talk_seconds == 391
    assert state.recording_url == "https://pbx/rec/1.mp3"
    assert not state.missed


def test_duplicates_are_no_ops() -> None:
    assert fold(ANSWERED + ANSWERED) == fold(ANSWERED)


def test_unanswered_inbound_call_is_missed_and_meant_for_the_rung_agent() -> None:
    state = fold([event("ringing", 1, agent="102"), event("ended", 30, status="no-answer")])
    assert state.missed
    assert state.meant_for == "102"


def test_an_answered_end_outranks_a_missed_leg_in_either_order() -> None:
    legs = [event("ended", 30, status="no-answer"), event("ended", 31, status="completed")]
    assert fold(legs).status == fold(list(reversed(legs))).status == "completed"


def test_ticket_takes_flags_and_assignee_from_the_call_but_keeps_agent_decisions() -> None:
    ticket = Ticket(
        id="D1-000001",
        direction="d1",
        channel=Channel.PHONE,
        customer_id="c",
        created_at=T0,
        updated_at=T0,
    )
    config = DirectionConfig(id="d1", problem_call_seconds=300)
    updated = apply_call(ticket, fold(ANSWERED), config)
    assert "problem_call" in updated.flags
    assert updated.assignee == "101"
    assert updated.status == Status.OPEN
    resolved = updated.model_copy(update={"status": Status.RESOLVED, "assignee": "lead-1"})
    again = apply_call(resolved, fold(ANSWERED), config)
    assert (again.status, again.assignee) == (Status.RESOLVED, "lead-1")
    subject, text = problem_call_notice(updated)
    assert "D1-000001" in subject
    assert "6:31" in text and "https://pbx/rec/1.mp3" in text and "101" in text
