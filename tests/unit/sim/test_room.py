"""The simulated conference room: the others a flow test puts in it, and the channel list its
bridge events carry (the counts the flow hears). That a restored call does the same is checked
with every shipped flow test case in tests/unit/engine/test_snapshot.py."""

from __future__ import annotations

from pathlib import Path

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import load_flow
from flowrunner.flowtest.cases import load_test_file
from flowrunner.sim.asterisk import Room
from flowrunner.sim.run import CallerStep, simulate

REPO = Path(__file__).parents[3]
CASES = load_test_file(str(REPO / "flows" / "conference.test.yaml")).cases
PIN = [CallerStep(0.5 + n / 10, "dtmf", digit) for n, digit in enumerate("1234")]


def bridge_counts(room: Room, *caller: CallerStep) -> list[tuple[str, int]]:
    compiled = compile_flow(load_flow(str(REPO / "flows" / "conference.yaml")))
    result = simulate(compiled, [*PIN, *caller], room=room)
    return [
        (h.fields["event"], h.fields["count"])
        for h in result.timeline
        if h.kind == "action" and "count" in h.fields
    ]


def test_a_case_puts_others_in_the_room_and_has_them_come_and_go() -> None:
    (case,) = [c for c in CASES if c.name.startswith("with two in the room")]
    assert case.room == Room(others=2, joins=(3.0,), leaves=(6.0,))


def test_the_counts_the_flow_hears_are_the_rooms_channel_list() -> None:
    counts = bridge_counts(Room(others=2, joins=(3.0,), leaves=(6.0, 7.0)))
    assert counts == [
        ("ConferenceJoined", 3),
        ("ParticipantJoined", 4),
        ("ParticipantLeft", 3),
        ("ParticipantLeft", 2),
    ]


def test_no_one_leaves_an_empty_room_and_no_one_is_heard_of_once_the_caller_left() -> None:
    counts = bridge_counts(Room(leaves=(2.0,), joins=(6.0,)), CallerStep(5.0, "dtmf", "#"))
    assert counts == [("ConferenceJoined", 1)]
