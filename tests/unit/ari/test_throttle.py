from __future__ import annotations

import logging

import pytest

from flowrunner.ari.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_the_first_of_a_kind_is_logged_the_next_counted_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    throttle = Throttle(logging.getLogger("test.throttle"), every=60.0, clock=clock)
    for _ in range(1000):
        throttle.warn("not JSON", "JSONDecodeError")
    throttle.warn("not a JSON object", "list")
    assert lines(caplog) == [
        "ignored an ARI message: not JSON (JSONDecodeError); more like it are counted, "
        "in one line a minute",
        "ignored an ARI message: not a JSON object (list); more like it are counted, "
        "in one line a minute",
    ]
    caplog.clear()
    clock.now = 30.0
    throttle.flush()
    assert lines(caplog) == []
    clock.now = 61.0
    throttle.flush()
    assert lines(caplog) == ["ignored 999 more ARI message(s) in 61s: not JSON"]
    caplog.clear()
    clock.now = 130.0  # a quiet minute for both: the next of each is logged at once
    throttle.flush()
    throttle.warn("not JSON", "UnicodeDecodeError")
    assert lines(caplog) == [
        "ignored an ARI message: not JSON (UnicodeDecodeError); more like it are counted, "
        "in one line a minute"
    ]
