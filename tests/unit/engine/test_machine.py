from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from fakes import write_file

from flowrunner.engine.machine import CompiledFlow, Decision, compile_flow
from flowrunner.flow import load_flow


class Model:
    def __init__(self) -> None:
        self.state: Any = None
        self.log: list[str] = []

    def entered(self, state: str) -> None:
        self.log.append(f"+{state}")

    def left(self, state: str) -> None:
        self.log.append(f"-{state}")

    def scope(self, event: Any = None) -> dict[str, Any]:
        return {}


def test_one_class_per_flow_reacts_to_the_flows_events(channel_state: CompiledFlow) -> None:
    assert channel_state.machine_class.__name__ == "ChannelStateFlow"
    assert channel_state.events == {"after_2000ms", "after_4000ms", "StasisEnd"}


def test_calls_report_entering_and_leaving_to_their_model(
    channel_state: CompiledFlow,
) -> None:
    model = Model()
    channel_state.start(model)
    channel_state.send(model, "after_2000ms")
    channel_state.send(model, "ChannelVarset")  # no transition: ignored
    channel_state.send(model, "StasisEnd")
    assert model.log == ["+ringing", "-ringing", "+answered", "-answered", "+ended"]
    assert model.state == "ended"


def test_the_flow_wide_transition_applies_in_every_live_state(
    channel_state: CompiledFlow,
) -> None:
    for event in ([], ["after_2000ms"], ["after_2000ms", "after_4000ms"]):
        model = Model()
        channel_state.start(model)
        for name in event:
            channel_state.send(model, name)
        channel_state.send(model, "StasisEnd")
        assert model.state == "ended"


def test_calls_share_the_machine_not_their_state(channel_state: CompiledFlow) -> None:
    first, second = Model(), Model()
    channel_state.start(first)
    channel_state.start(second)
    channel_state.send(first, "after_2000ms")
    channel_state.send(first, "StasisEnd")  # a final state stops nothing for the others
    channel_state.send(second, "after_2000ms")
    assert (first.state, second.state) == ("ended", "answered")
    assert second.log == ["+ringing", "-ringing", "+answered"]
    assert channel_state.seat.call is None  # nobody is held once an event is handled


def test_a_call_can_start_elsewhere_and_carry_on_from_any_state(
    channel_state: CompiledFlow,
) -> None:
    recovered, restored = Model(), Model()
    channel_state.start(recovered, start="answered")
    restored.state = "answered"  # as a snapshot leaves it: nothing is entered
    channel_state.send(restored, "after_4000ms")
    assert recovered.log == ["+answered"]
    assert restored.log == ["-answered", "+hanging_up"]
    fresh = Model()
    channel_state.start(fresh)  # the start of one call is not the next call's
    assert fresh.log == ["+ringing"]


def test_a_call_leaves_nothing_for_the_cyclic_collector(channel_state: CompiledFlow) -> None:
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            model = Model()
            channel_state.start(model)
            for name in ("after_2000ms", "ChannelVarset", "after_4000ms", "StasisEnd"):
                channel_state.send(model, name)
        del model
        assert gc.collect() == 0
    finally:
        gc.enable()


GUARDED = """version: 1
app: guarded
initial: menu
on: {StasisEnd: ended}
vars: {tries: 0}
states:
  menu:
    on:
      ChannelDtmfReceived:
        - {digit: "1", goto: one}
        - {when: "tries > 2", goto: ended}
        - {goto: menu}
  one: {}
  ended: {final: true}
"""


class Caller(Model):
    def __init__(self, tries: int) -> None:
        super().__init__()
        self.tries = tries

    def scope(self, event: Any = None) -> dict[str, Any]:
        return {"tries": self.tries, "event": event}


def test_guarded_moves_are_decided_for_each_call(tmp_path: Path) -> None:
    compiled = compile_flow(load_flow(write_file(tmp_path, GUARDED)))
    calls = {"new": Caller(0), "pressed 1": Caller(0), "tried thrice": Caller(3)}
    for call in calls.values():
        compiled.start(call)
    compiled.send(calls["pressed 1"], "ChannelDtmfReceived", {"digit": "1"})
    compiled.send(calls["tried thrice"], "ChannelDtmfReceived", {"digit": "5"})
    compiled.send(calls["new"], "ChannelDtmfReceived", {"digit": "5"})
    states = {name: call.state for name, call in calls.items()}
    assert states == {"new": "menu", "pressed 1": "one", "tried thrice": "ended"}
    assert calls["new"].log == ["+menu", "-menu", "+menu"]  # a self-transition re-enters
    assert ("menu", "ChannelDtmfReceived") not in compiled.decided  # asked each time
    compiled.send(calls["new"], "StasisEnd")
    assert ("menu", "StasisEnd") in compiled.decided


def test_an_unguarded_move_is_decided_once_and_followed_after(
    channel_state: CompiledFlow,
) -> None:
    first, second = Model(), Model()
    for call in (first, second):
        channel_state.start(call)
        channel_state.send(call, "after_2000ms")
    assert first.log == second.log == ["+ringing", "-ringing", "+answered"]
    assert channel_state.decided[("ringing", "after_2000ms")] == Decision(
        (("left", "ringing"), ("entered", "answered")), "answered"
    )
    channel_state.send(second, "after_2000ms")  # answered has no such move: nothing happens
    assert second.state == "answered"
    assert ("answered", "after_2000ms") not in channel_state.decided


def test_a_guard_cannot_send_for_another_call(tmp_path: Path) -> None:
    compiled = compile_flow(load_flow(write_file(tmp_path, GUARDED)))
    other = Caller(0)

    class Meddler(Caller):
        def scope(self, event: Any = None) -> dict[str, Any]:
            compiled.send(other, "ChannelDtmfReceived", {"digit": "5"})
            return super().scope(event)

    meddler, message = Meddler(0), "the guarded machine is busy with another call"
    compiled.start(meddler)
    compiled.start(other)
    with pytest.raises(RuntimeError, match=message):
        compiled.send(meddler, "ChannelDtmfReceived", {"digit": "5"})
    assert compiled.seat.call is None  # the next call is served
    compiled.send(other, "ChannelDtmfReceived", {"digit": "1"})
    assert other.state == "one"
