"""EventBridge schedules against known fire times (AWS documentation examples, checked by calendar).

Weekdays quoted in comments were checked against a printed calendar, not against this code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import islice, pairwise

import pytest

from mantissa_log.domain.schedule import (
    CronSchedule,
    RateSchedule,
    Schedule,
    parse_duration,
    parse_schedule,
)
from mantissa_log.errors import ValidationFailed


def utc(text: str) -> datetime:
    """'2024-03-08T18:00' (seconds optional) as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def next_fires(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    fires: list[datetime] = []
    moment: datetime | None = after
    while moment is not None and len(fires) < count:
        moment = schedule.next_fire(moment)
        if moment is not None:
            fires.append(moment)
    return fires


# --- cron: known fire times ----------------------------------------------------------------------

KNOWN_FIRES: list[tuple[str, str, list[str]]] = [
    # AWS examples: daily 10:00 UTC; strictly after, so a fire at `after` itself is not repeated.
    ("cron(0 10 * * ? *)", "2024-03-10T09:59:59", ["2024-03-10T10:00", "2024-03-11T10:00"]),
    ("cron(0 10 * * ? *)", "2024-03-10T10:00", ["2024-03-11T10:00", "2024-03-12T10:00"]),
    # Daily 12:15, across a year end.
    ("cron(15 12 * * ? *)", "2024-12-31T12:15", ["2025-01-01T12:15", "2025-01-02T12:15"]),
    # 18:00 Monday to Friday: after Friday 2024-03-08 18:00 comes Monday 2024-03-11.
    ("cron(0 18 ? * MON-FRI *)", "2024-03-08T18:00", ["2024-03-11T18:00", "2024-03-12T18:00"]),
    # 08:00 on the 1st of every month.
    ("cron(0 8 1 * ? *)", "2024-01-15T00:00", ["2024-02-01T08:00", "2024-03-01T08:00", "2024-04-01T08:00"]),
    # Every 15 minutes.
    ("cron(0/15 * * * ? *)", "2024-03-10T10:07", ["2024-03-10T10:15", "2024-03-10T10:30", "2024-03-10T10:45"]),
    ("cron(0/15 * * * ? *)", "2024-03-10T10:59:59.999999", ["2024-03-10T11:00", "2024-03-10T11:15"]),
    # Every 10 minutes Monday to Friday: Friday night rolls over to Monday 00:00.
    ("cron(0/10 * ? * MON-FRI *)", "2024-03-08T23:50", ["2024-03-11T00:00", "2024-03-11T00:10"]),
    # Every 5 minutes 08:00-17:55 Monday to Friday.
    ("cron(0/5 8-17 ? * MON-FRI *)", "2024-03-08T17:50", ["2024-03-08T17:55", "2024-03-11T08:00", "2024-03-11T08:05"]),
    # 09:00 on the first Monday: Jan 1 2024 is a Monday; Feb 1 a Thursday; Mar 1 a Friday; Apr 1 a Monday.
    ("cron(0 9 ? * 2#1 *)", "2024-01-01T09:00", ["2024-02-05T09:00", "2024-03-04T09:00", "2024-04-01T09:00"]),
    ("cron(0 9 ? * MON#1 *)", "2024-08-10T00:00", ["2024-09-02T09:00"]),  # Sep 1 2024 is a Sunday
    # Last day of the month, Februaries included: 2024 and 2000 leap, 2023 not, 2100 not (century).
    ("cron(0 0 L * ? *)", "2024-01-31T00:00", ["2024-02-29T00:00", "2024-03-31T00:00", "2024-04-30T00:00"]),
    ("cron(0 0 L * ? *)", "2023-02-01T00:00", ["2023-02-28T00:00"]),
    ("cron(0 0 L * ? *)", "2000-02-01T00:00", ["2000-02-29T00:00"]),
    ("cron(0 0 L * ? *)", "2100-02-01T00:00", ["2100-02-28T00:00"]),
    ("cron(0 0 L 2 ? *)", "2023-03-01T00:00", ["2024-02-29T00:00", "2025-02-28T00:00"]),
    # Last weekday: Feb 29 2024 Thu; Mar 31 2024 Sun -> Fri 29; Aug 31 2024 Sat -> Fri 30; Feb 28 2100 Sun -> Fri 26.
    ("cron(0 0 LW * ? *)", "2024-02-01T00:00", ["2024-02-29T00:00", "2024-03-29T00:00", "2024-04-30T00:00"]),
    ("cron(0 0 LW * ? *)", "2024-08-01T00:00", ["2024-08-30T00:00"]),
    ("cron(0 0 LW * ? *)", "2100-02-01T00:00", ["2100-02-26T00:00"]),
    # Nearest weekday to the 15th: Jun 15 2024 Sat -> Fri 14; Sep 15 2024 Sun -> Mon 16; Mar 15 2024 Fri.
    ("cron(0 0 15W * ? *)", "2024-06-01T00:00", ["2024-06-14T00:00", "2024-07-15T00:00"]),
    ("cron(0 0 15W * ? *)", "2024-09-01T00:00", ["2024-09-16T00:00"]),
    ("cron(0 0 15W * ? *)", "2024-03-01T00:00", ["2024-03-15T00:00"]),
    # W never leaves the month: Jun 1 2024 Sat -> Mon 3 (not May 31); Mar 31 2024 Sun -> Fri 29.
    ("cron(0 0 1W * ? *)", "2024-05-15T00:00", ["2024-06-03T00:00"]),
    ("cron(0 0 31W * ? *)", "2024-03-01T00:00", ["2024-03-29T00:00", "2024-05-31T00:00"]),
    # Last Friday: Feb 2024 -> 23 (29 is a Thursday), Mar -> 29, Apr -> 26, May -> 31.
    ("cron(0 12 ? * 6L *)", "2024-02-01T00:00", ["2024-02-23T12:00", "2024-03-29T12:00", "2024-04-26T12:00"]),
    ("cron(0 12 ? * FRIL *)", "2024-05-01T00:00", ["2024-05-31T12:00"]),
    # Fifth Friday skips April 2024 (Fridays 5, 12, 19, 26).
    ("cron(0 0 ? * 6#5 *)", "2024-03-01T00:00", ["2024-03-29T00:00", "2024-05-31T00:00"]),
    # The 31st skips 30-day months and February.
    ("cron(0 0 31 * ? *)", "2024-01-31T00:00", ["2024-03-31T00:00", "2024-05-31T00:00"]),
    # One fixed year.
    ("cron(0 0 1 1 ? 2030)", "2025-06-01T00:00", ["2030-01-01T00:00"]),
    # 1/10 is "every tenth minute starting at minute 1" (AWS wording).
    ("cron(1/10 * * * ? *)", "2024-03-10T10:00", ["2024-03-10T10:01", "2024-03-10T10:11", "2024-03-10T10:21"]),
    # Ranges with steps, lists, month names.
    ("cron(10-30/10 6 * * ? *)", "2024-03-10T06:10", ["2024-03-10T06:20", "2024-03-10T06:30", "2024-03-11T06:10"]),
    ("cron(0 0 1 JAN,jul ? *)", "2024-02-01T00:00", ["2024-07-01T00:00", "2025-01-01T00:00"]),
    ("cron(0 0 1 */3 ? *)", "2024-02-01T00:00", ["2024-04-01T00:00", "2024-07-01T00:00", "2024-10-01T00:00"]),
    ("cron(0 0 1 1 ? 2030/5)", "2030-01-01T00:00", ["2035-01-01T00:00", "2040-01-01T00:00"]),
    # Ranges wrap (Quartz): FRI-MON is Fri, Sat, Sun, Mon; hours 22-2 cross midnight.
    (
        "cron(0 0 ? * FRI-MON *)",
        "2024-03-07T00:00",
        ["2024-03-08T00:00", "2024-03-09T00:00", "2024-03-10T00:00", "2024-03-11T00:00", "2024-03-15T00:00"],
    ),
    (
        "cron(0 22-1 * * ? *)",
        "2024-03-10T21:00",
        ["2024-03-10T22:00", "2024-03-10T23:00", "2024-03-11T00:00", "2024-03-11T01:00", "2024-03-11T22:00"],
    ),
    # L alone in day-of-week is the last day of the week, Saturday.
    ("cron(0 0 ? * L *)", "2024-03-10T00:00", ["2024-03-16T00:00", "2024-03-23T00:00"]),
]


@pytest.mark.parametrize(("expression", "after", "expected"), KNOWN_FIRES)
def test_cron_known_fire_times(expression: str, after: str, expected: list[str]) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    assert next_fires(schedule, utc(after), len(expected)) == [utc(e) for e in expected]


# Day-of-week numbers are 1 = SUN ... 7 = SAT; in standard cron 0 = SUN, 1 = MON ... 6 = SAT.
# Week of Sun 2024-03-10 .. Sat 2024-03-16.
DAY_OF_WEEK_NUMBERS = [
    ("1", "2024-03-10"),  # Sunday (standard cron: Monday)
    ("2", "2024-03-11"),  # Monday
    ("3", "2024-03-12"),
    ("4", "2024-03-13"),
    ("5", "2024-03-14"),
    ("6", "2024-03-15"),  # Friday (standard cron: Saturday)
    ("7", "2024-03-16"),  # Saturday (standard cron: 7 is another Sunday)
    ("SUN", "2024-03-10"),
    ("sat", "2024-03-16"),
]


@pytest.mark.parametrize(("day_of_week", "expected_day"), DAY_OF_WEEK_NUMBERS)
def test_day_of_week_numbers_start_at_sunday(day_of_week: str, expected_day: str) -> None:
    fire = parse_schedule(f"cron(0 0 ? * {day_of_week} *)").next_fire(utc("2024-03-09T23:59"))
    assert fire == utc(f"{expected_day}T00:00")


def test_day_of_week_zero_is_refused_not_read_as_sunday() -> None:
    with pytest.raises(ValidationFailed, match=r"day-of-week value 0 is out of range 1-7 \(1 = SUN"):
        parse_schedule("cron(0 0 ? * 0 *)")


def test_weekday_range_is_monday_to_friday_in_numbers_too() -> None:
    by_name = parse_schedule("cron(0 18 ? * MON-FRI *)")
    by_number = parse_schedule("cron(0 18 ? * 2-6 *)")
    start, end = utc("2024-03-01T00:00"), utc("2024-04-01T00:00")
    fires = list(by_name.fires_between(start, end))
    assert fires == list(by_number.fires_between(start, end))
    assert len(fires) == 21  # March 2024 has 21 weekdays
    assert {fire.weekday() for fire in fires} == {0, 1, 2, 3, 4}


# --- cron: an independent oracle, day by day -----------------------------------------------------


def _last_of_month(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


def _last_weekday_of_month(day: date) -> bool:
    later = [day + timedelta(days=n) for n in range(1, 4)]
    return day.weekday() < 5 and all(d.month != day.month or d.weekday() >= 5 for d in later)


ORACLE: list[tuple[str, Callable[[date], bool]]] = [
    ("cron(0 0 L * ? *)", _last_of_month),
    ("cron(0 0 LW * ? *)", _last_weekday_of_month),
    ("cron(0 0 ? * 6L *)", lambda d: d.weekday() == 4 and (d + timedelta(days=7)).month != d.month),
    ("cron(0 0 ? * 2#1 *)", lambda d: d.weekday() == 0 and d.day <= 7),
    ("cron(0 0 ? * 4#3 *)", lambda d: d.weekday() == 2 and 15 <= d.day <= 21),
    ("cron(0 0 ? * 1 *)", lambda d: d.weekday() == 6),
    ("cron(0 0 ? * MON-FRI *)", lambda d: d.weekday() < 5),
    ("cron(0 0 ? * SAT,SUN *)", lambda d: d.weekday() >= 5),
    ("cron(0 0 1-7 * ? *)", lambda d: d.day <= 7),
]


@pytest.mark.parametrize(("expression", "matches"), ORACLE)
def test_cron_days_agree_with_a_day_by_day_oracle(expression: str, matches: Callable[[date], bool]) -> None:
    start = date(2023, 1, 1)
    days = [start + timedelta(days=n) for n in range(3 * 366)]
    expected = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days if matches(d)]
    fires = parse_schedule(expression).fires_between(utc("2022-12-31T23:59"), expected[-1])
    assert list(fires) == expected


# --- cron: the end of time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after"),
    [
        ("cron(0 0 1 1 ? 2030)", "2030-01-01T00:00"),
        ("cron(0 0 1 1 ? 2020-2022)", "2025-01-01T00:00"),
        ("cron(0 0 * * ? *)", "2199-12-31T00:00"),  # the last day EventBridge's year field allows
        ("cron(0 0 * * ? *)", "2500-01-01T00:00"),
        ("cron(0 0 * * ? *)", "9999-12-31T23:59:59"),
    ],
)
def test_no_fire_after_the_last_year(expression: str, after: str) -> None:
    assert parse_schedule(expression).next_fire(utc(after)) is None


