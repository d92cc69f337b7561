"""EventBridge schedule expressions, `rate(...)` and 6-field `cron(...)`, parsed and evaluated in UTC.

Pure standard library: croniter and APScheduler misread EventBridge's year field and its
1-7 = SUN-SAT day-of-week numbers (FACTS.md "Schedules"), so the grammar and the next-fire search
are written here and tested against known fire times.

Decisions:
- `rate(...)` fires on whole multiples of its period since the Unix epoch (1970-01-01T00:00Z).
  EventBridge aligns a rate to the rule's creation time, which we do not keep per rule; epoch
  alignment lets every worker agree on the fire times with no coordination. So `rate(5 minutes)`
  fires at :00, :05, ...; `rate(1 day)` at midnight UTC; `rate(7 days)` on Thursdays (1970-01-01 was one).
- `cron(...)` follows EventBridge's documented grammar with Quartz semantics: names are
  case-insensitive; ranges may wrap (`FRI-MON`, `22-2`) except in the year field; `L`, `LW`, `nW`,
  `nL` and `n#k` must be the only value of their field; `nW` never leaves its month; a day a month
  lacks (`31`, `31W`, `6#5`) skips that month. Fires are on whole minutes.
- An expression that fires at no minute from 1970 to 2199 (`cron(0 0 30 2 ? *)`) is refused.
- `fires_between(start, end)` yields the fires in (start, end], matching `next_fire` being strictly after.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from mantissa_log.errors import ValidationFailed

FIELD = "schedule"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_YEAR, MAX_YEAR = 1970, 2199
MAX_EXPRESSION_LENGTH = 256
FORMAT_HINT = "schedule must be 'rate(value unit)' or 'cron(minutes hours day-of-month month day-of-week year)'"
_HINT_SAMPLES = 48  # fires examined by CronSchedule.interval_hint
_FALLBACK_HINT = timedelta(days=1)  # only for patterns that fire once in 1970-2199 even with year `*`
_MINUTE = timedelta(minutes=1)


def _invalid(reason: str) -> ValidationFailed:
    return ValidationFailed(reason, field=FIELD)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


class Schedule(ABC):
    """A parsed schedule. Times in are timezone-aware (any zone); times out are UTC."""

    expression: str

    @abstractmethod
    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire strictly after `after`, or None when the schedule never fires again."""

    @abstractmethod
    def interval_hint(self) -> timedelta:
        """A typical (smallest) gap between fires, to size default lookback windows."""

    def fires_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every fire in the half-open interval (start, end], oldest first."""
        _as_utc(start, "start")
        return self._fires(start, _as_utc(end, "end"))

    def _fires(self, start: datetime, end: datetime) -> Iterator[datetime]:
        fire = self.next_fire(start)
        while fire is not None and fire <= end:
            yield fire
            fire = self.next_fire(fire)

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class RateSchedule(Schedule):
    """`rate(value unit)`: fires at every whole multiple of `period` since the Unix epoch."""

    expression: str
    period: timedelta

    def next_fire(self, after: datetime) -> datetime | None:
        periods = (_as_utc(after, "after") - EPOCH) // self.period + 1
        try:
            return EPOCH + self.period * periods
        except OverflowError:  # past datetime.max: no representable future fire
            return None

    def interval_hint(self) -> timedelta:
        return self.period


DayKind = Literal["days", "last", "last_weekday", "nearest_weekday", "weekdays", "last_of_weekday", "nth_weekday"]


@dataclass(frozen=True)
class DayRule:
    """Which days of a month match: the non-`?` one of day-of-month / day-of-week.

    Weekdays use EventBridge numbers, 1 = SUN ... 7 = SAT.
    """

    kind: DayKind
    values: frozenset[int] = frozenset()  # days of month ("days") or weekdays ("weekdays")
    day: int = 0  # the target day ("nearest_weekday") or weekday ("last_of_weekday", "nth_weekday")
    nth: int = 0  # occurrence 1-5 ("nth_weekday")

    def days_in(self, year: int, month: int) -> list[int]:
        """The matching days of that month, ascending."""
        first, length = calendar.monthrange(year, month)  # first: Monday = 0

        def weekday(day: int) -> int:
            return (first + day) % 7 + 1

        def nearest_weekday(day: int) -> int:
            if weekday(day) == 7:  # Saturday: the Friday before, unless that leaves the month
                return day - 1 if day > 1 else day + 2
            if weekday(day) == 1:  # Sunday: the Monday after, unless that leaves the month
                return day + 1 if day < length else day - 2
            return day

        if self.kind == "days":
            return sorted(d for d in self.values if d <= length)
        if self.kind == "last":
            return [length]
        if self.kind == "last_weekday":
            return [nearest_weekday(length)]
        if self.kind == "nearest_weekday":
            return [nearest_weekday(self.day)] if self.day <= length else []
        if self.kind == "weekdays":
            return [d for d in range(1, length + 1) if weekday(d) in self.values]
        if self.kind == "last_of_weekday":
            return [d for d in range(length - 6, length + 1) if weekday(d) == self.day]
        first_match = next(d for d in range(1, 8) if weekday(d) == self.day)
        day = first_match + 7 * (self.nth - 1)
        return [day] if day <= length else []


@dataclass(frozen=True)
class CronSchedule(Schedule):
    """`cron(minutes hours day-of-month month day-of-week year)` in UTC; value tuples are ascending."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DayRule
    months: tuple[int, ...]
    years: tuple[int, ...]

    def next_fire(self, after: datetime) -> datetime | None:
        moment = _as_utc(after, "after")
        if moment.year > MAX_YEAR:
            return None
        start = moment.replace(second=0, microsecond=0) + _MINUTE
        floor = (start.year, start.month, start.day, start.hour, start.minute)
        # Walk the fields from the largest down; a prefix below `floor` cannot hold a later fire.
        for year in self.years:
            if year < floor[0]:
                continue
            for month in self.months:
                if (year, month) < floor[:2]:
                    continue
                for day in self.days.days_in(year, month):
                    if (year, month, day) < floor[:3]:
                        continue
                    for hour in self.hours:
                        if (year, month, day, hour) < floor[:4]:
                            continue
                        for minute in self.minutes:
                            if (year, month, day, hour, minute) >= floor:
                                return datetime(year, month, day, hour, minute, tzinfo=UTC)
        return None

    def interval_hint(self) -> timedelta:
        """Smallest gap among the first fires from 1970, with the year field read as `*`.

        Reading the year as `*` gives one-off schedules (`cron(0 0 1 1 ? 2030)`) their yearly
        pattern's gap, and makes the hint independent of the clock.
        """
        pattern = dataclasses.replace(self, years=tuple(range(MIN_YEAR, MAX_YEAR + 1)))
        gaps: list[timedelta] = []
        previous = pattern.next_fire(EPOCH - _MINUTE)
        while previous is not None and len(gaps) < _HINT_SAMPLES:
            current = pattern.next_fire(previous)
            if current is not None:
                gaps.append(current - previous)
            previous = current
        return min(gaps, default=_FALLBACK_HINT)


