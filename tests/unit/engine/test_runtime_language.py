"""Runtime behaviour behind the flow language: filters, ActionFailed, playbacks, loop guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeTransport, Journal, Rig

from flowrunner.engine.machine import compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import FlowError, load_flow
from flowrunner.sim.clock import VirtualClock

HEAD = "version: 1\napp: channel-state\ninitial: start\non: {StasisEnd: ended}\nstates:\n"
END = "  ended: {final: true}\n"


def rig_for(tmp_path: Path, states: str, head: str = HEAD) -> Rig:
    path = tmp_path / "flow.yaml"
    path.write_text(head + states + END)
    transport, clock, journal = FakeTransport(), VirtualClock(), Journal()
    runtime = Runtime([compile_flow(load_flow(str(path)))], transport, clock, journal)
    return Rig(runtime, transport, clock, journal)


def state_of(rig: Rig) -> str:
    return rig.runtime.calls["c1"].current


MENU = """  start:
    on:
      ChannelDtmfReceived:
        - {digit: "1", goto: one}
        - {goto: other}
      ChannelStateChange: {state: Up, goto: up}
  one: {on: {StasisEnd: ended}}
  other: {}
  up: {}
"""


@pytest.mark.parametrize(("digit", "state"), [("1", "one"), ("7", "other")])
def test_transitions_filter_on_the_digit(tmp_path: Path, digit: str, state: str) -> None:
    rig = rig_for(tmp_path, MENU)
    rig.event("StasisStart")
    rig.event("ChannelDtmfReceived", digit=digit)
    assert state_of(rig) == state


def test_transitions_filter_on_the_channel_state(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, MENU)
    rig.event("StasisStart")
    rig.event("ChannelStateChange")  # the rig's channel is in state Ring
    assert state_of(rig) == "start"
    rig.runtime.post({"type": "ChannelStateChange", "channel": {"id": "c1", "state": "Up"}})
    rig.runtime.drain()
    assert state_of(rig) == "up"


FAILING = """  start:
    do: [answer, ring]
    on:
      ActionFailed: [{action: answer, goto: sorry}]
  sorry: {do: [hangup]}
"""


def test_a_failed_action_goes_where_the_flow_says(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, FAILING)
    rig.event("StasisStart")
    rig.transport.reply(500)
    rig.runtime.drain()
    assert state_of(rig) == "sorry"
    assert rig.actions() == ["POST channels/c1/answer", "DELETE channels/c1"]  # ring dropped
    assert [f["level"] for _, k, _, f in rig.journal.records if k == "error"] == ["warning"]


def test_a_failure_the_flow_does_not_match_hangs_up(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, FAILING)
    rig.event("StasisStart")
    rig.transport.reply(204)  # answer ok
    rig.runtime.drain()
    assert rig.actions()[-1] == "POST channels/c1/ring"
    rig.transport.reply(500)  # ring fails: not handled by {action: answer}
    rig.runtime.drain()
    assert rig.runtime.calls == {}
    assert rig.actions()[-1] == "DELETE channels/c1"


PROMPTS = """  start:
    do: [{play: {media: "sound:a"}}]
    on:
      PlaybackFinished: second
      ChannelDtmfReceived: second
  second:
    do: [{play: {media: "sound:b"}}]
    on: {PlaybackFinished: ended}
