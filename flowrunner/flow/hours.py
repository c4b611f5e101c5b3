"""Time in flows: the call's wall-clock time (`now`), and opening hours (`hours.NAME`).

A flow's `hours:` block names schedules: opening times per weekday, closed dates (holidays) and
dates with hours of their own, in a time zone. Pure: the time is given, never read here, so the
simulator and flow tests can set it (`at:`). Time zones come from `zoneinfo`, with the `tzdata`
package where the system has no zone database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOW_KEYS = frozenset(
    {"weekday", "time", "date", "hour", "minute", "day", "month", "year", "timezone"}
)
_RANGE = re.compile(r"^([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})$")

Ranges = tuple[tuple[int, int], ...]  # (from, to) in seconds since midnight; `to` excluded


class HoursError(ValueError):
    """A mistake in a schedule; the loader says where."""


@dataclass(frozen=True)
class Schedule:
    """When a line is open: by weekday (0 is Monday), except on closed dates and on dates with
    hours of their own."""

    zone: ZoneInfo
    week: Mapping[int, Ranges] = field(default_factory=dict)
    closed: frozenset[date] = frozenset()
    dates: Mapping[date, Ranges] = field(default_factory=dict)

    def is_open(self, wall: float) -> bool:
        local = datetime.fromtimestamp(wall, self.zone)
        day = local.date()
        if day in self.closed:
            return False
        ranges = self.dates.get(day, self.week.get(local.weekday(), ()))
        second = local.hour * 3600 + local.minute * 60 + local.second
        return any(start <= second < end for start, end in ranges)


def zone(name: str) -> ZoneInfo:
    """The time zone an IANA name says (`Europe/Paris`, `UTC`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(
            f"unknown time zone '{name}': write an IANA name, e.g. Europe/Paris"
        ) from None


def days(text: str) -> list[int]:
    """`mon`, `mon-fri`, `sat, sun`, `fri-mon` (wrapping): the weekdays (0 is Monday)."""
    found: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        start, end = _day(first), _day(last or first)
        found += [(start + i) % 7 for i in range((end - start) % 7 + 1)]
    return found


def _day(word: str) -> int:
    try:
        return DAYS.index(word.strip().lower())
    except ValueError:
        raise HoursError(f"'{word.strip()}' is not a day: write {', '.join(DAYS)}") from None


def ranges(value: str | list[str]) -> Ranges:
    """`09:00-12:30, 13:30-17:30` (or a list of such texts): times of day, in order."""
    texts = value if isinstance(value, list) else value.split(",")
    found = [_range(text.strip()) for text in texts]
    for (_, end), (start, _) in pairwise(found):
        if start < end:
            raise HoursError("the times overlap or are out of order: write them earliest first")
    return tuple(found)


def _range(text: str) -> tuple[int, int]:
    match = _RANGE.match(text)
    if not match:
        raise HoursError(f"'{text}' is not a time range: write HH:MM-HH:MM, e.g. 09:00-17:30")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise HoursError(f"'{text}' is not a time of day: from 00:00 to 24:00")
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if end <= start:
        midnight = f"{text[:5]}-24:00 and 00:00-{text[6:]} the next day"
        raise HoursError(f"'{text}' ends before it starts: across midnight, write {midnight}")
    return start, end


def day_of(text: str) -> date:
    """A date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date(text)
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> date:
    raise HoursError(f"'{text}' is not a date: write YYYY-MM-DD, e.g. 2026-12-25")


def clock_view(wall: float, tz: ZoneInfo) -> dict[str, object]:
    """What `now` holds in expressions: the time `wall` (epoch seconds) in zone `tz`."""
    local = datetime.fromtimestamp(wall, tz)
    return {
        "weekday": DAYS[local.weekday()],
        "time": local.strftime("%H:%M"),
        "date": local.date().isoformat(),
        "hour": local.hour,
        "minute": local.minute,
        "day": local.day,
        "month": local.month,
        "year": local.year,
        "timezone": tz.key,
    }
