"""SLA clocks: the promises a ticket carries, in working time, and what keeps them.

A ticket has up to three clocks (`first_response`, `next_response`, `resolution`), each with
its due time and state: running, paused (on hold when the policy says so, or waiting on the
client), met, or stopped. A running clock past its warning point is warned, past its due
time breached (it keeps running until met, so a late answer is recorded as late).

`track` is the one place clocks follow a ticket: it compares the ticket before and after a
change (opened, answered, the client wrote, priority or group changed, held, waiting,
resolved, reopened) and moves the clocks; every ticket change goes through it. `attention_at`
is when the sweep must next look at the ticket (a warning, a breach, a reminder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from helpdesk.calendar import BusinessCalendar
from helpdesk.models import Clock, HistoryEntry, Status, Ticket
from helpdesk.settings import DirectionConfig, parse_duration

TargetName = Literal["first_response", "next_response", "resolution"]
TARGETS: tuple[TargetName, ...] = ("first_response", "next_response", "resolution")
ACTIVE = (Status.NEW, Status.OPEN, Status.ON_HOLD)


@dataclass(frozen=True)
class Policy:
    """The targets that apply to one ticket (its direction, priority and client group)."""

    calendar: BusinessCalendar
    targets: dict[str, timedelta]
    warn_share: float
    pause_on_hold: bool
    remind_after: timedelta
    resolve_after: timedelta


def policy_for(config: DirectionConfig, priority: str, our_client: bool) -> Policy:
    group = config.sla.our_clients if our_client else config.sla.targets
    return Policy(
        calendar=config.business_calendar(),
        targets=group[priority].durations(),  # type: ignore[index]
        warn_share=config.sla.warn_at,
        pause_on_hold=config.sla.pause_on_hold,
        remind_after=parse_duration(config.sla.remind_after, "remind_after"),
        resolve_after=parse_duration(config.sla.resolve_after, "resolve_after"),
    )


# ---- one clock ------------------------------------------------------------------------


def start(policy: Policy, name: TargetName, now: datetime) -> Clock:
    target = policy.targets[name]
    return _running(policy, target, now, target, started_at=now)


def _running(
    policy: Policy,
    target: timedelta,
    now: datetime,
    remaining: timedelta,
    started_at: datetime,
    warned_at: datetime | None = None,
    breached_at: datetime | None = None,
) -> Clock:
    due = policy.calendar.add(now, max(remaining, timedelta(0)))
    to_warning = remaining - target * (1 - policy.warn_share)
    warn_at = None if warned_at else policy.calendar.add(now, max(to_warning, timedelta(0)))
    return Clock(
        state="running",
        target_seconds=int(target.total_seconds()),
        started_at=started_at,
        due=due,
        warn_at=warn_at,
        warned_at=warned_at,
        breached_at=breached_at,
    )


def remaining(policy: Policy, clock: Clock, now: datetime) -> timedelta:
    if clock.state == "paused":
        return timedelta(seconds=clock.remaining_seconds or 0)
    if clock.due is None:
        return timedelta(0)
    return policy.calendar.between(now, clock.due)


def pause(policy: Policy, clock: Clock, now: datetime) -> Clock:
    if clock.state != "running":
        return clock
    left = max(remaining(policy, clock, now), timedelta(0))
    return clock.model_copy(
        update={
            "state": "paused",
            "due": None,
            "warn_at": None,
            "remaining_seconds": int(left.total_seconds()),
        }
    )


def resume(policy: Policy, clock: Clock, now: datetime) -> Clock:
    if clock.state != "paused":
        return clock
    target = timedelta(seconds=clock.target_seconds)
    left = timedelta(seconds=clock.remaining_seconds or 0)
    return _running(policy, target, now, left, clock.started_at, clock.warned_at, clock.breached_at)


def retarget(policy: Policy, name: TargetName, clock: Clock, now: datetime) -> Clock:
    """The same clock under new targets: the working time already spent still counts."""
    if clock.state not in ("running", "paused"):
        return clock
    old = timedelta(seconds=clock.target_seconds)
    new = policy.targets[name]
    left = new - (old - remaining(policy, clock, now))
    updated = _running(policy, new, now, left, clock.started_at, clock.warned_at, clock.breached_at)
    if clock.state == "paused":
        return pause(policy, updated, now)
    return updated


def meet(clock: Clock, now: datetime, state: Literal["met", "stopped"] = "met") -> Clock:
    if clock.state not in ("running", "paused"):
        return clock
    return clock.model_copy(update={"state": state, "met_at": now, "due": None, "warn_at": None})


# ---- a ticket's clocks ------------------------------------------------------------------


def track(
    before: Ticket | None, after: Ticket, config: DirectionConfig, now: datetime
) -> tuple[Ticket, list[HistoryEntry]]:
    """Move the ticket's clocks for the change from `before` to `after` (see module doc)."""
    policy = policy_for(config, after.priority.value, after.our_client)
    clocks = dict(after.sla)
    notes: list[str] = []
    if before is None:
        # A missed call's promise is its callback (the missed-call engine keeps it).
        opening: tuple[TargetName, ...] = (
            ("resolution",) if after.callback else ("first_response", "resolution")
        )
        clocks = {name: start(policy, name, now) for name in opening}
        if after.first_response_at:  # an answered or outbound call: answered as it opened
            _meet(clocks, "first_response", after.first_response_at)
        if after.status in (Status.RESOLVED, Status.CLOSED):  # a call that ended as it opened
            for name in list(clocks):
                clocks[name] = meet(clocks[name], now, "stopped")
    else:
        if after.callback and not before.callback and "first_response" in clocks:
            clocks["first_response"] = meet(clocks["first_response"], now, "stopped")
        if (before.priority, before.our_client) != (after.priority, after.our_client):
            for name, clock in clocks.items():
                clocks[name] = retarget(policy, name, clock, now)  # type: ignore[arg-type]
            notes.append(_why_retargeted(before, after))
        if after.first_response_at and not before.first_response_at:
            _meet(clocks, "first_response", after.first_response_at)
        answered = (
            after.last_agent_reply_at and after.last_agent_reply_at != before.last_agent_reply_at
        )
        if answered:
            _meet(clocks, "first_response", now)
            _meet(clocks, "next_response", now)
        wrote = after.last_customer_message_at != before.last_customer_message_at
        if wrote and after.status in ACTIVE and not answered:
            waiting_for_us = clocks.get("next_response")
            if after.first_response_at and (
                waiting_for_us is None or waiting_for_us.state not in ("running", "paused")
            ):
                clocks["next_response"] = start(policy, "next_response", now)
        _follow_status(before, after, policy, clocks, now)
    sla_ticket = after.model_copy(update={"sla": clocks})
    ticket = sla_ticket.model_copy(update={"attention_at": attention_at(sla_ticket, policy)})
    history = [
        HistoryEntry(ticket_id=after.id, at=now, actor="system", action="sla", note=note)
        for note in notes
    ]
    return ticket, history


