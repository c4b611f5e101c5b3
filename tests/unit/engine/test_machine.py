from __future__ import annotations

from typing import Any

import pytest

from flowrunner.engine.machine import NOBODY, CompiledFlow


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
    assert channel_state.seat.call is NOBODY  # nobody is held once an event is handled


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


def test_a_callback_cannot_send_for_another_call(channel_state: CompiledFlow) -> None:
    other = Model()

    class Meddler(Model):
        def entered(self, state: str) -> None:
            channel_state.send(other, "after_2000ms")

    meddler = Meddler()
    with pytest.raises(RuntimeError, match="the channel-state machine is busy with another call"):
        channel_state.start(meddler)
    assert channel_state.seat.call is NOBODY
    channel_state.start(other)
    assert other.log == ["+ringing"]