def test_past_year_parses_but_never_fires_again() -> None:
    schedule = parse_schedule("cron(0 0 1 1 ? 2020)")
    assert schedule.next_fire(utc("2019-06-01T00:00")) == utc("2020-01-01T00:00")
    assert schedule.next_fire(utc("2024-01-01T00:00")) is None


def test_last_minute_of_the_range() -> None:
    assert parse_schedule("cron(59 23 31 12 ? *)").next_fire(utc("2199-12-31T23:58")) == utc("2199-12-31T23:59")


# --- rate ----------------------------------------------------------------------------------------

RATE_FIRES: list[tuple[str, str, list[str]]] = [
    ("rate(1 minute)", "2024-03-10T10:07:30", ["2024-03-10T10:08", "2024-03-10T10:09"]),
    ("rate(5 minutes)", "2024-03-10T10:07:30", ["2024-03-10T10:10", "2024-03-10T10:15"]),
    ("rate(5 minutes)", "2024-03-10T10:10", ["2024-03-10T10:15"]),  # strictly after
    ("rate(7 minutes)", "1970-01-01T00:00", ["1970-01-01T00:07", "1970-01-01T00:14"]),
    ("rate(1 hour)", "2024-03-10T10:00:00.000001", ["2024-03-10T11:00", "2024-03-10T12:00"]),
    ("rate(2 hours)", "2024-03-10T01:00", ["2024-03-10T02:00", "2024-03-10T04:00"]),
    ("rate(1 day)", "2024-03-10T10:00", ["2024-03-11T00:00", "2024-03-12T00:00"]),
    # 1970-01-01 was a Thursday, so weekly rates fire on Thursdays at 00:00 UTC (2024-03-14 is one).
    ("rate(7 days)", "2024-03-10T10:00", ["2024-03-14T00:00", "2024-03-21T00:00"]),
    # Before the epoch the grid extends backwards.
    ("rate(1 day)", "1969-12-30T12:00", ["1969-12-31T00:00", "1970-01-01T00:00"]),
]


