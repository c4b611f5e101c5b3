"""load_flow: a file in, a typed Flow out, or every problem at its position."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import load_problems, write_file

from flowrunner.flow import Action, Timer, Transition, errors, load_flow
from flowrunner.flow.model import Where

REPO = Path(__file__).parents[3]
REFERENCE = str(REPO / "flows" / "channel-state.yaml")


write, problems = write_file, load_problems


def test_the_reference_flow_loads() -> None:
    flow = load_flow(REFERENCE)
    assert (flow.app, flow.initial) == ("channel-state", "ringing")
    assert flow.description == "Ring, answer after 2 s with silence, hang up 4 s later."
    assert list(flow.states) == ["ringing", "answered", "hanging_up", "ended"]
    assert flow.everywhere == (
        Transition("StasisEnd", "ended", Where(12, 14, ("on", "StasisEnd"))),
    )
    assert flow.initial_where == Where(9, 10, ("initial",))


def test_the_reference_flow_keeps_where_each_thing_is_written() -> None:
    ringing = load_flow(REFERENCE).states["ringing"]
    assert ringing.where == Where(15, 3, ("states", "ringing"))
    assert ringing.actions == (Action("ring", {}, Where(16, 10, ("states", "ringing", "do", 0))),)
    assert ringing.timers == (
        Timer(2.0, "2s", "answered", Where(18, 7, ("states", "ringing", "after", "2s"))),
    )
    assert ringing.timers[0].event == "after_2000ms"


def test_the_reference_flow_states_and_their_roles() -> None:
    states = load_flow(REFERENCE).states
    assert [a.name for a in states["answered"].actions] == ["answer", "start_silence"]
    assert [s.name for s in states.values() if s.final] == ["ended"]
    assert states["hanging_up"].moves == ()


def test_actions_keep_their_parameters(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: start
        states:
          start:
            do:
              - answer:
              - play: {media: [sound:hello, sound:bye], lang: en}
              - hangup: {reason: busy}
            on:
              StasisEnd: done
          done:
            final: true
        """,
    )
    actions = load_flow(path).states["start"].actions
    assert [(a.name, dict(a.params)) for a in actions] == [
        ("answer", {}),
        ("play", {"media": ["sound:hello", "sound:bye"], "lang": "en"}),
        ("hangup", {"reason": "busy"}),
    ]
    assert actions[1].where == Where(8, 9, ("states", "start", "do", 1))


@pytest.mark.parametrize("name", ["no", "yes", "on", "off", "y", "n"])
def test_a_state_named_like_a_yaml_1_1_boolean_keeps_its_name(tmp_path: Path, name: str) -> None:
    path = write(
        tmp_path,
        f"""\
        version: 1
        app: demo
        initial: {name}
        states:
          {name}:
            on:
              StasisEnd: off_hook
          off_hook:
            final: true
        """,
    )
    flow = load_flow(path)
    assert flow.initial == name
    assert list(flow.states) == [name, "off_hook"]
    assert flow.states[name].transitions[0].event == "StasisEnd"


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n", "---\n"])
def test_a_flow_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:1:1: a flow must be a mapping (app, initial, states)"]


def test_yaml_problems_come_out_of_load_flow(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\napp: demo\napp: again\n")
    assert problems(path) == [f"{path}:3:1: duplicate key 'app' (first at line 2:1)"]


def test_schema_and_semantic_problems_come_in_one_pass(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: nowhere
        states:
          start:
            final: maybe
        """,
    )
    assert problems(path) == [
        f"{path}:3:10: initial: unknown state 'nowhere'; states are: start",
        f"{path}:6:12: states.start.final: expected true/false, got text",
    ]


def test_duration_and_semantic_problems_come_together_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: start
        states:
          start:
            after:
              0s: done
            on:
              StasisEnd: done
          lonely:
            final: true
          done:
            final: true
        """,
    )
    assert problems(path) == [
        f"{path}:7:7: states.start.after: bad duration '0s': it must be longer than 0",
        f"{path}:10:3: states.lonely: unreachable: no transition leads to this state",
    ]


def test_a_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    assert problems(path) == [f"{path}: cannot read: No such file or directory"]


# Hostile flows: bounded work, short messages


def test_each_unknown_name_is_looked_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = errors.did_you_mean
    monkeypatch.setattr(
        errors, "did_you_mean", lambda word, *a, **k: calls.append(word) or real(word, *a, **k)
    )
    media = "{{ choise }}" * 50 + "{{ other }}"
    path = write(tmp_path, FLOW.format(media=media))
    found = problems(path)
    assert len(found) == 51
    assert found[0].endswith("unknown variable 'choise'; did you mean 'choice'?")
    assert calls == ["choise", "other"]


def test_past_the_hint_budget_problems_have_no_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        errors, "HINT_BUDGET", 12
    )  # 5 names known (call, caller, choice, hours, now): two look-ups
    path = write(tmp_path, FLOW.format(media="{{ choise }}{{ choie }}{{ chice }}"))
    assert [p.split(": ", 2)[2] for p in problems(path)] == [
        "unknown variable 'choise'; did you mean 'choice'?",
        "unknown variable 'choie'; did you mean 'choice'?",
        "unknown variable 'chice'",
    ]


def test_a_long_duration_is_echoed_cut(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        FLOW.format(media="x").replace("after: {1s: done}", f"after: {{{'9' * 200}s: done}}"),
    )
    assert problems(path) == [
        f"{path}:9:13: states.start.after: bad duration '{'9' * 79}…': it must be at most 24h"
    ]


