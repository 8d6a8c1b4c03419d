"""Reports for leads and finance: a range of days, one direction or all, from counters only.

A report reads the counters items of its range (`store.reports`), sums them per direction
(`reports.Totals`) and builds the named table (`reports.build`); it never reads a ticket, so
a 30-day report reads the same items whatever the table holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from helpdesk import costs, reports
from helpdesk.errors import BadRequest, Forbidden, NotFound
from helpdesk.models import Actor, iso, utc_now
from helpdesk.reports import ReportTable, Staff, Totals
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Range:
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return reports.days_between(self.start, self.end)


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{name} must be a date like 2026-11-30, not {text!r}", field=name
        ) from None


@dataclass
class ReportDesk:
    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def range(self, start: str | None, end: str | None) -> Range:
        """`from`..`to` inclusive; by default the last 30 days to today (UTC)."""
        last = parse_day(end, "to") if end else self.clock().date()
        first = parse_day(start, "from") if start else last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise BadRequest(
                f"from ({first}) is after to ({last}): give the earlier date first",
                field="from",
            )
        longest = self.settings().config.reports.max_days
        if (last - first).days + 1 > longest:
            raise BadRequest(
                f"the range holds {(last - first).days + 1} days; at most {longest} a request",
                field="to",
                max_days=longest,
            )
        return Range(first, last)

    def directions(self, direction: str | None) -> list[str]:
        settings = self.settings()
        if direction is None:
            return settings.direction_ids()
        if not settings.has_direction(direction):
            raise NotFound(
                f"direction {direction!r} is not configured",
                field="direction",
                directions=settings.direction_ids(),
            )
        return [direction]

    def totals(self, direction: str, span: Range) -> Totals:
        total = Totals(direction, len(span.days))
        for item in self.store.reports.counters(direction, span.start, span.end):
            total.add(
                item.kind, item.day, item.owner if item.kind == "agent" else None, item.counters
            )
        return total

    def report(
        self,
        name: str,
        start: str | None,
        end: str | None,
        direction: str | None,
        actor: Actor | None = None,
    ) -> tuple[ReportTable, Range, list[str]]:
        if name not in reports.REPORT_NAMES:
            raise NotFound(
                f"no report {name!r}",
                report=name,
                reports=[*reports.REPORT_NAMES, "complaints", "ledger"],
            )
        if name in reports.FINANCE_ONLY and actor is not None and not actor.has_any("finance"):
            raise Forbidden(f"the {name} report is for the finance role", roles=["finance"])
        span = self.range(start, end)
        chosen = self.directions(direction)
        settings = self.settings()
        staff = {d: _staff(settings, d) for d in chosen}
        totals = [self.totals(d, span) for d in chosen]
        prices = settings.config.aws_prices
        aws = reports.AwsEstimate(
            prices.currency, lambda events, units: costs.aws_cost_minor(events, units, prices)
        )
        table = reports.build(
            name, totals, staff, span.days, settings.config.reports.min_ratings, aws
        )
        return table, span, chosen

    def complaints(self, direction: str | None, limit: int | None) -> list[dict[str, Any]]:
        """The newest complaints (with their texts), newest first, of one direction or all."""
        most = limit or self.settings().config.reports.complaints_feed
        found: list[dict[str, Any]] = []
        for chosen in self.directions(direction):
            found += [
                {"direction": chosen, **entry}
                for entry in self.store.reports.complaints(chosen, most)
            ]
        found.sort(
            key=lambda entry: (str(entry.get("created_at")), entry["ticket_id"]), reverse=True
        )
        return found[:most]


def _staff(settings: Settings, direction: str) -> Staff:
    agents = settings.direction(direction).staffing.agents
    return Staff(
        hours_per_week={agent.id: agent.hours_per_week for agent in agents},
        teams={agent.id: agent.team for agent in agents},
    )


@dataclass
class LedgerDesk:
    """The cost ledger, entry by entry, for finance (the CSV export pages through it)."""

    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def page(
        self,
        start: str | None,
        end: str | None,
        direction: str,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None, Range]:
        desk = ReportDesk(self.store, self.settings, self.clock)
        span = desk.range(start, end)
        (chosen,) = desk.directions(direction)
        entries, next_cursor = self.store.ledger.page(chosen, span.start, span.end, cursor, limit)
        return entries, next_cursor, span


@dataclass
class TicketExport:
    """One row per ticket created in a range (the lead's raw material), a page at a time."""

    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def page(
        self,
        start: str | None,
        end: str | None,
        direction: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None, Range]:
        desk = ReportDesk(self.store, self.settings, self.clock)
        span = desk.range(start, end)
        chosen = desk.directions(direction)
        # The range's local days, as UTC instants: a direction's zone decides its days; with
        # several directions the widest span of them all is read (their rows say which).
        zones = [self.settings().direction(d).business_calendar().tz for d in chosen]
        first = min(
            datetime.combine(span.start, datetime.min.time(), zone).astimezone(UTC)
            for zone in zones
        )
        last = max(
            datetime.combine(span.end + timedelta(days=1), datetime.min.time(), zone).astimezone(
                UTC
            )
            - timedelta(milliseconds=1)
            for zone in zones
        )
        rows, next_cursor = self.store.tickets.created_in(
            chosen, iso(first), iso(last), cursor, limit
        )
        for row in rows:
            row["flags"] = ";".join(row.get("flags") or [])
        return rows, next_cursor, span
