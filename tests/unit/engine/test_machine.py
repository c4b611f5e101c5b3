from __future__ import annotations

from flowrunner.engine.machine import CompiledFlow


class Model:
    def __init__(self) -> None:
        self.log: list[str] = []

    def entered(self, state: str) -> None:
        self.log.append(f"+{state}")

    def left(self, state: str) -> None:
        self.log.append(f"-{state}")


def test_one_class_per_flow_reacts_to_the_flows_events(channel_state: CompiledFlow) -> None:
    assert channel_state.machine_class.__name__ == "ChannelStateFlow"
    assert channel_state.events == {"after_2000ms", "after_4000ms", "StasisEnd"}


def test_instances_report_entering_and_leaving_to_their_model(
    channel_state: CompiledFlow,
) -> None:
    model = Model()
    machine = channel_state.new_machine(model)
    machine.send("after_2000ms")
    machine.send("ChannelVarset")  # no transition: ignored
    machine.send("StasisEnd")
    assert model.log == ["+ringing", "-ringing", "+answered", "-answered", "+ended"]
    assert machine.is_terminated


def test_the_flow_wide_transition_applies_in_every_live_state(
    channel_state: CompiledFlow,
) -> None:
    for event in ([], ["after_2000ms"], ["after_2000ms", "after_4000ms"]):
        machine = channel_state.new_machine(Model())
        for name in event:
            machine.send(name)
        machine.send("StasisEnd")
        assert machine.is_terminated


def test_machines_are_independent(channel_state: CompiledFlow) -> None:
    first, second = channel_state.new_machine(Model()), channel_state.new_machine(Model())
    first.send("after_2000ms")
    assert second.configuration_values == {"ringing"}
    assert first.configuration_values == {"answered"}
