"""Keeping calls a moment after they change (`keep_within`): a burst of messages is one
snapshot, the live loop wakes when it is due, and stopping keeps what waits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes import FakeKeeper, FakeTransport, Journal, write_file

from flowrunner.engine.machine import compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import load_flow
from flowrunner.ports import Response
from flowrunner.sim.clock import VirtualClock

FLOW = """\
version: 1
app: app
initial: start
on: {StasisEnd: ended}
states:
  start:
    do: [answer]
    after: {5s: ended}
  ended: {final: true}
"""


@dataclass
class CountingKeeper(FakeKeeper):
    kept: list[str] = field(default_factory=list)  # the state of each snapshot written

    def keep(self, channel: str, snapshot: str, version: str, flow_text: str) -> None:
        super().keep(channel, snapshot, version, flow_text)
        self.kept.append(json.loads(snapshot)["state"])


def runtime(tmp_path: Path, keeper: FakeKeeper) -> tuple[Runtime, FakeTransport, VirtualClock]:
    compiled = compile_flow(load_flow(write_file(tmp_path, FLOW)))
    transport, clock = FakeTransport(), VirtualClock()
    run = Runtime([compiled], transport, clock, Journal(), keeper=keeper, keep_within=0.05)
    return run, transport, clock


def start(run: Runtime, channel: str = "c1") -> None:
    run.post({"type": "StasisStart", "application": "app", "channel": {"id": channel}})
    run.drain()


def test_a_burst_of_messages_is_kept_once_when_due_and_the_loop_is_woken_for_it(
    tmp_path: Path,
) -> None:
    keeper = CountingKeeper()
    run, transport, clock = runtime(tmp_path, keeper)
    assert run.seconds_to_next_timer() is None  # no call, nothing to keep
    start(run)
    assert run.seconds_to_next_timer() == 0.05  # sooner than the flow's 5 s
    _, done = transport.waiting.pop(0)
    clock.advance_to(0.01)
    done(Response(204))
    run.drain()
    assert keeper.kept == []  # not yet: within 50 ms of the first change
    assert run.seconds_to_next_timer() == pytest.approx(0.04)
    clock.advance_to(0.05)
    run.fire_due_timers()  # as the live loop does: timers, then a drain, which keeps
    run.drain()
    assert keeper.kept == ["start"]  # the StasisStart and the answer's reply: one snapshot
    assert run.seconds_to_next_timer() == pytest.approx(4.95)
    run.drain()
    assert keeper.kept == ["start"]  # nothing changed since


def test_stopping_keeps_at_once_what_waits(tmp_path: Path) -> None:
    keeper = CountingKeeper()
    run, _, _ = runtime(tmp_path, keeper)
    start(run)
    run.keeping.flush()
    assert keeper.kept == ["start"]


def test_a_call_over_within_the_moment_is_never_written(tmp_path: Path) -> None:
    keeper = CountingKeeper()
    run, _, clock = runtime(tmp_path, keeper)
    start(run)
    run.post({"type": "StasisEnd", "application": "app", "channel": {"id": "c1"}})
    run.drain()
    clock.advance_to(1.0)
    run.fire_due_timers()
    run.drain()
    assert keeper.kept == []
    assert keeper.calls == {}


def test_a_call_that_ended_is_forgotten_with_the_next_batch_not_on_its_own(
    tmp_path: Path,
) -> None:
    """A call's end handed to the keeper at once made a store batch of its own (at 50 calls/s,
    most of the batches); it goes with the next calls kept."""
    keeper = CountingKeeper()
    run, transport, clock = runtime(tmp_path, keeper)
    start(run)
    clock.advance_to(0.05)
    run.drain()
    assert list(keeper.calls) == ["c1"]
    start(run, "c2")
    run.post({"type": "StasisEnd", "application": "app", "channel": {"id": "c1"}})
    run.drain()
    _, done = transport.waiting.pop(0)  # c1's answer, answered after its end
    done(Response(204))
    run.drain()
    assert list(keeper.calls) == ["c1"]  # not yet: within 50 ms of the first change
    clock.advance_to(0.1)
    run.drain()
    assert list(keeper.calls) == ["c2"]
    assert keeper.kept == ["start", "start"]


def test_run_due_handles_the_messages_the_timers_and_the_keeping_and_says_when_next(
    tmp_path: Path,
) -> None:
    keeper = CountingKeeper()
    run, transport, clock = runtime(tmp_path, keeper)
    assert run.run_due() is None  # no call: nothing is due, ever
    run.post({"type": "StasisStart", "application": "app", "channel": {"id": "c1"}})
    assert run.run_due() == 0.05  # the call started; it is kept in 50 ms, its timer is at 5 s
    _, done = transport.waiting.pop(0)
    done(Response(204))
    clock.advance_to(0.05)
    assert run.run_due() == pytest.approx(4.95)  # the reply handled, the call kept at once
    assert keeper.kept == ["start"]
    clock.advance_to(5.0)
    assert run.run_due() == pytest.approx(0.05)  # its end is handed to the store in 50 ms
    assert "c1" not in run.calls  # the flow's timer fired: the call reached `ended`
    assert [request.method for request, _ in transport.waiting] == ["DELETE"]  # its hangup
