"""Report counters: which counters a ticket change moves, and how reports are read back.

Pure. The change funnel (`usecases.changes.ticket_writes`) compares the ticket before and after
every change and asks `moves` which per-day counters it moves; the store adds them in the
change's own transaction, so a redelivered event (refused by its dedupe record or the ticket's
version) never counts twice. Reports sum those counters over a range of days and never read a
ticket.

Two kinds of day:
- the ticket's *opening day* (its cohort, in the direction's time zone): what was opened, in
  which channel, at which hour, its current topic and category (a recategorised ticket moves
  from one counter to the other on its opening day), whether it ever went overdue, and for
  calls: missed, answered, problem, the missed call's outcome, the reviewer's verdict;
- the *day of the event*: first responses and resolutions with their durations in working time
  (fixed-bucket histograms, so a median or p90 needs no ticket), reopenings, breaches, ratings,
  and each agent's replies, first responses, resolutions and ratings.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from helpdesk.calendar import BusinessCalendar
from helpdesk.calls import MISSED_FLAG, PROBLEM_FLAG
from helpdesk.kb import GAP_FLAG
from helpdesk.models import Category, Message, MessageKind, Status, Ticket

Kind = Literal["open", "times", "calls", "agent", "cost"]
KINDS: tuple[Kind, ...] = ("open", "times", "calls", "agent", "cost")
MONTHLY = ("cost#", "usage#", "charges#")  # counters the finance report shows per month
ACTIVE = (Status.NEW, Status.OPEN, Status.ON_HOLD)
DONE = (Status.RESOLVED, Status.CLOSED)
MAX_TOPIC = 64  # a topic's counter name keeps this much of it

# Upper edges (seconds of working time) of the duration buckets; the last bucket is open.
BUCKET_EDGES: tuple[int, ...] = tuple(
    int(minutes * 60)
    for minutes in (5, 15, 30, 60, 120, 240, 480, 960, 1440, 2400, 4800, 9600, 19200)
)
STAR_POINTS = {"good": 5, "bad": 1, **{str(n): n for n in range(1, 6)}}
GOOD = frozenset({"good", "4", "5"})
Z_95 = 1.959964  # Wilson lower bound at 95 %


@dataclass(frozen=True)
class Move:
    """Add `delta` to counter `name` of the `kind` item of `day` (and `agent`'s, for agents)."""

    kind: Kind
    day: date
    name: str
    delta: int = 1
    agent: str | None = None


def bucket(seconds: float) -> int:
    """The histogram bucket of a duration: the first edge it does not pass."""
    for index, edge in enumerate(BUCKET_EDGES):
        if seconds <= edge:
            return index
    return len(BUCKET_EDGES)


def bucket_upper(index: int) -> int | None:
    """A bucket's upper edge in seconds; None for the open last one."""
    return BUCKET_EDGES[index] if index < len(BUCKET_EDGES) else None


def percentile(histogram: Mapping[int, int], share: float) -> int | None:
    """The nearest-rank percentile of a histogram, as the upper edge of its bucket (the
    answer is "at most this"); the open last bucket answers its lower edge; None if empty."""
    total = sum(count for count in histogram.values() if count > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for index in sorted(histogram):
        seen += max(0, histogram[index])
        if seen >= rank:
            upper = bucket_upper(index)
            return upper if upper is not None else BUCKET_EDGES[-1]
    return BUCKET_EDGES[-1]


def wilson_lower(good: int, total: int, z: float = Z_95) -> float:
    """The Wilson score interval's lower bound of a share: few ratings rank low, not first."""
    if total <= 0:
        return 0.0
    p = good / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denominator)  # 0 good: 0, not a rounding -1e-18


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def local_hour(moment: datetime, zone: str) -> int:
    return moment.astimezone(ZoneInfo(zone)).hour


def topic_name(topic: str) -> str:
    return topic.strip().lower()[:MAX_TOPIC]


def _value(value: Category | str | None) -> str:
    """A category's or topic's counter name part; 'none' while it is not set."""
    if isinstance(value, Category):
        return value.value
    return topic_name(value) if value and value.strip() else "none"


def _breached(ticket: Ticket | None) -> set[str]:
    if ticket is None:
        return set()
    return {name for name, clock in ticket.sla.items() if clock.breached_at is not None}


def _flag(ticket: Ticket | None, flag: str) -> bool:
    return ticket is not None and flag in ticket.flags


def _outcome(ticket: Ticket | None) -> str | None:
    return str((ticket.callback or {}).get("outcome") or "") or None if ticket else None


def _verdict(ticket: Ticket | None) -> str | None:
    return str((ticket.call_review or {}).get("verdict") or "") or None if ticket else None


def _answered(ticket: Ticket | None) -> bool:
    return bool(ticket and (ticket.call or {}).get("answered_at"))


def moves(
    before: Ticket | None,
    after: Ticket,
    messages: Sequence[Message],
    calendar: BusinessCalendar,
    now: datetime,
) -> list[Move]:
    """The counters one ticket change moves (`before` None: the ticket opens)."""
    zone = calendar.zone
    opening = local_day(after.created_at, zone)
    today = local_day(now, zone)
    found: list[Move] = []

    def cohort(name: str, delta: int = 1, kind: Kind = "open") -> None:
        found.append(Move(kind, opening, name, delta))

    def activity(name: str, delta: int = 1) -> None:
        found.append(Move("times", today, name, delta))

    def agent(who: str | None, name: str, delta: int = 1) -> None:
        found.append(Move("agent", today, name, delta, who or "unassigned"))

    # Opened, and what it is about (a change of topic or category moves it on its opening day).
    if before is None:
        cohort("opened")
        cohort(f"opened#channel#{after.channel.value}")
        cohort(f"opened#hour#{local_hour(after.created_at, zone)}")
    for attribute, prefix in (("category", "opened#category#"), ("topic", "opened#topic#")):
        old = _value(getattr(before, attribute)) if before else None
        new = _value(getattr(after, attribute))
        if before is not None and old == new:
            continue
        if before is not None:
            cohort(f"{prefix}{old}", -1)
        cohort(f"{prefix}{new}")
    if not _breached(before) and _breached(after):
        cohort("overdue")

    # Calls, on the day the call came.
    for flag, name in ((MISSED_FLAG, "calls#missed"), (PROBLEM_FLAG, "calls#problem")):
        if _flag(before, flag) != _flag(after, flag):
            cohort(name, 1 if _flag(after, flag) else -1, "calls")
    if _answered(after) and not _answered(before):
        cohort("calls#answered", 1, "calls")
    for read, prefix in ((_outcome, "calls#outcome#"), (_verdict, "calls#verdict#")):
        old_value, new_value = read(before), read(after)
        if old_value != new_value:
            if old_value:
                cohort(f"{prefix}{old_value}", -1, "calls")
            if new_value:
                cohort(f"{prefix}{new_value}", 1, "calls")

    # What happened today: answers, resolutions, reopenings, breaches, ratings.
    if after.first_response_at and not (before and before.first_response_at):
        seconds = calendar.between(after.created_at, after.first_response_at).total_seconds()
        activity("frt#count")
        activity(f"frt#bucket#{bucket(max(0.0, seconds))}")
        agent(after.assignee, "first_responses")
    was_active = before is None or before.status in ACTIVE
    if after.status == Status.RESOLVED and was_active:
        resolved_at = after.resolved_at or now
        seconds = calendar.between(after.created_at, resolved_at).total_seconds()
        activity("resolved")
        activity(f"res#bucket#{bucket(max(0.0, seconds))}")
        agent(after.assignee, "resolved")
    if before is not None and before.status in DONE and after.status in ACTIVE:
        activity("reopened")
    if _flag(after, GAP_FLAG) and not _flag(before, GAP_FLAG):
        activity("kb_gaps")  # resolved with "no article covered this"
    for name in sorted(_breached(after) - _breached(before)):
        activity(f"breached#{name}")
    if after.csat and not (before and before.csat):
        value = str(after.csat.get("value"))
        for name, delta in (
            ("csat#count", 1),
            ("csat#good", 1 if value in GOOD else 0),
            ("csat#points", STAR_POINTS.get(value, 0)),
        ):
            if delta:
                activity(name, delta)
                agent(after.assignee, name, delta)
    for message in messages:
        if message.kind == MessageKind.REPLY:
            activity("replies")
            agent(message.author, "replies")
    return found


def grouped(found: Iterable[Move]) -> dict[tuple[Kind, date, str | None], dict[str, int]]:
    """Moves summed per item (kind, day, agent), zero sums left out: one update per item."""
    items: dict[tuple[Kind, date, str | None], dict[str, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    for move in found:
        items[(move.kind, move.day, move.agent)][move.name] += move.delta
    return {
        key: {name: delta for name, delta in counters.items() if delta}
        for key, counters in items.items()
        if any(counters.values())
    }


def is_complaint(ticket: Ticket | None) -> bool:
    return ticket is not None and ticket.category == Category.COMPLAINT


# ---- reading back ---------------------------------------------------------------------------


@dataclass
class Totals:
    """Counters of one direction summed over a range: per kind, and per agent."""

    direction: str
    days: int
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    agents: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    by_day: dict[date, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    by_month: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def add(self, kind: str, day: date, agent: str | None, counters: Mapping[str, Any]) -> None:
        for name, value in counters.items():
            amount = int(value)
            if kind == "agent" and agent is not None:
                self.agents[agent][name] += amount
                continue
            self.counters[name] += amount
            if name.startswith("opened#hour#"):
                self.by_day[day][name] += amount
            if name.startswith(MONTHLY) or name == "resolved":
                self.by_month[day.strftime("%Y-%m")][name] += amount

    def get(self, name: str) -> int:
        return int(self.counters.get(name, 0))

    def with_prefix(self, prefix: str) -> dict[str, int]:
        return {
            name.removeprefix(prefix): int(value)
            for name, value in self.counters.items()
            if name.startswith(prefix) and value
        }

    def histogram(self, prefix: str) -> dict[int, int]:
        return {int(index): count for index, count in self.with_prefix(prefix).items()}


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


# ---- the reports ---------------------------------------------------------------------------

REPORT_NAMES = (
    "topics",
    "categories",
    "heatmap",
    "channels",
    "load",
    "times",
    "overdue",
    "csat",
    "callbacks",
    "problem_calls",
    "costs",
)
FINANCE_ONLY = ("costs",)  # reports of money: the finance role only
CHANNELS = ("telegram", "whatsapp", "phone", "manual", "sandbox")
OUTCOMES = ("contacted_elsewhere", "called_back", "unreachable", "escalated")
CLOSING_OUTCOMES = ("contacted_elsewhere", "called_back", "unreachable")
VERDICTS = ("ok", "coaching", "escalate")
CLOCKS = ("first_response", "next_response", "resolution")


@dataclass(frozen=True)
class Staff:
    """One direction's staffing as the load and CSAT reports need it."""

    hours_per_week: dict[str, float]  # agent -> hours
    teams: dict[str, str]  # agent -> team


@dataclass(frozen=True)
class AwsEstimate:
    """Prices the cost report's estimate of the helpdesk's own AWS usage."""

    currency: str
    minor: Callable[[int, int], int]  # (events, write units) -> minor units


@dataclass
class ReportTable:
    """A report: named columns and rows of plain values (JSON and CSV alike)."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: dict[str, Any] = field(default_factory=dict)


def percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def build(
    name: str,
    totals: Sequence[Totals],
    staff: Mapping[str, Staff],
    days: Sequence[date],
    min_ratings: int,
    aws: AwsEstimate | None = None,
) -> ReportTable:
    """The named report over the directions' summed counters."""
    builders = {
        "topics": lambda: _shares(totals, "topic", "opened#topic#", ()),
        "categories": lambda: _shares(
            totals, "category", "opened#category#", tuple(c.value for c in Category)
        ),
        "channels": lambda: _shares(totals, "channel", "opened#channel#", CHANNELS),
        "heatmap": lambda: _heatmap(totals, days),
        "load": lambda: _load(totals, staff, len(days)),
        "times": lambda: _times(totals),
        "overdue": lambda: _overdue(totals),
        "csat": lambda: _csat(totals, staff, min_ratings),
        "callbacks": lambda: _callbacks(totals),
        "problem_calls": lambda: _problem_calls(totals),
        "costs": lambda: _costs(totals, aws),
    }
    return builders[name]()


def _shares(
    totals: Sequence[Totals], column: str, prefix: str, always: tuple[str, ...]
) -> ReportTable:
    """Tickets opened per value of one dimension, each as a share of all contacts; values in
    `always` are shown even at zero (a complaint share of 0 % is shown, never hidden)."""
    rows: list[dict[str, Any]] = []
    for total in totals:
        opened = total.get("opened")
        counts = total.with_prefix(prefix)
        for value in always:
            counts.setdefault(value, 0)
        for value, count in sorted(counts.items(), key=lambda entry: (-entry[1], entry[0])):
            rows.append(
                {
                    "direction": total.direction,
                    column: value,
                    "tickets": count,
                    "share_percent": percent(count, opened),
                }
            )
    notes: dict[str, Any] = {"opened": {total.direction: total.get("opened") for total in totals}}
    if column == "category":
        complaints = sum(total.get("opened#category#complaint") for total in totals)
        notes["complaint_share_percent"] = percent(
            complaints, sum(total.get("opened") for total in totals)
        )
    return ReportTable(column, ["direction", column, "tickets", "share_percent"], rows, notes)


def _heatmap(totals: Sequence[Totals], days: Sequence[date]) -> ReportTable:
    hours = [f"{hour:02d}" for hour in range(24)]
    rows = []
    for total in totals:
        for day in days:
            counts = total.by_day.get(day, {})
            row: dict[str, Any] = {
                "direction": total.direction,
                "date": day.isoformat(),
                "weekday": day.strftime("%a").lower(),
            }
            for hour in range(24):
                row[f"{hour:02d}"] = int(counts.get(f"opened#hour#{hour}", 0))
            row["total"] = sum(row[h] for h in hours)
            rows.append(row)
    return ReportTable("heatmap", ["direction", "date", "weekday", *hours, "total"], rows)


def _load(totals: Sequence[Totals], staff: Mapping[str, Staff], days: int) -> ReportTable:
    """Tickets opened per staffed hour per direction, replies per staffed hour per agent; a
    direction under half the mean load of the staffed ones is marked underloaded."""
    weeks = days / 7
    rows: list[dict[str, Any]] = []
    loads: dict[str, float] = {}
    for total in totals:
        hours = sum(staff[total.direction].hours_per_week.values()) * weeks
        if hours:
            loads[total.direction] = total.get("opened") / hours
    mean = sum(loads.values()) / len(loads) if loads else 0.0
    for total in totals:
        people = staff[total.direction]
        hours = sum(people.hours_per_week.values()) * weeks
        load = loads.get(total.direction)
        rows.append(
            {
                "scope": "direction",
                "direction": total.direction,
                "agent": None,
                "team": None,
                "opened": total.get("opened"),
                "replies": total.get("replies"),
                "resolved": total.get("resolved"),
                "staffed_hours": round(hours, 1),
                "per_staffed_hour": round(load, 3) if load is not None else None,
                "underloaded": load is not None and mean > 0 and load < mean / 2,
            }
        )
        for agent in sorted(set(people.hours_per_week) | set(total.agents)):
            counters = total.agents.get(agent, {})
            agent_hours = people.hours_per_week.get(agent, 0) * weeks
            replies = int(counters.get("replies", 0))
            rows.append(
                {
                    "scope": "agent",
                    "direction": total.direction,
                    "agent": agent,
                    "team": people.teams.get(agent),
                    "opened": None,
                    "replies": replies,
                    "resolved": int(counters.get("resolved", 0)),
                    "staffed_hours": round(agent_hours, 1),
                    "per_staffed_hour": round(replies / agent_hours, 3) if agent_hours else None,
                    "underloaded": None,
                }
            )
    columns = [
        "scope",
        "direction",
        "agent",
        "team",
        "opened",
        "replies",
        "resolved",
        "staffed_hours",
        "per_staffed_hour",
        "underloaded",
    ]
    return ReportTable("load", columns, rows, {"mean_per_staffed_hour": round(mean, 3)})


def _times(totals: Sequence[Totals]) -> ReportTable:
    rows = []
    for total in totals:
        first, resolution = total.histogram("frt#bucket#"), total.histogram("res#bucket#")
        rows.append(
            {
                "direction": total.direction,
                "first_responses": total.get("frt#count"),
                "frt_median_seconds": percentile(first, 0.5),
                "frt_p90_seconds": percentile(first, 0.9),
                "resolved": total.get("resolved"),
                "resolution_median_seconds": percentile(resolution, 0.5),
                "resolution_p90_seconds": percentile(resolution, 0.9),
                "reopened": total.get("reopened"),
                "no_article": total.get("kb_gaps"),
            }
        )
    notes = {
        "working_time": "durations in the direction's working time, from opening",
        "bucket_edges_seconds": list(BUCKET_EDGES),
        "percentiles": "nearest rank, answered as the upper edge of its histogram bucket",
    }
    return ReportTable("times", list(rows[0]) if rows else [], rows, notes)


def _overdue(totals: Sequence[Totals]) -> ReportTable:
    rows = []
    for total in totals:
        row: dict[str, Any] = {
            "direction": total.direction,
            "opened": total.get("opened"),
            "overdue": total.get("overdue"),
            "overdue_percent": percent(total.get("overdue"), total.get("opened")),
        }
        for clock in CLOCKS:
            row[f"breached_{clock}"] = total.get(f"breached#{clock}")
        rows.append(row)
    columns = ["direction", "opened", "overdue", "overdue_percent"]
    return ReportTable("overdue", [*columns, *(f"breached_{c}" for c in CLOCKS)], rows)


def _csat_row(scope: str, direction: str, name: str, counters: Mapping[str, int]) -> dict[str, Any]:
    count, good = int(counters.get("csat#count", 0)), int(counters.get("csat#good", 0))
    points = int(counters.get("csat#points", 0))
    return {
        "scope": scope,
        "direction": direction,
        "name": name,
        "ratings": count,
        "good": good,
        "share_good_percent": percent(good, count),
        "average": round(points / count, 2) if count else None,
        "wilson_lower": round(wilson_lower(good, count), 4),
        "rank": None,
    }


def _csat(totals: Sequence[Totals], staff: Mapping[str, Staff], min_ratings: int) -> ReportTable:
    """CSAT per direction, team and agent; within each scope those with at least
    `min_ratings` ratings are ranked by the Wilson lower bound of their share of good."""
    rows: list[dict[str, Any]] = []
    for total in totals:
        rows.append(_csat_row("direction", total.direction, total.direction, total.counters))
        teams: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for agent, counters in total.agents.items():
            if not counters.get("csat#count"):
                continue
            rows.append(_csat_row("agent", total.direction, agent, counters))
            team = staff[total.direction].teams.get(agent, "unstaffed")
            for name, value in counters.items():
                teams[team][name] += value
        for team, counters in sorted(teams.items()):
            rows.append(_csat_row("team", total.direction, team, counters))
    for scope in ("direction", "team", "agent"):
        ranked = [row for row in rows if row["scope"] == scope and row["ratings"] >= min_ratings]
        ranked.sort(key=lambda row: (-row["wilson_lower"], -row["ratings"], row["name"]))
        for place, row in enumerate(ranked, start=1):
            row["rank"] = place
    order = {"direction": 0, "team": 1, "agent": 2}
    rows.sort(key=lambda row: (order[row["scope"]], row["rank"] or 10**9, row["name"]))
    columns = [
        "scope",
        "direction",
        "name",
        "ratings",
        "good",
        "share_good_percent",
        "average",
        "wilson_lower",
        "rank",
    ]
    notes = {
        "min_ratings": min_ratings,
        "ranking": "Wilson lower bound (95 %) of the share of good ratings",
        "average": "1-5: stars as given, good 5, bad 1",
    }
    return ReportTable("csat", columns, rows, notes)


def _callbacks(totals: Sequence[Totals]) -> ReportTable:
    rows = []
    for total in totals:
        missed = total.get("calls#missed")
        outcomes = {o: total.get(f"calls#outcome#{o}") for o in OUTCOMES}
        closed = sum(outcomes[o] for o in CLOSING_OUTCOMES)
        row: dict[str, Any] = {"direction": total.direction, "missed": missed}
        for outcome, count in outcomes.items():
            row[outcome] = count
            row[f"{outcome}_percent"] = percent(count, missed)
        row["waiting"] = max(0, missed - closed - outcomes["escalated"])
        row["closed"] = closed
        row["closure_percent"] = percent(closed, missed)
        rows.append(row)
    return ReportTable("callbacks", list(rows[0]) if rows else [], rows)


def _problem_calls(totals: Sequence[Totals]) -> ReportTable:
    rows = []
    for total in totals:
        verdicts = {v: total.get(f"calls#verdict#{v}") for v in VERDICTS}
        problem = total.get("calls#problem")
        row: dict[str, Any] = {
            "direction": total.direction,
            "answered_calls": total.get("calls#answered"),
            "missed_calls": total.get("calls#missed"),
            "problem_calls": problem,
        }
        row.update({f"verdict_{verdict}": count for verdict, count in verdicts.items()})
        row["reviewed"] = sum(verdicts.values())
        rows.append(row)
    return ReportTable("problem_calls", list(rows[0]) if rows else [], rows)


COST_COLUMNS = [
    "direction",
    "month",
    "channel",
    "charges",
    "quantity",
    "unit",
    "amount_minor",
    "currency",
    "resolved",
    "cost_per_resolved_minor",
]


def _costs(totals: Sequence[Totals], aws: AwsEstimate | None) -> ReportTable:
    """Usage cost per direction, month and channel in minor units; each direction's month
    closes with a total row (channel `all`) and its cost per resolved ticket per currency.
    Channel `aws` is the estimate of the helpdesk's own AWS usage (`aws` prices them)."""
    rows: list[dict[str, Any]] = []
    for total in totals:
        for month, counters in sorted(total.by_month.items()):
            month_total: dict[str, int] = defaultdict(int)
            for name, amount in sorted(counters.items()):
                if not name.startswith("cost#") or not amount:
                    continue
                _, channel, currency = name.split("#", 2)
                unit, quantity = next(
                    (
                        (key.split("#", 2)[2], value)
                        for key, value in counters.items()
                        if key.startswith(f"usage#{channel}#")
                    ),
                    ("", 0),
                )
                rows.append(
                    {
                        "direction": total.direction,
                        "month": month,
                        "channel": channel,
                        "charges": int(counters.get(f"charges#{channel}", 0)),
                        "quantity": quantity,
                        "unit": unit,
                        "amount_minor": amount,
                        "currency": currency,
                        "resolved": None,
                        "cost_per_resolved_minor": None,
                    }
                )
                month_total[currency] += amount
            events = int(counters.get("usage#aws#events", 0))
            if aws is not None and events:
                units = int(counters.get("usage#aws#write_units", 0))
                amount = aws.minor(events, units)
                rows.append(
                    {
                        "direction": total.direction,
                        "month": month,
                        "channel": "aws",
                        "charges": events,
                        "quantity": units,
                        "unit": "write_unit",
                        "amount_minor": amount,
                        "currency": aws.currency,
                        "resolved": None,
                        "cost_per_resolved_minor": None,
                    }
                )
                month_total[aws.currency] += amount
            resolved = int(counters.get("resolved", 0))
            for currency, amount in sorted(month_total.items()):
                rows.append(
                    {
                        "direction": total.direction,
                        "month": month,
                        "channel": "all",
                        "charges": None,
                        "quantity": None,
                        "unit": None,
                        "amount_minor": amount,
                        "currency": currency,
                        "resolved": resolved,
                        "cost_per_resolved_minor": round(amount / resolved) if resolved else None,
                    }
                )
    notes = {"money": "integer minor units of the currency (kopecks, cents)"}
    return ReportTable("costs", COST_COLUMNS, rows, notes)
