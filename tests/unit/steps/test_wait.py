"""`wait`: the state's next action waits; the state's transitions do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeTransport, Journal, Rig, load_problems, write_file

from flowrunner.engine.machine import compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import load_flow
from flowrunner.sim.clock import VirtualClock
from flowrunner.sim.run import CallerStep, simulate

FLOW = """\
version: 1
app: channel-state
initial: start
on: {StasisEnd: ended}
states:
  start:
    do: [answer, {wait: {for: 1500ms}}, {play: {media: sound:hello}}]
    on: {ChannelDtmfReceived: left}
  left: {}
  ended: {final: true}
"""


def rig(tmp_path: Path) -> Rig:
    compiled = compile_flow(load_flow(write_file(tmp_path, FLOW)))
    transport, clock, journal = FakeTransport(), VirtualClock(), Journal()
    return Rig(Runtime([compiled], transport, clock, journal), transport, clock, journal)


def test_the_next_action_starts_when_the_wait_is_over(tmp_path: Path) -> None:
    call = rig(tmp_path)
    call.event("StasisStart")
    call.answer_all()
    call.at(1.499)
    assert call.actions() == ["POST channels/c1/answer"]
    call.at(1.5)
    assert call.actions()[-1] == "POST channels/c1/play/c1-play-1"


def test_leaving_the_state_ends_the_wait_and_drops_what_came_after(tmp_path: Path) -> None:
    call = rig(tmp_path)
    call.event("StasisStart")
    call.answer_all()
    call.event("ChannelDtmfReceived", digit="1")
    call.at(5.0)
    assert call.actions() == ["POST channels/c1/answer"]
    assert call.runtime.calls["c1"].current == "left"


def test_a_waiting_call_restored_from_its_snapshot_goes_on_the_same(tmp_path: Path) -> None:
    compiled = compile_flow(load_flow(write_file(tmp_path, FLOW)))
    for caller in ([], [CallerStep(0.7, "dtmf", "1")], [CallerStep(3.0, "hangup")]):
        plain, reloaded = simulate(compiled, caller), simulate(compiled, caller, reload=True)
        assert [(s.at, s.action) for s in reloaded.sent] == [(s.at, s.action) for s in plain.sent]
        assert reloaded.final_state == plain.final_state


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2 s", "'2 s' is not a duration: write 2s"),
        ("2m", "'for' must be at most 60s"),
    ],
)
def test_a_bad_wait_is_a_load_error_at_its_value(tmp_path: Path, value: str, message: str) -> None:
    path = write_file(tmp_path, FLOW.replace("1500ms", f"'{value}'"))
    assert load_problems(path) == [f"{path}:7:31: states.start.do[1].wait.for: {message}"]
