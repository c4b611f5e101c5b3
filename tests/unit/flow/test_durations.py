"""parse_duration: `500ms`, `2s`, `1.5s`, `1m` -> seconds; anything else, a sentence why not."""

from __future__ import annotations

import pytest

from flowrunner.flow.durations import LONGEST, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2.0),
        ("1.5s", 1.5),
        ("1m", 60.0),
        ("0.5m", 30.0),
        ("1ms", 0.001),
        ("2000ms", 2.0),
        ("1440m", LONGEST),
        ("86400s", LONGEST),
        (" 2s ", 2.0),
    ],
)
def test_valid_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "2", "s", "2x", "2 s", "-1s", "+1s", "1.s", ".5s", "1e3ms", "2S", "1d"]
)
def test_a_duration_needs_a_number_and_a_unit(text: str) -> None:
    with pytest.raises(ValueError, match=r"^bad duration '.*': write a number and a unit, e\.g\."):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0ms", "0.0m", "0.000s"])
def test_a_duration_must_be_longer_than_zero(text: str) -> None:
    with pytest.raises(ValueError, match=f"^bad duration '{text}': it must be longer than 0$"):
        parse_duration(text)


def test_a_duration_may_be_in_hours() -> None:
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration("24h") == 86400.0


@pytest.mark.parametrize("text", ["1441m", "86401s", "86400001ms", "1440.1m", "25h"])
def test_a_duration_must_be_at_most_24h(text: str) -> None:
    with pytest.raises(ValueError, match=f"^bad duration '{text}': it must be at most 24h$"):
        parse_duration(text)


def test_zero_only_when_allowed() -> None:
    assert parse_duration("0s", allow_zero=True) == 0.0
    assert parse_duration("0ms", allow_zero=True) == 0.0
    with pytest.raises(ValueError, match="at most 24h"):
        parse_duration("1441m", allow_zero=True)
    with pytest.raises(ValueError, match="write a number and a unit"):
        parse_duration("-1s", allow_zero=True)
