"""Business calendars: the edges (DST, ranges ending at midnight, holidays on a Friday, a
ticket at 23:59 before a long weekend) and the laws that hold for any calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.calendar import BusinessCalendar

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_SIX = ((time(9), time(13)), (time(14), time(18)))  # with a lunch break
OFFICE = BusinessCalendar(zone="Europe/Moscow", week=(NINE_TO_SIX,) * 5 + ((), ()))
H = timedelta(hours=1)


def msk(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def test_add_skips_the_lunch_break_and_the_night() -> None:
    half_past_noon = msk(2026, 11, 23, 12, 30)
    assert OFFICE.add(half_past_noon, H) == msk(2026, 11, 23, 14, 30)
    assert OFFICE.add(half_past_noon, 6 * H) == msk(2026, 11, 24, 10, 30)  # 0.5 + 4, then 1.5


def test_a_ticket_at_23_59_friday_before_a_long_weekend_waits_for_tuesday() -> None:
    calendar = BusinessCalendar(
        zone="Europe/Moscow", week=OFFICE.week, holidays=frozenset({date(2026, 11, 30)})
    )
    friday_late = msk(2026, 11, 27, 23, 59)
    assert calendar.next_working(friday_late) == msk(2026, 12, 1, 9, 0)
    assert calendar.add(friday_late, 4 * H) == msk(2026, 12, 1, 13, 0)
    assert calendar.between(friday_late, msk(2026, 12, 1, 10, 0)) == H


def test_a_holiday_on_friday_moves_the_deadline_to_monday() -> None:
    calendar = BusinessCalendar(
        zone="Europe/Moscow", week=OFFICE.week, holidays=frozenset({date(2026, 11, 27)})
    )
    thursday = msk(2026, 11, 26, 17, 0)
    assert calendar.add(thursday, 2 * H) == msk(2026, 11, 30, 10, 0)


def test_a_range_ending_at_midnight_and_a_24_7_direction() -> None:
    evening = BusinessCalendar(zone="Europe/Moscow", week=(((time(18), None),),) * 7)
    assert evening.add(msk(2026, 11, 23, 23, 0), 2 * H) == msk(2026, 11, 24, 19, 0)
    always = BusinessCalendar(zone="Europe/Moscow")
    start = msk(2026, 11, 28, 3, 0)
    assert always.add(start, 30 * H) == start + 30 * H
    assert always.between(start, start + 30 * H) == 30 * H


def test_dst_days_are_as_long_as_the_clock_says() -> None:
    """Berlin springs forward on 29 March 2026 (02:00 -> 03:00): a range 00:00-06:00 that
    night holds five hours of working time, and falls back on 25 October (six hours -> seven)."""
    night = BusinessCalendar(zone="Europe/Berlin", week=(((time(0), time(6)),),) * 7)
    spring = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    assert night.between(spring, datetime(2026, 3, 30, tzinfo=BERLIN)) == 5 * H
    autumn = datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN)
    assert night.between(autumn, datetime(2026, 10, 26, tzinfo=BERLIN)) == 7 * H
    assert night.add(spring, 5 * H) == datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)


def test_a_country_calendar_knows_holidays_and_transferred_working_days() -> None:
    russia = BusinessCalendar(zone="Europe/Moscow", week=OFFICE.week, country="RU")
    assert russia.ranges_on(date(2026, 1, 5)) == ()  # New Year holidays, a Monday
    assert russia.ranges_on(date(2025, 11, 1)) == NINE_TO_SIX  # a Saturday that works
    explicit = BusinessCalendar(
        zone="Europe/Moscow",
        week=OFFICE.week,
        country="RU",
        working_days={date(2026, 1, 5): ((time(10), time(12)),)},  # the on-call shift
    )
    assert explicit.between(msk(2026, 1, 5, 0, 0), msk(2026, 1, 6, 0, 0)) == 2 * H


def test_between_is_negative_backwards_and_zero_outside_hours() -> None:
    saturday = msk(2026, 11, 28, 10, 0)
    assert OFFICE.between(saturday, saturday + 5 * H) == timedelta(0)
    assert OFFICE.between(msk(2026, 11, 23, 11, 0), msk(2026, 11, 23, 10, 0)) == -H


CALENDARS = st.sampled_from(
    [
        OFFICE,
        BusinessCalendar(zone="Europe/Berlin", week=(((time(0), time(6)),),) * 7),
        BusinessCalendar(zone="America/New_York", week=(((time(8), None),),) * 6 + ((),)),
        BusinessCalendar(zone="Europe/Moscow", week=OFFICE.week, country="RU"),
        BusinessCalendar(zone="Asia/Kolkata"),
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
DURATIONS = st.integers(min_value=0, max_value=200 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS)
def test_adding_then_measuring_gives_the_duration_back(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    end = calendar.add(start, duration)
    assert end >= start
    assert calendar.between(start, end) == duration
    if duration:
        assert calendar.is_working(end - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS, DURATIONS)
def test_adding_twice_is_adding_the_sum(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


@settings(max_examples=100, deadline=None)
@given(CALENDARS, INSTANTS)
def test_the_next_working_moment_is_working_and_nothing_before_it_is(
    calendar: BusinessCalendar, moment: datetime
) -> None:
    after = calendar.next_working(moment)
    assert after >= moment and calendar.is_working(after)
    assert calendar.between(moment, after) == timedelta(0)