# --- parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] is the value low + i
    hint: str = ""
    wraps: bool = True
    steps: bool = True


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DAY_OF_MONTH = _Field("day-of-month", 1, 31)
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH = _Field("month", 1, 12, names=_MONTH_NAMES, hint=" (or JAN-DEC)")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAY_OF_WEEK = _Field("day-of-week", 1, 7, names=_DAY_NAMES, hint=" (1 = SUN ... 7 = SAT, or SUN-SAT)", steps=False)
_YEAR = _Field("year", MIN_YEAR, MAX_YEAR, wraps=False)

_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_RATE_BODY = re.compile(r"(\S+) +(\S+)")
_NEAREST_WEEKDAY = re.compile(r"([0-9]+)W")
_LAST_OF_WEEKDAY = re.compile(r"([0-9]+|[A-Z]{3})L")
_NTH_WEEKDAY = re.compile(r"([0-9]+|[A-Z]{3})#([0-9]+)")


def parse_schedule(expr: str) -> Schedule:
    """Parse an EventBridge `rate(...)` or `cron(...)` expression; raise ValidationFailed with the reason."""
    if not isinstance(expr, str):
        raise _invalid(f"{FORMAT_HINT}, got {type(expr).__name__}")
    text = expr.strip()
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise _invalid(f"schedule is too long ({len(text)} characters, at most {MAX_EXPRESSION_LENGTH})")
    if text.startswith("rate(") and text.endswith(")"):
        return _parse_rate(text, text[5:-1])
    if text.startswith("cron(") and text.endswith(")"):
        return _parse_cron(text, text[5:-1])
    raise _invalid(FORMAT_HINT)