"""


def finished(rig: Rig, playback_id: str) -> None:
    rig.event("PlaybackFinished", playback={"id": playback_id})


def test_only_the_current_states_playback_finishing_counts(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, PROMPTS)
    rig.event("StasisStart")
    rig.answer_all()
    rig.event("ChannelDtmfReceived", digit="5")  # leave start while sound:a plays
    rig.answer_all()
    assert rig.actions() == [
        "POST channels/c1/play/c1-play-1",
        "DELETE playbacks/c1-play-1",  # barge-in: the prompt is stopped first
        "POST channels/c1/play/c1-play-2",
    ]
    finished(rig, "c1-play-1")  # the stopped prompt's event: not this state's
    assert state_of(rig) == "second"
    finished(rig, "c1-play-2")
    assert rig.runtime.calls == {}


def test_stopping_a_playback_that_already_ended_is_fine(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, PROMPTS)
    rig.event("StasisStart")
    rig.answer_all()
    rig.event("ChannelDtmfReceived", digit="5")
    rig.transport.reply(404)  # the stop: the prompt had just finished
    rig.runtime.drain()
    assert state_of(rig) == "second"
    assert rig.actions()[-1] == "POST channels/c1/play/c1-play-2"


def test_the_loop_guard_ends_a_flow_that_never_settles(tmp_path: Path) -> None:
    head = HEAD.replace("states:\n", "limits: {max_steps: 5}\nstates:\n")
    states = "  start: {after: {1s: again}}\n  again: {after: {1s: start}}\n"
    rig = rig_for(tmp_path, states, head)
    rig.event("StasisStart")
    for second in range(1, 10):
        rig.at(float(second))
    assert rig.runtime.calls == {}
    assert rig.journal.messages("error") == ["loop guard: more than 5 state changes"]
    assert rig.actions() == ["DELETE channels/c1"]


def test_a_transition_after_a_catch_all_is_reported(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    menu = MENU.replace("- {goto: other}", '- {goto: other}\n        - {digit: "2", goto: one}')
    flow.write_text(HEAD + menu + END)
    with pytest.raises(FlowError) as caught:
        load_flow(str(flow))
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{flow}:11:30: states.start.on.ChannelDtmfReceived[2].goto: "
        "never taken: an earlier ChannelDtmfReceived transition has no filter or guard"
    )


def test_flow_wide_filtered_transitions_apply_after_a_states_own(tmp_path: Path) -> None:
    head = HEAD.replace(
        "on: {StasisEnd: ended}",
        'on: {StasisEnd: ended, ChannelDtmfReceived: {digit: "*", goto: op}}',
    )
    states = '  start: {on: {ChannelDtmfReceived: {digit: "1", goto: one}}}\n  one: {}\n  op: {}\n'
    rig: Any = rig_for(tmp_path, states, head)
    rig.event("StasisStart")
    rig.event("ChannelDtmfReceived", digit="*")
    assert state_of(rig) == "op"


def test_actions_dropped_by_leaving_a_state_are_logged(tmp_path: Path) -> None:
    states = "  start:\n    do: [ring, answer]\n    after: {1s: next}\n  next: {}\n"
    rig = rig_for(tmp_path, states)
    rig.event("StasisStart")  # ring is in flight; answer waits behind it
    rig.at(1.0)  # the timer fires before ring's reply comes back
    warnings = [m for _, k, m, f in rig.journal.records if f.get("level") == "warning"]
    assert warnings == ["left start before its actions were sent: dropped answer"]
    rig.answer_all()
    assert rig.actions() == ["POST channels/c1/ring"]


GOES_ON = """  start:
    do: [answer, {set: {n: "{{ n + 1 }}"}}]
    then:
      - {when: "n >= 3", goto: done}
      - {goto: again}
  again:
    then: start
  done:
    do: [{play: {media: "sound:bye"}}]
    then: ended
"""
COUNTER = HEAD.replace("states:\n", "vars: {n: 0}\nstates:\n")


def test_then_goes_on_once_the_actions_are_done_with_no_event(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, GOES_ON, COUNTER)
    rig.event("StasisStart")
    rig.at(0.0)
    assert state_of(rig) == "start"  # the answer is not answered yet: the step is not done
    for _ in range(3):
        rig.answer_all()
        rig.at(0.0)  # the zero timer of start's `then`: to again
        rig.at(0.0)  # and again's: back to start, or on to done
    assert state_of(rig) == "done"
    assert rig.runtime.calls["c1"].vars["n"] == 3
    rig.answer_all()
    rig.at(0.0)
    assert state_of(rig) == "done"  # the prompt still plays: its step is not done
    finished(rig, "c1-play-1")
    rig.at(0.0)
    assert rig.runtime.calls == {}
    reasons = [line for line in rig.journal.messages("transition") if "actions done" in line]
    assert reasons[:2] == ["start -> again (actions done)", "again -> start (actions done)"]


def test_then_is_not_taken_when_an_event_left_the_state_first(tmp_path: Path) -> None:
    states = "  start:\n    do: [answer]\n    on: {ChannelDtmfReceived: other}\n    then: next\n"
    states += "  next: {}\n  other: {}\n"
    rig = rig_for(tmp_path, states)
    rig.event("StasisStart")
    rig.answer_all()
    rig.event("ChannelDtmfReceived", digit="1")  # before the zero timer fires
    rig.at(0.0)
    assert state_of(rig) == "other"


def test_then_looping_on_itself_trips_the_loop_guard_not_the_stack(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, "  start: {then: start}\n")
    rig.event("StasisStart")
    for _ in range(2100):
        rig.at(0.0)
    assert rig.runtime.calls == {}
    assert rig.journal.messages("error") == ["loop guard: more than 1000 state changes"]
    assert rig.actions() == ["DELETE channels/c1"]


GUARDED_TIMERS = """  start:
    do: [{set: {vip: "{{ caller.number == '100' }}"}}]
    after:
      2s:
        - {when: "vip", goto: priority}
        - {when: "false", goto: never}
      5s: {goto: queue, when: "not vip"}
  priority: {}
  queue: {}
  never: {}
"""


@pytest.mark.parametrize(("number", "at", "state"), [("100", 2, "priority"), ("7", 5, "queue")])
def test_timers_take_guards(tmp_path: Path, number: str, at: float, state: str) -> None:
    rig = rig_for(tmp_path, GUARDED_TIMERS)
    caller = {"id": "c1", "name": "PJSIP/c1", "caller": {"number": number}}
    rig.runtime.post({"type": "StasisStart", "application": "channel-state", "channel": caller})
    rig.runtime.drain()
    rig.at(at - 0.001)
    assert state_of(rig) == "start"
    rig.at(at)
    assert state_of(rig) == state