@pytest.mark.parametrize(("expression", "after", "expected"), RATE_FIRES)
def test_rate_fires_on_multiples_of_the_period_since_the_epoch(
    expression: str, after: str, expected: list[str]
) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, RateSchedule)
    assert next_fires(schedule, utc(after), len(expected)) == [utc(e) for e in expected]


def test_every_worker_agrees_on_rate_fires_whatever_it_asked_from() -> None:
    schedule = parse_schedule("rate(15 minutes)")
    askers = [utc("2024-03-10T10:00:01"), utc("2024-03-10T10:07"), utc("2024-03-10T10:14:59.999")]
    assert {schedule.next_fire(a) for a in askers} == {utc("2024-03-10T10:15")}


def test_rate_periods() -> None:
    assert parse_schedule("rate(1 minute)") == RateSchedule("rate(1 minute)", timedelta(minutes=1))
    assert parse_schedule("rate(2 hours)") == RateSchedule("rate(2 hours)", timedelta(hours=2))
    assert parse_schedule("  rate(7 days) ") == RateSchedule("rate(7 days)", timedelta(days=7))


def test_rate_beyond_representable_time_is_none() -> None:
    schedule = parse_schedule("rate(999999999 days)")
    assert schedule.next_fire(utc("2024-01-01T00:00")) is None


