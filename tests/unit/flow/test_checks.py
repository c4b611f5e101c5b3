"""checks: what the schema cannot see: names that must exist, and states every call can leave."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import load_problems, write_file

from flowrunner.flow import load_flow

write = write_file


def problems(tmp_path: Path, text: str) -> tuple[str, list[str]]:
    """The path of a flow file holding `text`, and the problems loading it gives."""
    path = write(tmp_path, text)
    return path, load_problems(path)


HEAD = "version: 1\napp: demo\ninitial: start\nstates:\n"

STUCK = "the call can never end from here: no path leads to a final state (add on: StasisEnd)"


# Names that must exist


def test_an_unknown_target_suggests_the_closest_state(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        HEAD + "  start:\n    on:\n      StasisEnd: endd\n  ended:\n    final: true\n",
    )
    assert found == [
        f"{path}:7:18: states.start.on.StasisEnd: unknown state 'endd'; did you mean 'ended'?"
    ]


def test_an_unknown_timer_target_points_at_the_delay(tmp_path: Path) -> None:
    text = HEAD + "  start:\n    after:\n      2s: endd\n    on: {StasisEnd: ended}\n"
    path, found = problems(tmp_path, text + "  ended:\n    final: true\n")
    assert found == [
        f"{path}:7:7: states.start.after.2s: unknown state 'endd'; did you mean 'ended'?"
    ]


def test_an_unknown_target_in_the_top_level_on_lists_the_states(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: start
        on:
          StasisEnd: zzz
        states:
          start:
            on: {StasisEnd: ended}
          ended:
            final: true
        """,
    )
    assert found == [f"{path}:5:14: on.StasisEnd: unknown state 'zzz'; states are: start, ended"]


@pytest.mark.parametrize(
    ("initial", "hint"),
    [("strat", "did you mean 'start'?"), ("zzz", "states are: start, ended")],
)
def test_an_unknown_initial_state(tmp_path: Path, initial: str, hint: str) -> None:
    text = HEAD.replace("initial: start", f"initial: {initial}")
    path, found = problems(tmp_path, text + "  start:\n    on: {StasisEnd: ended}\n  ended: {}\n")
    # and in the same pass, what needs no initial state (the reachability checks do)
    assert found == [
        f"{path}:3:10: states: no final state: add one for the call to end in, e.g. on StasisEnd",
        f"{path}:3:10: initial: unknown state '{initial}'; {hint}",
    ]


# States every call can reach and leave


def test_an_unreachable_state(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        HEAD
        + "  start:\n    on: {StasisEnd: ended}\n"
        + "  lonely:\n    on: {StasisEnd: ended}\n"
        + "  ended:\n    final: true\n",
    )
    assert found == [f"{path}:7:3: states.lonely: unreachable: no transition leads to this state"]


def test_states_from_which_the_call_can_never_end(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: start
        states:
          start:
            on:
              PlaybackFinished: ping
              StasisEnd: ended
          ping:
            on: {PlaybackFinished: pong}
          pong:
            on: {PlaybackFinished: ping}
          ended:
            final: true
        """,
    )
    assert found == [f"{path}:9:3: states.ping: {STUCK}", f"{path}:11:3: states.pong: {STUCK}"]


def test_a_state_own_transition_overrides_the_top_level_one(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: start
        on:
          StasisEnd: ended
        states:
          start:
            on: {StasisEnd: start}
          ended:
            final: true
        """,
    )
    assert found == [
        f"{path}:7:3: states.start: {STUCK}",
        f"{path}:9:3: states.ended: unreachable: no transition leads to this state",
    ]


def test_no_final_state_at_all(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        HEAD + "  start:\n    on: {StasisEnd: other}\n  other:\n    on: {StasisEnd: start}\n",
    )
    # reported at the `initial` value, under the key `states`
    assert found == [
        f"{path}:3:10: states: no final state: add one for the call to end in, e.g. on StasisEnd"
    ]


@pytest.mark.parametrize("moves", ["on: {StasisEnd: start}", "after: {1s: start}", "then: start"])
def test_a_final_state_with_transitions(tmp_path: Path, moves: str) -> None:
    ended = f"  ended:\n    final: true\n    {moves}\n"
    path, found = problems(tmp_path, HEAD + "  start:\n    on: {StasisEnd: ended}\n" + ended)
    assert found == [
        f"{path}:7:3: states.ended: a final state cannot have transitions (on, then, after)"
    ]


def test_the_initial_state_being_final(tmp_path: Path) -> None:
    path, found = problems(tmp_path, HEAD + "  start:\n    final: true\n")
    assert found == [f"{path}:5:3: states.start: the initial state cannot be final"]


def test_a_final_state_ignores_the_top_level_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD.replace("states:\n", "on: {StasisEnd: ended}\nstates:\n")
        + "  start:\n    after: {1s: ended}\n  ended:\n    final: true\n",
    )
    flow = load_flow(path)  # valid: the top-level `on` does not count as the final state's own
    assert [t.target for t in flow.transitions_of(flow.states["start"])] == ["ended"]
    assert flow.transitions_of(flow.states["ended"]) == ()


# Reserved names


def reserved_flow(name: str) -> str:
    return HEAD + f"  start:\n    on: {{StasisEnd: {name}}}\n  {name}:\n    final: true\n"


@pytest.mark.parametrize(
    "name", ["send", "states", "events", "name", "id", "current_state", "after_2000ms", "after_5ms"]
)
def test_a_reserved_state_name(tmp_path: Path, name: str) -> None:
    path, found = problems(tmp_path, reserved_flow(name))
    assert found == [f"{path}:7:3: states.{name}: '{name}' is a reserved name; rename the state"]


