"""Real SIP calls from sipp into extension 1000, served by a real `flowrunner serve`."""

from __future__ import annotations

from typing import Any

import sipcall
from conftest import Runner, channels_left, sandbox, transitions, wait_until

REFERENCE = [
    "(start) -> ringing",
    "ringing -> answered",
    "answered -> hanging_up",
    "hanging_up -> ended",
]


def assert_reference_timing(call: sipcall.CallResult) -> None:
    """What the caller sees: ringing at once, 200 OK at 2.0 s, BYE at 6.0 s: never early, and
    late by less than a second even on a busy machine (the benches measure how late)."""
    assert call.outcome == "ok", call.reason
    ring, answer, hangup = call.ring_ms, call.answer_ms, call.hangup_ms
    assert ring is not None
    assert answer is not None
    assert hangup is not None
    assert ring < 1000
    assert 1990 <= answer < 3000
    assert 5990 <= hangup < 7000
    assert call.hangup_by == "remote"


def flows_of_sip_channels(runner: Runner) -> dict[str, list[str]]:
    names = {line["channel"] for line in runner.lines() if line.get("kind") == "start"}
    return {name: transitions(runner, name) for name in names if name.startswith("PJSIP/")}


def test_ten_sip_calls_at_5_per_second_see_ring_answer_hangup_on_time(runner: Runner) -> None:
    report = sipcall.place_calls(10, 5, "1000")
    assert len(report.calls) == 10
    for call in report.calls:
        assert_reference_timing(call)
    wait_until(lambda: len(flows_of_sip_channels(runner)) == 10, 5, "ten flows in the log")
    flows = flows_of_sip_channels(runner)
    wait_until(
        lambda: all(len(t) == 4 for t in flows_of_sip_channels(runner).values()),
        5,
        "every flow to end",
    )
    assert all(t == REFERENCE for t in flows_of_sip_channels(runner).values()), flows


def test_the_caller_hangs_up_at_1s_before_the_answer(runner: Runner) -> None:
    report = sipcall.place_calls(1, 1, "1000", scenario="uac-hangup", hangup_after_ms=1000)
    (call,) = report.calls
    assert call.outcome == "ok", call.reason
    assert call.answer_ms is None  # no 200 OK was sent
    assert call.hangup_by == "caller"
    wait_until(
        lambda: any(len(t) == 2 for t in flows_of_sip_channels(runner).values()),
        5,
        "the flow to end",
    )
    (flow,) = flows_of_sip_channels(runner).values()
    assert flow == ["(start) -> ringing", "ringing -> ended"]
    actions = [line["action"] for line in runner.lines() if line.get("kind") == "action"]
    assert actions == ["ring"]  # the 2 s timer was cancelled: no answer, no hangup


def test_the_runner_reconnects_by_itself_after_asterisk_restarts(
    asterisk: Any, tmp_path: Any
) -> None:
    runner = Runner(tmp_path / "serve.log", "flows/channel-state.yaml")
    try:
        runner.wait_connected()
        sandbox("restart")
        runner.wait_connected(times=2, timeout=60)
        (call,) = sipcall.place_calls(1, 1, "1000").calls
        assert_reference_timing(call)
    finally:
        assert runner.stop() == 0
    assert any("reconnecting to ARI" in m for m in runner.messages())
    wait_until(lambda: not channels_left(), 15, "no channel left in Asterisk")


def test_smoke_load_100_calls_at_20_per_second(runner: Runner) -> None:
    """A small load in CI: no call fails and (checked by the fixture) no channel is left.
    Timings are the load bench's business (bench/load.py), not a test's: machines are noisy."""
    report = sipcall.place_calls(100, 20, "1000")
    failed = [call for call in report.calls if call.outcome != "ok"]
    assert len(report.calls) == 100
    assert not failed, failed[:3]