# --- times in and out ----------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["rate(5 minutes)", "cron(0/5 * * * ? *)"])
def test_aware_times_in_any_zone_give_utc_results(expression: str) -> None:
    after = datetime(2024, 3, 10, 12, 7, tzinfo=timezone(timedelta(hours=2)))
    fire = parse_schedule(expression).next_fire(after)
    assert fire == utc("2024-03-10T10:10")
    assert fire is not None
    assert fire.tzinfo is UTC


@pytest.mark.parametrize("expression", ["rate(5 minutes)", "cron(0/5 * * * ? *)"])
def test_naive_times_are_a_programming_error(expression: str) -> None:
    schedule = parse_schedule(expression)
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_fire(datetime(2024, 3, 10, 12, 7))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.fires_between(utc("2024-03-10T00:00"), datetime(2024, 3, 11))


# --- fires_between -------------------------------------------------------------------------------


def test_fires_between_is_start_exclusive_end_inclusive() -> None:
    schedule = parse_schedule("cron(0/15 * * * ? *)")
    fires = list(schedule.fires_between(utc("2024-03-10T10:00"), utc("2024-03-10T11:00")))
    assert fires == [utc("2024-03-10T10:15"), utc("2024-03-10T10:30"), utc("2024-03-10T10:45"), utc("2024-03-10T11:00")]


