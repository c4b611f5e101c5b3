"""Two dials in one call on a real Asterisk: the first callee is busy, the state entered on
DialBusy dials a second one, which answers and is bridged with the caller.

Regression test for B1: the busy callee's hangup events (its StasisEnd and ChannelDestroyed,
once flowrunner hung it up) were taken as the second dial's outcome (DialFailed, cause 16), and
the second callee, created but never dialled, entered the app as a new call and ran the flow
(or, when its StasisStart came before that ChannelDestroyed, was left in Asterisk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    Runner,
    ari,
    clean_call,
    lines_of,
    place_call,
    serving,
    transitions,
    wait_until,
)
from test_local_channel import Probe

FLOW = """\
version: 1
app: dial-twice
initial: first
on:
  StasisEnd: ended
states:
  first:
    do: [answer, {dial: {endpoint: Local/busy@callees, timeout: 10s}}]
    on: {DialBusy: second, DialFailed: second, DialNoAnswer: second, DialAnswered: talking}
  second:
    do: [{dial: {endpoint: Local/answer@callees, timeout: 10s, caller_id: "{{ caller.number }}"}}]
    on: {DialAnswered: talking, DialBusy: hang_up, DialFailed: hang_up, DialNoAnswer: hang_up}
  talking:
    after: {2s: hang_up}
  hang_up:
    do: [hangup]
  ended:
    final: true
"""


@pytest.fixture
def dial_twice(asterisk: None, tmp_path: Path) -> Iterator[Runner]:
    (tmp_path / "dial-twice.yaml").write_text(FLOW)
    flow = str(tmp_path / "dial-twice.yaml")
    with serving(tmp_path / "serve.log", flow) as runner, clean_call(runner):
        yield runner  # clean_call hangs up what is left (B1 left a callee behind)
    wait_until(lambda: not ari("GET", "bridges"), 5, "no bridge left in Asterisk")


@pytest.fixture
def probe() -> Iterator[Probe]:
    probe = Probe()
    try:
        yield probe
    finally:
        probe.close()


def test_a_dial_after_a_busy_callee_waits_for_its_own_callee(
    dial_twice: Runner, probe: Probe
) -> None:
    call = place_call("dial-twice", probe, callerId="1001")
    flow = lambda: transitions(dial_twice, call.name)  # noqa: E731
    wait_until(lambda: len(flow()) >= 3, 15, "the second dial's outcome")
    assert flow()[:3] == ["(start) -> first", "first -> second", "second -> talking"]
    reasons = [line["reason"] for line in lines_of(dial_twice, call.name, kind="transition")]
    assert reasons[1:3] == ["dial busy", "dial answered"]

    # talking: the caller and the second callee (its half in our app) share a bridge
    (bridge,) = ari("GET", "bridges")
    assert call.flow in bridge["channels"]
    (callee,) = set(bridge["channels"]) - {call.flow}
    callee_name = ari("GET", f"channels/{callee}")["name"]
    assert callee_name.startswith("Local/answer@callees-")
    assert callee_name.endswith(";1")

    wait_until(lambda: "hang_up -> ended" in flow(), 15, "the flow to end")
    assert flow()[3:] == ["talking -> hang_up", "hang_up -> ended"]
    # one "entered dial-twice" line: no callee ran the flow as a new call
    started = [line["channel"] for line in dial_twice.lines() if line.get("kind") == "start"]
    assert started == [call.name]
