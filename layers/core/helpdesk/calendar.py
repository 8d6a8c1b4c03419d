"""Business calendars: when a direction works, in its own time zone.

A calendar is working hours per weekday (several ranges a day, a range may end at 24:00),
holidays (explicit dates and/or a country's from the `holidays` package), transferred working
days (a Saturday that works, explicit or the country's), or 24/7. Pure functions answer:
`add` working time to an instant, the working time `between` two instants, the
`next_working` moment. Instants are aware datetimes; answers are UTC. Wall-clock ranges are
placed on the day's real offset, so a DST change shortens or lengthens that day's range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

Range = tuple[time, time | None]  # None: until midnight (24:00)
ALWAYS: tuple[Range, ...] = ((time(0), None),)
SEARCH_DAYS = 3 * 366  # a calendar with no working time this far ahead is refused at start


class NoWorkingTime(ValueError):
    """The calendar has no working time within the search horizon."""


@dataclass(frozen=True)
class BusinessCalendar:
    zone: str = "UTC"
    week: tuple[tuple[Range, ...], ...] = (ALWAYS,) * 7  # Monday first
    holidays: frozenset[date] = frozenset()
    working_days: dict[date, tuple[Range, ...]] = field(default_factory=dict)
    country: str | None = None  # e.g. "RU": its holidays and transferred working days

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def ranges_on(self, day: date) -> tuple[Range, ...]:
        """The working ranges of a local date (explicit working days beat holidays)."""
        if day in self.working_days:
            return self.working_days[day]
        if day in self.holidays:
            return ()
        if self.country:
            public, transferred = _country(self.country, day.year)
            if day in public:
                return ()
            if day in transferred:
                return self._weekday_ranges()
        return self.week[day.weekday()]

    def _weekday_ranges(self) -> tuple[Range, ...]:
        """What a transferred working day works: the calendar's usual Monday."""
        return next((ranges for ranges in self.week if ranges), ())

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working ranges as UTC intervals."""
        found = []
        for start, end in self.ranges_on(day):
            begin = datetime.combine(day, start, tzinfo=self.tz).astimezone(UTC)
            if end is None:
                finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
            else:
                finish = datetime.combine(day, end, tzinfo=self.tz)
            finish = finish.astimezone(UTC)
            if finish > begin:
                found.append((begin, finish))
        return found

    def _from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals that end after `moment`, in order, clipped to start at it."""
        local_day = moment.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(SEARCH_DAYS):
            for begin, finish in self.intervals(local_day + timedelta(days=offset)):
                if finish > moment:
                    yield max(begin, moment), finish
        raise NoWorkingTime(f"no working time within {SEARCH_DAYS} days of {moment}")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of working time after `start` has passed."""
        start = _utc(start)
        if duration <= timedelta(0):
            return start
        left = duration
        for begin, finish in self._from(start):
            if finish - begin >= left:
                return begin + left
            left -= finish - begin
        raise AssertionError("unreachable")  # _from raises first

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); negative when end is before start."""
        start, end = _utc(start), _utc(end)
        if end < start:
            return -self.between(end, start)
        total = timedelta(0)
        for begin, finish in self._from(start):
            if begin >= end:
                break
            total += min(finish, end) - begin
        return total

    def next_working(self, moment: datetime) -> datetime:
        """`moment` if the direction works then, else when it starts working again."""
        begin, _ = next(self._from(_utc(moment)))
        return begin

    def is_working(self, moment: datetime) -> bool:
        return self.next_working(moment) == _utc(moment)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return moment.astimezone(UTC)


@cache
def _country(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """A country's public holidays and transferred working days in a year."""
    import holidays

    calendar = holidays.country_holidays(country, years=year)
    workdays: set[date] = getattr(calendar, "weekend_workdays", set()) or set()
    return frozenset(calendar.keys()), frozenset(day for day in workdays if day.year == year)


def known_country(country: str) -> bool:
    import holidays

    return country.upper() in holidays.list_supported_countries()