def test_consecutive_windows_see_each_fire_once() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    edges = [utc("2024-03-10T10:00"), utc("2024-03-10T10:05"), utc("2024-03-10T10:13"), utc("2024-03-10T10:30")]
    seen = [fire for a, b in pairwise(edges) for fire in schedule.fires_between(a, b)]
    assert seen == list(schedule.fires_between(edges[0], edges[-1]))
    assert len(seen) == len(set(seen)) == 6


@pytest.mark.parametrize("expression", ["rate(1 hour)", "cron(0 * * * ? *)"])
def test_fires_between_empty_and_reversed_windows(expression: str) -> None:
    schedule = parse_schedule(expression)
    assert list(schedule.fires_between(utc("2024-03-10T10:01"), utc("2024-03-10T10:59"))) == []
    assert list(schedule.fires_between(utc("2024-03-10T12:00"), utc("2024-03-10T10:00"))) == []


def test_fires_between_is_lazy_on_long_ranges() -> None:
    schedule = parse_schedule("rate(1 minute)")
    first = list(islice(schedule.fires_between(utc("2024-01-01T00:00"), utc("2199-01-01T00:00")), 3))
    assert first == [utc("2024-01-01T00:01"), utc("2024-01-01T00:02"), utc("2024-01-01T00:03")]


# --- interval_hint -------------------------------------------------------------------------------

HINTS = [
    ("rate(1 minute)", timedelta(minutes=1)),
    ("rate(5 minutes)", timedelta(minutes=5)),
    ("rate(2 hours)", timedelta(hours=2)),
    ("rate(7 days)", timedelta(days=7)),
    ("cron(0/15 * * * ? *)", timedelta(minutes=15)),
    ("cron(0/5 8-17 ? * MON-FRI *)", timedelta(minutes=5)),  # smallest gap, not the overnight one
    ("cron(0 10 * * ? *)", timedelta(days=1)),
    ("cron(0 18 ? * MON-FRI *)", timedelta(days=1)),
    ("cron(0 9 ? * 2#1 *)", timedelta(days=28)),
    ("cron(0 8 1 * ? *)", timedelta(days=28)),
    ("cron(0 0 1 1 ? 2030)", timedelta(days=365)),  # year read as `*`: the yearly gap
    ("cron(0 0 29 2 ? *)", timedelta(days=4 * 365 + 1)),
]


