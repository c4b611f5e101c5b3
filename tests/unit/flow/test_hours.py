"""hours: `now` and opening hours, from a given time; their mistakes, at their position."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fakes import load_problems, write_file

from flowrunner.flow import load_flow
from flowrunner.flow.hours import HoursError, clock_view, days, ranges, zone


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


OFFICE = """version: 1
app: demo
initial: start
timezone: Europe/Paris
hours:
  office:
    week:
      mon-fri: 09:00-12:30, 13:30-17:30
      sat: [10:00-13:00]
    closed: [2026-12-25]
    dates:
      2026-12-24: 09:00-12:00
      2026-12-27: 10:00-16:00
  night:
    timezone: America/New_York
    week: {fri-mon: 00:00-24:00}
on: {StasisEnd: ended}
states:
  start:
    then:
      - {when: "hours.office", goto: open}
      - {goto: ended}
  open: {}
  ended: {final: true}
"""


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("hours") / "flow.yaml"
    path.write_text(OFFICE)
    return dict(load_flow(str(path)).hours)


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        ("2026-12-01T09:00:00+01:00", True),  # Tuesday, opening time
        ("2026-12-01T08:59:59+01:00", False),
        ("2026-12-01T08:30:00+00:00", True),  # 09:30 in Paris
        ("2026-12-01T12:30:00+01:00", False),  # lunch: the end is not included
        ("2026-12-01T13:30:00+01:00", True),
        ("2026-12-01T17:29:59+01:00", True),
        ("2026-12-05T12:00:00+01:00", True),  # Saturday
        ("2026-12-06T12:00:00+01:00", False),  # Sunday: not given, closed
        ("2026-12-25T10:00:00+01:00", False),  # a Friday, but a holiday
        ("2026-12-24T11:00:00+01:00", True),  # a Thursday with hours of its own
        ("2026-12-24T14:00:00+01:00", False),
        ("2026-12-27T15:00:00+01:00", True),  # a Sunday with hours of its own
        ("2026-07-01T07:30:00+00:00", True),  # summer time: 09:30 in Paris
        ("2026-07-01T06:30:00+00:00", False),  # 08:30 in Paris
    ],
)
def test_a_schedule_is_open_at_its_times_in_its_zone(
    office: dict[str, object], at: str, is_open: bool
) -> None:
    assert office["office"].is_open(epoch(at)) is is_open  # type: ignore[attr-defined]


def test_a_range_of_days_may_wrap_round_the_week(office: dict[str, object]) -> None:
    night = office["night"]
    found = [night.is_open(epoch(f"2026-12-{day:02}T12:00:00-05:00")) for day in range(1, 8)]  # type: ignore[attr-defined]
    assert found == [False, False, False, True, True, True, True]  # Tue .. Mon


def test_now_holds_the_time_in_the_zone() -> None:
    assert clock_view(epoch("2026-12-24T15:05:09+00:00"), zone("Europe/Paris")) == {
        "weekday": "thu",
        "time": "16:05",
        "date": "2026-12-24",
        "hour": 16,
        "minute": 5,
        "day": 24,
        "month": 12,
        "year": 2026,
        "timezone": "Europe/Paris",
    }


def test_days_and_ranges_read_the_usual_spellings() -> None:
    assert days("mon-fri") == [0, 1, 2, 3, 4]
    assert days("Sat, sun") == [5, 6]
    assert days("sun-tue") == [6, 0, 1]
    assert ranges("09:00-12:30, 13:30-24:00") == ((32400, 45000), (48600, 86400))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9:00-12:00", "'9:00-12:00' is not a time range: write HH:MM-HH:MM, e.g. 09:00-17:30"),
        ("09:00-25:00", "'09:00-25:00' is not a time of day: from 00:00 to 24:00"),
        (
            "22:00-02:00",
            "'22:00-02:00' ends before it starts: across midnight, write 22:00-24:00 and "
            "00:00-02:00 the next day",
        ),
        (
            "13:00-17:00, 09:00-12:00",
            "the times overlap or are out of order: write them earliest first",
        ),
    ],
)
def test_a_bad_range_says_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        ranges(text)
    assert str(caught.value) == message


BROKEN = """version: 1
app: demo
initial: start
timezone: Europe/Pariss
hours:
  office:
    timezone: Mars/Olympus
    week:
      mon-fry: 09:00-17:00
      mon: 9-5
      tue, tue: 09:00-17:00
    closed: [2026-02-30, "24/12/2026"]
    dates:
      2026-13-01: 09:00-12:00
states:
  start:
    on: {StasisEnd: ended}
    then:
      - {when: "hours.ofice or now.weekdy == 'mon'", goto: ended}
      - {goto: ended}
  ended: {final: true}
"""


def test_every_mistake_in_the_hours_is_reported_where_it_is(tmp_path: Path) -> None:
    path = write_file(tmp_path, BROKEN)
    assert load_problems(path) == [
        f"{path}:4:11: timezone: unknown time zone 'Europe/Pariss': write an IANA name, "
        "e.g. Europe/Paris",
        f"{path}:7:15: hours.office.timezone: unknown time zone 'Mars/Olympus': write an IANA "
        "name, e.g. Europe/Paris",
        f"{path}:9:7: hours.office.week.mon-fry: 'fry' is not a day: write mon, tue, wed, thu, "
        "fri, sat, sun",
        f"{path}:10:12: hours.office.week.mon: '9-5' is not a time range: write HH:MM-HH:MM, "
        "e.g. 09:00-17:30",
        f"{path}:11:7: hours.office.week.tue, tue: tue is given twice",
        f"{path}:12:14: hours.office.closed[0]: '2026-02-30' is not a date: write YYYY-MM-DD, "
        "e.g. 2026-12-25",
        f"{path}:12:26: hours.office.closed[1]: '24/12/2026' is not a date: write YYYY-MM-DD, "
        "e.g. 2026-12-25",
        f"{path}:14:7: hours.office.dates.2026-13-01: '2026-13-01' is not a date: write "
        "YYYY-MM-DD, e.g. 2026-12-25",
        f"{path}:19:23: states.start.then[0].when: hours has no 'ofice'; did you mean 'office'?",
        f"{path}:19:36: states.start.then[0].when: now has no 'weekdy'; did you mean 'weekday'?",
    ]


def test_a_flow_without_hours_says_so(tmp_path: Path) -> None:
    text = "version: 1\napp: demo\ninitial: start\nstates:\n  start:\n    then:\n"
    text += "      - {when: hours.office, goto: ended}\n      - {goto: ended}\n"
    text += "  ended: {final: true}\n"
    path = write_file(tmp_path, text)
    assert load_problems(path) == [
        f"{path}:7:22: states.start.then[0].when: hours has no 'office': the flow has no hours; "
        "add them under hours:"
    ]
