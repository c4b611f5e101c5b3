"""bench/scale_out.py's pure logic: which rate is "the highest meeting the goal", and how a
per-call hangup is timed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import scale_out  # bench/ is not a package: it is put on the path just above
from sipcall import CallReport, CallResult  # scripts/, put on the path by scale_out


def test_the_highest_rate_is_the_last_before_the_first_failure() -> None:
    runs = [(100.0, True), (25.0, True), (150.0, True), (50.0, False)]
    assert scale_out.highest_passing(runs) == 25.0


def test_an_inconclusive_run_is_skipped_not_failed() -> None:
    runs = [(25.0, True), (50.0, None), (100.0, True), (150.0, False)]
    assert scale_out.highest_passing(runs) == 100.0


def test_nothing_passes_when_the_lowest_rate_fails() -> None:
    assert scale_out.highest_passing([(25.0, False), (50.0, True)]) is None
    assert scale_out.highest_passing([(25.0, None)]) is None
    assert scale_out.highest_passing([]) is None


def call(number: int, ring: int, answer: int, hangup: int) -> CallResult:
    return CallResult(number, "ok", ring_ms=ring, answer_ms=answer, hangup_ms=hangup)


def test_errors_are_timed_from_the_ring_and_the_bye_at_once_or_500_ms_late() -> None:
    report = CallReport(
        "3000",
        "uac",
        calls=[
            call(1, 504, 2508, 7008),  # answer 2004 after the ring; BYE 504 late: error 4
            call(2, 504, 2516, 6508),  # answer 2012 after; BYE 4 ms late, at once: error 4
            call(3, 508, 2508, 6808),  # BYE 300 ms late: 200 from the nearer of 0 and 500
        ],
        wall_s=9.0,
        sipp_exit=0,
    )
    result = scale_out.CallsResult("1 runner", "per-call", 1.0, 3.0, 3)
    scale_out.timing(result, report)
    assert (result.answer_error.p50, result.answer_error.max) == (4, 12)
    assert result.bye_lag.max == 504
    assert sorted([result.hangup_error.p50, result.hangup_error.max]) == [4, 200]