@pytest.mark.parametrize(("expression", "hint"), HINTS)
def test_interval_hint(expression: str, hint: timedelta) -> None:
    assert parse_schedule(expression).interval_hint() == hint


# --- parsing details -----------------------------------------------------------------------------


def test_expression_is_kept_and_printed() -> None:
    schedule = parse_schedule(" cron(0 10 * * ? *) ")
    assert schedule.expression == "cron(0 10 * * ? *)"
    assert str(schedule) == "cron(0 10 * * ? *)"


def test_equal_expressions_parse_equal_and_hash() -> None:
    assert parse_schedule("cron(0 10 * * ? *)") == parse_schedule("cron(0 10 * * ? *)")
    assert len({parse_schedule("rate(5 minutes)"), parse_schedule("rate(5 minutes)")}) == 1


INVALID: list[tuple[object, str]] = [
    # Shape
    ("", "schedule must be 'rate(value unit)' or 'cron("),
    ("every 5 minutes", "schedule must be 'rate(value unit)' or 'cron("),
    ("cron(0 10 * * ? *", "schedule must be 'rate(value unit)' or 'cron("),
    ("CRON(0 10 * * ? *)", "schedule must be 'rate(value unit)' or 'cron("),
    ("*/5 * * * *", "schedule must be 'rate(value unit)' or 'cron("),
    (None, "got NoneType"),
    ("cron(" + "0," * 200 + "0 10 * * ? *)", "schedule is too long"),
    # rate
    ("rate(5)", "rate must be 'rate(value unit)'"),
    ("rate()", "rate must be 'rate(value unit)'"),
    ("rate(5 minutes later)", "rate must be 'rate(value unit)'"),
    ("rate(0 minutes)", "rate value must be a positive integer, got '0'"),
    ("rate(-5 minutes)", "rate value must be a positive integer, got '-5'"),
    ("rate(1.5 hours)", "rate value must be a positive integer, got '1.5'"),
    ("rate(five minutes)", "rate value must be a positive integer"),
    ("rate(5 seconds)", "rate unit must be minute(s), hour(s) or day(s), got 'seconds'"),
    ("rate(2 weeks)", "rate unit must be minute(s), hour(s) or day(s), got 'weeks'"),
    ("rate(5 Minutes)", "rate unit must be minute(s), hour(s) or day(s), got 'Minutes'"),
    ("rate(1 minutes)", "rate unit must be 'minute' when the value is 1"),
    ("rate(1 hours)", "rate unit must be 'hour' when the value is 1"),
    ("rate(1 days)", "rate unit must be 'day' when the value is 1"),
    ("rate(5 minute)", "rate unit must be 'minutes' when the value is greater than 1"),
    ("rate(2 hour)", "rate unit must be 'hours' when the value is greater than 1"),
    ("rate(7 day)", "rate unit must be 'days' when the value is greater than 1"),
    ("rate(9999999999 days)", "rate value 9999999999 is too large"),
    # cron: field count
    ("cron(0 10 * * ?)", "cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5"),
    ("cron(0 10 * * *)", "cron needs 6 fields"),
    ("cron(0 0 10 * * ? *)", "cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 7"),
    ("cron()", "got 0"),
    # cron: day-of-month / day-of-week
    ("cron(0 10 * * * *)", "day-of-month and day-of-week cannot both be specified; use ? in one of them"),
    ("cron(0 10 1 * MON *)", "day-of-month and day-of-week cannot both be specified; use ? in one of them"),
    ("cron(0 10 ? * ? *)", "day-of-month and day-of-week cannot both be ?; specify one of them"),
    ("cron(? 10 * * ? *)", "minutes cannot use '?'"),
    ("cron(0 10 1,? * ? *)", "day-of-month cannot use '?'"),
    # cron: ranges
    ("cron(60 * * * ? *)", "minutes value 60 is out of range 0-59"),
    ("cron(0 24 * * ? *)", "hours value 24 is out of range 0-23"),
    ("cron(0 0 0 * ? *)", "day-of-month value 0 is out of range 1-31"),
    ("cron(0 0 32 * ? *)", "day-of-month value 32 is out of range 1-31"),
    ("cron(0 0 1 13 ? *)", "month value 13 is out of range 1-12 (or JAN-DEC)"),
    ("cron(0 0 1 0 ? *)", "month value 0 is out of range 1-12"),
    ("cron(0 0 ? * 0 *)", "day-of-week value 0 is out of range 1-7 (1 = SUN ... 7 = SAT, or SUN-SAT)"),
    ("cron(0 0 ? * 8 *)", "day-of-week value 8 is out of range 1-7"),
    ("cron(0 0 1 * ? 1969)", "year value 1969 is out of range 1970-2199"),
    ("cron(0 0 1 * ? 2200)", "year value 2200 is out of range 1970-2199"),
    ("cron(0 0 1 * ? 2030-2025)", "year range '2030-2025' runs backwards"),
    # cron: tokens
    ("cron(a 10 * * ? *)", "minutes value 'A' is not valid; expected 0-59"),
    ("cron(0 10 * FOO ? *)", "month value 'FOO' is not valid; expected 1-12 (or JAN-DEC)"),
    ("cron(0 10 * JANUARY ? *)", "month value 'JANUARY' is not valid"),
    ("cron(0 10 ? * FUN *)", "day-of-week value 'FUN' is not valid; expected 1-7"),
    ("cron(0 10 * * ? MON)", "year value 'MON' is not valid"),
    ("cron(1-2-3 10 * * ? *)", "minutes value '2-3' is not valid"),
    ("cron(0 1,,2 * * ? *)", "hours has an empty list element in '1,,2'"),
    ("cron(0 1, * * ? *)", "hours has an empty list element"),
    ("cron(0 -1 * * ? *)", "hours value '' is not valid"),
    # cron: increments
    ("cron(*/0 * * * ? *)", "minutes increment must be an integer from 1 to 60, got '0'"),
    ("cron(0/ * * * ? *)", "minutes increment must be an integer from 1 to 60, got ''"),
    ("cron(0/61 * * * ? *)", "minutes increment must be an integer from 1 to 60, got '61'"),
    ("cron(0 0/x * * ? *)", "hours increment must be an integer from 1 to 24, got 'X'"),
    ("cron(/5 * * * ? *)", "minutes value '' is not valid"),
    ("cron(0 10 ? * MON/2 *)", "day-of-week does not allow '/' increments"),
    # cron: L, W, #
    ("cron(0 0 L,15 * ? *)", "day-of-month L, LW and nW (e.g. 15W) must be the field's only value"),
    ("cron(0 0 15W,20 * ? *)", "day-of-month L, LW and nW (e.g. 15W) must be the field's only value"),
    ("cron(0 0 L-3 * ? *)", "day-of-month L, LW and nW (e.g. 15W) must be the field's only value"),
    ("cron(0 0 W * ? *)", "day-of-month L, LW and nW"),
    ("cron(0 0 32W * ? *)", "day-of-month value 32 is out of range 1-31"),
    ("cron(0 0 0W * ? *)", "day-of-month value 0 is out of range 1-31"),
    ("cron(0 0 ? * 8L *)", "day-of-week value 8 is out of range 1-7"),
    ("cron(0 0 ? * 2#6 *)", "day-of-week occurrence after '#' must be 1-5, got 6"),
    ("cron(0 0 ? * 2#0 *)", "day-of-week occurrence after '#' must be 1-5, got 0"),
    ("cron(0 0 ? * 0#1 *)", "day-of-week value 0 is out of range 1-7"),
    ("cron(0 0 ? * 3#1,6#3 *)", "day-of-week nL (e.g. 6L) and n#k (e.g. 2#1) must be the field's only value"),
    ("cron(0 0 ? * 6L,2 *)", "day-of-week nL (e.g. 6L) and n#k (e.g. 2#1) must be the field's only value"),
    ("cron(0 0 ? * 2# *)", "day-of-week nL (e.g. 6L) and n#k"),
    ("cron(0 0 L * L *)", "day-of-month and day-of-week cannot both be specified"),
    ("cron(L 0 * * ? *)", "minutes value 'L' is not valid"),
    ("cron(0 0 1 L ? *)", "month value 'L' is not valid"),
    # cron: never fires
    ("cron(0 0 30 2 ? *)", "cron never fires: no date from 1970 to 2199 matches it"),
    ("cron(0 0 31 APR,JUN,SEP,NOV ? *)", "cron never fires"),
    ("cron(0 0 29 2 ? 2025)", "cron never fires"),
    ("cron(0 0 31W 2 ? *)", "cron never fires"),
]