def _follow_status(
    before: Ticket, after: Ticket, policy: Policy, clocks: dict[str, Clock], now: datetime
) -> None:
    resolution = clocks.get("resolution")
    if after.status in (Status.RESOLVED, Status.CLOSED) and before.status in ACTIVE:
        _meet(clocks, "resolution", now)
        for name in ("first_response", "next_response"):
            if name in clocks:
                clocks[name] = meet(clocks[name], now, "stopped")
        return
    if before.status in (Status.RESOLVED, Status.CLOSED) and after.status in ACTIVE:
        clocks["resolution"] = start(policy, "resolution", now)  # a reopened problem
        return
    if resolution is None:
        return
    paused_before = _pauses(before, policy)
    paused_after = _pauses(after, policy)
    if paused_after and not paused_before:
        clocks["resolution"] = pause(policy, resolution, now)
        if "next_response" in clocks:
            clocks["next_response"] = meet(clocks["next_response"], now, "stopped")
    elif paused_before and not paused_after:
        clocks["resolution"] = resume(policy, resolution, now)


def _pauses(ticket: Ticket, policy: Policy) -> bool:
    """Waiting on the client always pauses resolution; a hold only if the policy says so."""
    return ticket.waiting_on_client or (policy.pause_on_hold and ticket.status == Status.ON_HOLD)


def _meet(clocks: dict[str, Clock], name: str, at: datetime) -> None:
    if name in clocks:
        clocks[name] = meet(clocks[name], at)


def _why_retargeted(before: Ticket, after: Ticket) -> str:
    if before.priority != after.priority:
        reason = f"priority {before.priority.value} -> {after.priority.value}"
        if after.priority_reason:
            reason += f" ({after.priority_reason})"
    else:
        reason = "the client joined 'our clients'" if after.our_client else "client group changed"
    return f"SLA targets re-applied: {reason}"


def attention_at(ticket: Ticket, policy: Policy) -> datetime | None:
    """When the sweep must look at this ticket next; None when nothing is pending."""
    moments: list[datetime] = []
    for clock in ticket.sla.values():
        if clock.state != "running":
            continue
        if clock.warn_at and not clock.warned_at:
            moments.append(clock.warn_at)
        elif clock.due and not clock.breached_at:
            moments.append(clock.due)
    if ticket.waiting_on_client and ticket.waiting_since and ticket.status in ACTIVE:
        if ticket.reminded_at is None:
            moments.append(ticket.waiting_since + policy.remind_after)
        else:
            moments.append(ticket.reminded_at + policy.resolve_after)
    return min(moments) if moments else None


@dataclass(frozen=True)
class Lapse:
    """A promise the sweep found at risk or broken: a warning or a breach of one clock."""

    target: TargetName
    kind: Literal["warned", "breached"]
    due: datetime


def lapses(ticket: Ticket, now: datetime) -> tuple[dict[str, Clock], list[Lapse]]:
    """The clocks with every warning and breach that `now` has reached marked, once each."""
    clocks = dict(ticket.sla)
    found: list[Lapse] = []
    for name in TARGETS:
        clock = clocks.get(name)
        if clock is None or clock.state != "running" or clock.due is None:
            continue
        due = clock.due
        if clock.due <= now and clock.breached_at is None:
            clock = clock.model_copy(
                update={"breached_at": now, "warned_at": clock.warned_at or now, "warn_at": None}
            )
            found.append(Lapse(name, "breached", due))
        elif clock.warn_at and clock.warn_at <= now and clock.warned_at is None:
            clock = clock.model_copy(update={"warned_at": now, "warn_at": None})
            found.append(Lapse(name, "warned", due))
        clocks[name] = clock
    return clocks, found


def response_due(ticket: Ticket) -> datetime | None:
    """When the client must next hear from us (the queue's deadline order), if they wait."""
    dues = [
        clock.due
        for name in ("first_response", "next_response")
        if (clock := ticket.sla.get(name)) and clock.state == "running" and clock.due
    ]
    return min(dues) if dues else None


def due_text(moment: datetime, config: DirectionConfig) -> str:
    """A deadline as the client reads it: '10:00, понедельник, 30 ноября' in their zone."""
    from babel.dates import format_datetime

    return str(
        format_datetime(
            moment,
            "HH:mm, EEEE, d MMMM",
            tzinfo=config.business_calendar().tz,
            locale=config.language,
        )
    )