FLOW = """\
version: 1
app: demo
initial: start
vars: {{choice: ""}}
states:
  start:
    do: [{{play: {{media: "{media}"}}}}]
    on: {{PlaybackFinished: done}}
    after: {{1s: done}}
  done: {{final: true}}
"""


# One pass: the semantic checks run on what passed the schema


def test_one_run_reports_the_schemas_problems_and_every_other_checks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: strat
        on:
          StasisEnd: ended
        states:
          start:
            do:
              - answer
              - collect: {prompt: sound:hello, into: choice, first_digit_timeout: 20}
              - play: {media: "sound:{{ choise }}"}
              - play: {media: "sound:{{ choice + }}"}
            on:
              DigitsCollected: menu
          menu:
            do:
              - Playback: {media: sound:x}
            then: mnu
          ended:
            final: true
        """,
    )
    assert problems(path) == [
        f"{path}:3:10: initial: unknown state 'strat'; did you mean 'start'?",
        f"{path}:10:75: states.start.do[1].collect.first_digit_timeout: expected text, got a "
        "number: a duration has a unit, write 20s",
        f"{path}:11:33: states.start.do[2].play.media: unknown variable 'choise'; did you mean "
        "'choice'?",
        f"{path}:12:42: states.start.do[3].play.media: bad template: unexpected end of "
        "expression: expected a value",
        f"{path}:17:9: states.menu.do[0]: unknown action 'Playback'; Asterisk's Playback is play "
        "here",
        f"{path}:18:11: states.menu.then: unknown state 'mnu'; did you mean 'menu'?",
    ]


def test_what_the_schema_refused_no_other_check_reports_again(tmp_path: Path) -> None:
    """The timer's delay is said once (not also by the timers' own parsing); the variable the
    refused collect sets is no unknown variable; the state whose action and transition were
    refused gets no outcome check (its collect, its DigitsCollected are not known)."""
    path = write(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: start
        on: {StasisEnd: ended}
        states:
          start:
            do:
              - collect: {prompt: sound:hello, into: choice, first_digit_timeout: 20}
              - play: {media: "sound:{{ choice }}"}
            on:
              DigitsCollected: {goto: ended, digit: 1}
            after:
              2 sec: ended
          ended:
            final: true
        """,
    )
    assert problems(path) == [
        f"{path}:8:75: states.start.do[0].collect.first_digit_timeout: expected text, got a "
        "number: a duration has a unit, write 20s",
        f"{path}:11:38: states.start.on.DigitsCollected: unknown key 'digit'; expected one of: "
        "goto, when",
        f"{path}:13:7: states.start.after.2 sec: '2 sec' is not a duration: write 2s",
    ]


def test_a_transition_the_schema_refused_leaves_the_others_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        version: 1
        app: demo
        initial: a
        on: {StasisEnd: [5, {goto: zz}]}
        states: {a: {then: b}, b: {do: 5}}
        """,
    )
    # no "unreachable" or "can never end": with a move left out, the graph has holes
    assert problems(path) == [
        f"{path}:4:18: on.StasisEnd[0]: expected a mapping, got a number",
        f"{path}:4:28: on.StasisEnd[1].goto: unknown state 'zz'; states are: a, b",
        f"{path}:5:32: states.b.do: expected a list, got a number",
    ]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("states: {a: [1, 2]}", "4:13: states.a: expected a mapping, got a list"),
        ("states: {a: {on: 5}}", "4:18: states.a.on: expected a mapping, got a number"),
        ("states: {a: {then: [5]}}", "4:21: states.a.then[0]: expected a mapping, got a number"),
        ("uses: {x: 5}\nstates: {a: {then: x}}", "4:11: uses.x: expected a mapping, got a number"),
        (
            "hours: {x: 5}\nstates: {a: {then: b}, b: {final: true}}",
            "4:12: hours.x: expected a mapping, got a number",
        ),
        (
            "after_call: {do: 5}\nstates: {a: {then: b}, b: {final: true}}",
            "4:18: after_call.do: expected a list, got a number",
        ),
        (
            "recovery: 5\nstates: {a: {then: b}, b: {final: true}}",
            "4:11: recovery: expected a mapping, got a number",
        ),
        (
            "vars: [1]\nstates: {a: {do: [{play: {media: '{{ x }}'}}], then: b}, b: {final: true}}",
            "4:7: vars: expected a mapping, got a list",
        ),
        ("states: {}", "4:9: states: must not be empty"),
    ],
)
def test_a_part_of_the_wrong_shape_is_said_once_and_trips_no_check(
    tmp_path: Path, part: str, expected: str
) -> None:
    path = write(tmp_path, f"version: 1\napp: demo\ninitial: a\n{part}\n")
    assert problems(path) == [f"{path}:{expected}"]


def test_each_problem_of_a_list_of_transitions_is_told(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\napp: demo\ninitial: a\n"
        "states: {a: {on: {StasisEnd: [{when: -1, goto: b}, {a: 1}, {goto: b}]}}, "
        "b: {final: true}}\n",
    )
    assert problems(path) == [
        f"{path}:4:38: states.a.on.StasisEnd[0].when: expected text, got a number: write it in "
        'quotes, "-1"',
        f"{path}:4:52: states.a.on.StasisEnd[1]: missing key 'goto'",
        f"{path}:4:53: states.a.on.StasisEnd[1]: unknown key 'a'; expected one of: goto, when",
    ]


def test_a_refused_action_naming_a_mapping_as_its_variable_trips_no_check(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\napp: demo\ninitial: a\n"
        'states: {a: {do: [{collect: {prompt: "sound:x", into: {a: 1}}}], then: b}, '
        "b: {final: true}}\n",
    )
    assert problems(path) == [
        f"{path}:4:55: states.a.do[0].collect.into: expected text, got a mapping"
    ]