@pytest.mark.parametrize(("expression", "reason"), INVALID)
def test_invalid_expressions_are_refused_with_the_reason(expression: object, reason: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_schedule(expression)  # type: ignore[arg-type]
    assert reason in caught.value.message
    assert caught.value.field == "schedule"


VALID = [
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(2 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "rate(10  minutes)",
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 LW * ? *)",
    "cron(0 0 15W * ? *)",
    "cron(0 12 ? * 6L *)",
    "cron(0 0 1 1 ? 2030)",
    "cron(0 0 1 JAN-MAR ? 1970-2199)",
    "cron(0 0 ? * sun,sat *)",
    "cron(0 0 29 2 ? *)",
    "cron(0 0 1 1 ? 2199)",
    "cron(*/1 */1 */1 */1 ? */1)",
]


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_parse(expression: str) -> None:
    assert parse_schedule(expression).next_fire(utc("1970-01-01T00:00")) is not None


# --- durations -----------------------------------------------------------------------------------

DURATIONS = [
    ("30s", timedelta(seconds=30)),
    ("5m", timedelta(minutes=5)),
    ("1h", timedelta(hours=1)),
    ("2d", timedelta(days=2)),
    ("1w", timedelta(weeks=1)),
    ("15 minutes", timedelta(minutes=15)),
    ("1 minute", timedelta(minutes=1)),
    ("90 seconds", timedelta(seconds=90)),
    ("2 hours", timedelta(hours=2)),
    ("10 min", timedelta(minutes=10)),
    ("3 hrs", timedelta(hours=3)),
    ("1 day", timedelta(days=1)),
    ("2 weeks", timedelta(weeks=2)),
    ("  45m ", timedelta(minutes=45)),
]


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "lookback") == expected


BAD_DURATIONS: list[tuple[object, str]] = [
    ("0m", "duration must be greater than zero, got '0m'"),
    ("0 minutes", "duration must be greater than zero"),
    ("-5m", "duration must be positive, got '-5m'"),
    ("300", "duration must be a whole number and a unit"),
    ("", "duration must be a whole number and a unit"),
    ("m", "duration must be a whole number and a unit"),
    ("1.5h", "duration must be a whole number and a unit"),
    ("1h30m", "duration must be a whole number and a unit"),
    ("soon", "duration must be a whole number and a unit"),
    ("5M", "duration must be a whole number and a unit"),
    ("5 fortnights", "unknown duration unit 'fortnights'; use s, m, h, d or w"),
    ("5y", "unknown duration unit 'y'"),
    ("9" * 30 + "w", "is too large"),
    ("9" * 70 + "w", "duration is too long"),
    (300, "got int"),
    (None, "got NoneType"),
]


@pytest.mark.parametrize("field", ["lookback", "suppression"])
@pytest.mark.parametrize(("text", "reason"), BAD_DURATIONS)
def test_parse_duration_refuses(text: object, reason: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_duration(text, field)  # type: ignore[arg-type]
    assert reason in caught.value.message
    assert caught.value.field == field