def _parse_rate(text: str, body: str) -> RateSchedule:
    match = _RATE_BODY.fullmatch(body)
    if match is None:
        raise _invalid("rate must be 'rate(value unit)', e.g. rate(5 minutes)")
    value_text, unit = match.groups()
    if not re.fullmatch(r"[0-9]+", value_text) or int(value_text) == 0:
        raise _invalid(f"rate value must be a positive integer, got '{value_text}'")
    value = int(value_text)
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise _invalid(f"rate unit must be minute(s), hour(s) or day(s), got '{unit}'")
    if value == 1 and unit != singular:
        raise _invalid(f"rate unit must be '{singular}' when the value is 1")
    if value > 1 and unit == singular:
        raise _invalid(f"rate unit must be '{singular}s' when the value is greater than 1")
    try:
        period = _RATE_UNITS[singular] * value
    except OverflowError:
        raise _invalid(f"rate value {value} is too large") from None
    return RateSchedule(expression=text, period=period)


def _parse_cron(text: str, body: str) -> CronSchedule:
    fields = body.upper().split()
    if len(fields) != 6:
        raise _invalid(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}")
    minute_text, hour_text, dom_text, month_text, dow_text, year_text = fields
    if dom_text == "?" and dow_text == "?":
        raise _invalid("day-of-month and day-of-week cannot both be ?; specify one of them")
    if dom_text != "?" and dow_text != "?":
        raise _invalid("day-of-month and day-of-week cannot both be specified; use ? in one of them")
    days = _parse_day_of_week(dow_text) if dom_text == "?" else _parse_day_of_month(dom_text)
    schedule = CronSchedule(
        expression=text,
        minutes=tuple(sorted(_parse_values(minute_text, _MINUTES))),
        hours=tuple(sorted(_parse_values(hour_text, _HOURS))),
        days=days,
        months=tuple(sorted(_parse_values(month_text, _MONTH))),
        years=tuple(sorted(_parse_values(year_text, _YEAR))),
    )
    if schedule.next_fire(EPOCH - _MINUTE) is None:
        raise _invalid(f"cron never fires: no date from {MIN_YEAR} to {MAX_YEAR} matches it")
    return schedule


def _parse_day_of_month(text: str) -> DayRule:
    if text == "L":
        return DayRule("last")
    if text == "LW":
        return DayRule("last_weekday")
    if match := _NEAREST_WEEKDAY.fullmatch(text):
        return DayRule("nearest_weekday", day=_value(match[1], _DAY_OF_MONTH))
    if "L" in text or "W" in text:
        raise _invalid("day-of-month L, LW and nW (e.g. 15W) must be the field's only value")
    return DayRule("days", values=_parse_values(text, _DAY_OF_MONTH))