@pytest.mark.parametrize("name", ["after", "after_2s", "sender", "ended"])
def test_names_like_reserved_ones_are_fine(tmp_path: Path, name: str) -> None:
    assert name in load_flow(write(tmp_path, reserved_flow(name))).states


@pytest.mark.parametrize("name", ["model", "state_field", "history_values"])
def test_instance_attribute_names_are_reserved_too(tmp_path: Path, name: str) -> None:
    path, found = problems(tmp_path, reserved_flow(name))
    assert found == [f"{path}:7:3: states.{name}: '{name}' is a reserved name; rename the state"]


# Timers


def timer_flow(*delays: str) -> str:
    after = "".join(f"      {delay}: ended\n" for delay in delays)
    start = "  start:\n    after:\n" + after + "    on: {StasisEnd: ended}\n"
    return HEAD + start + "  ended:\n    final: true\n"


@pytest.mark.parametrize(("first", "second"), [("2s", "2000ms"), ("1.5s", "1500ms"), ("1m", "60s")])
def test_two_timers_with_the_same_delay(tmp_path: Path, first: str, second: str) -> None:
    path, found = problems(tmp_path, timer_flow(first, second))
    assert found == [
        f"{path}:8:7: states.start.after.{second}: '{second}' is the same delay as '{first}'"
    ]


def test_each_repeat_of_a_delay_names_the_first(tmp_path: Path) -> None:
    path, found = problems(tmp_path, timer_flow("1m", "60s", "60000ms"))
    assert found == [
        f"{path}:8:7: states.start.after.60s: '60s' is the same delay as '1m'",
        f"{path}:9:7: states.start.after.60000ms: '60000ms' is the same delay as '1m'",
    ]


@pytest.mark.parametrize(
    ("delay", "reason"),
    [
        ("0s", "it must be longer than 0"),
        ("0ms", "it must be longer than 0"),
        ("0.0m", "it must be longer than 0"),
        ("1441m", "it must be at most 24h"),
        ("86401s", "it must be at most 24h"),
        ("86400001ms", "it must be at most 24h"),
    ],
)
def test_an_out_of_range_delay_points_at_it(tmp_path: Path, delay: str, reason: str) -> None:
    path, found = problems(tmp_path, timer_flow(delay))
    assert found == [f"{path}:7:7: states.start.after: bad duration '{delay}': {reason}"]


@pytest.mark.parametrize(("delay", "seconds"), [("1ms", 0.001), ("1440m", 86400.0)])
def test_the_shortest_and_longest_delays(tmp_path: Path, delay: str, seconds: float) -> None:
    (timer,) = load_flow(write(tmp_path, timer_flow(delay))).states["start"].timers
    assert timer.seconds == pytest.approx(seconds)


# The recovery state


def test_a_state_only_recovery_leads_to_is_reachable(tmp_path: Path) -> None:
    flow = load_flow(
        write(
            tmp_path,
            HEAD.replace("states:", "recovery: {goto: sorry}\nstates:")
            + "  start:\n    on: {StasisEnd: ended}\n"
            + "  sorry:\n    do: [hangup]\n    on: {StasisEnd: ended}\n"
            + "  ended:\n    final: true\n",
        )
    )
    assert flow.recovery is not None
    assert flow.recovery.target == "sorry"


def test_an_unknown_recovery_state_suggests_the_closest(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        HEAD.replace("states:", "recovery: {goto: sorr}\nstates:")
        + "  start:\n    on: {StasisEnd: sorry}\n"
        + "  sorry:\n    final: true\n",
    )
    assert found == [f"{path}:4:18: recovery.goto: unknown state 'sorr'; did you mean 'sorry'?"]


# `then` and guarded timers


def test_then_needs_a_last_choice_without_a_guard(tmp_path: Path) -> None:
    start = "  start:\n    then:\n      - {when: 'true', goto: ended}\n"
    path, found = problems(tmp_path, HEAD + start + "  ended:\n    final: true\n")
    assert found == [
        f"{path}:7:30: states.start.then[0].goto: then needs a last choice without 'when': "
        "{goto: STATE}, for when no guard holds"
    ]


def test_a_then_after_its_catch_all_is_never_taken(tmp_path: Path) -> None:
    start = "  start:\n    then: [{goto: ended}, {goto: start}]\n"
    path, found = problems(tmp_path, HEAD + start + "  ended:\n    final: true\n")
    assert found == [
        f"{path}:6:34: states.start.then[1].goto: never taken: an earlier then has no guard"
    ]


def test_a_guarded_timer_after_its_catch_all_is_never_taken(tmp_path: Path) -> None:
    start = "  start:\n    after:\n      2s: [{goto: ended}, {when: 'true', goto: start}]\n"
    path, found = problems(tmp_path, HEAD + start + "  ended:\n    final: true\n")
    assert found == [
        f"{path}:7:48: states.start.after.2s[1].goto: never taken: an earlier 2s timer has no guard"
    ]


def test_a_timer_guard_is_checked_like_any_other(tmp_path: Path) -> None:
    start = "  start:\n    after:\n      2s: {when: 'attemps > 1', goto: ended}\n"
    path, found = problems(
        tmp_path, HEAD + start + "    on: {StasisEnd: ended}\n  ended:\n    final: true\n"
    )
    assert found == [
        f"{path}:7:19: states.start.after.2s.when: unknown variable 'attemps'; "
        "known: call, caller, event, hours, now"
    ]


def test_then_is_not_a_state_name(tmp_path: Path) -> None:
    start = "  start:\n    on: {StasisEnd: then}\n  then:\n    final: true\n"
    path, found = problems(tmp_path, HEAD + start)
    assert found == [f"{path}:7:3: states.then: 'then' is a reserved name; rename the state"]