def _parse_day_of_week(text: str) -> DayRule:
    if text == "L":  # the last day of the week
        return DayRule("weekdays", values=frozenset({7}))
    if match := _LAST_OF_WEEKDAY.fullmatch(text):
        return DayRule("last_of_weekday", day=_value(match[1], _DAY_OF_WEEK))
    if match := _NTH_WEEKDAY.fullmatch(text):
        nth = int(match[2])
        if not 1 <= nth <= 5:
            raise _invalid(f"day-of-week occurrence after '#' must be 1-5, got {nth}")
        return DayRule("nth_weekday", day=_value(match[1], _DAY_OF_WEEK), nth=nth)
    if "#" in text or "L" in text:
        raise _invalid("day-of-week nL (e.g. 6L) and n#k (e.g. 2#1) must be the field's only value")
    return DayRule("weekdays", values=_parse_values(text, _DAY_OF_WEEK))


def _parse_values(text: str, spec: _Field) -> frozenset[int]:
    """A list of `*`, `n`, `a-b`, with an optional `/step` on each element."""
    if "?" in text:
        raise _invalid(f"{spec.name} cannot use '?'; it is only allowed alone in day-of-month or day-of-week")
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _invalid(f"{spec.name} has an empty list element in '{text}'")
        values.update(_parse_item(item, spec))
    return frozenset(values)


def _parse_item(item: str, spec: _Field) -> list[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not spec.steps:
            raise _invalid(f"{spec.name} does not allow '/' increments")
        span = spec.high - spec.low + 1
        if not re.fullmatch(r"[0-9]+", step_text) or not 1 <= int(step_text) <= span:
            raise _invalid(f"{spec.name} increment must be an integer from 1 to {span}, got '{step_text}'")
        step = int(step_text)
    if base == "*":
        start, end = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _value(first, spec), _value(last, spec)
    else:
        start = _value(base, spec)
        end = spec.high if slash else start
    if start <= end:
        values = list(range(start, end + 1))
    elif spec.wraps:
        values = list(range(start, spec.high + 1)) + list(range(spec.low, end + 1))
    else:
        raise _invalid(f"{spec.name} range '{base}' runs backwards")
    return values[::step]


def _value(token: str, spec: _Field) -> int:
    if token in spec.names:
        return spec.low + spec.names.index(token)
    if not re.fullmatch(r"[0-9]+", token):
        raise _invalid(f"{spec.name} value '{token}' is not valid; expected {spec.low}-{spec.high}{spec.hint}")
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise _invalid(f"{spec.name} value {value} is out of range {spec.low}-{spec.high}{spec.hint}")
    return value


# --- durations (rule fields `lookback`, `suppression`) -------------------------------------------

_DURATION_UNITS: dict[str, timedelta] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "week", "weeks"), timedelta(weeks=1)),
}
_DURATION = re.compile(r"([0-9]+) *([a-z]+)")
_DURATION_FORMAT = "a whole number and a unit, e.g. 30s, 5m, 1h, 2d, 1w or '15 minutes'"


def parse_duration(text: str, field: str) -> timedelta:
    """Parse `30s` / `5m` / `1h` / `2d` / `1w` or `15 minutes`; refuse zero, negatives and garbage."""
    if not isinstance(text, str):
        raise ValidationFailed(f"duration must be {_DURATION_FORMAT}, got {type(text).__name__}", field=field)
    cleaned = text.strip()
    if len(cleaned) > 64:
        raise ValidationFailed("duration is too long", field=field)
    match = _DURATION.fullmatch(cleaned)
    if match is None:
        if cleaned.startswith("-"):
            raise ValidationFailed(f"duration must be positive, got '{cleaned}'", field=field)
        raise ValidationFailed(f"duration must be {_DURATION_FORMAT}, got '{cleaned}'", field=field)
    count, unit = int(match[1]), _DURATION_UNITS.get(match[2])
    if unit is None:
        raise ValidationFailed(f"unknown duration unit '{match[2]}'; use s, m, h, d or w", field=field)
    if count == 0:
        raise ValidationFailed(f"duration must be greater than zero, got '{cleaned}'", field=field)
    try:
        return unit * count
    except OverflowError:
        raise ValidationFailed(f"duration '{cleaned}' is too large", field=field) from None
