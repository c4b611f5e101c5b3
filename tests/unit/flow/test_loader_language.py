"""The flow language as `flowrunner validate` sees it: variables, guards, templates, the new
steps; every mistake as the exact `path:line:col: trail: message` the author reads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fakes import load_problems, write_file

from flowrunner.flow import Flow, load_flow
from flowrunner.flow.templates import Template

HEAD = "version: 1\napp: demo\ninitial: start\n"


def write(tmp_path: Path, text: str) -> str:
    return write_file(tmp_path, HEAD + textwrap.dedent(text))


def problems(tmp_path: Path, text: str) -> tuple[str, list[str]]:
    """The path of a flow file holding HEAD + `text`, and the problems loading it gives."""
    path = write(tmp_path, text)
    return path, load_problems(path)


def loads(tmp_path: Path, text: str) -> Flow:
    return load_flow(write(tmp_path, text))


# -- variables in guards and templates ---------------------------------------------------------


def test_an_unknown_variable_in_a_plain_guard_points_inside_the_text(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {choice: ""}
        states:
          start:
            on:
              StasisEnd: {goto: done, when: choise == '1'}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:8:37: states.start.on.StasisEnd.when: "
        "unknown variable 'choise'; did you mean 'choice'?"
    ]


def test_an_unknown_variable_in_a_quoted_guard_counts_the_quote(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {choice: ""}
        states:
          start:
            on:
              StasisEnd: {goto: done, when: "choise == '1'"}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:8:38: states.start.on.StasisEnd.when: "
        "unknown variable 'choise'; did you mean 'choice'?"
    ]


def test_each_unknown_variable_of_a_guard_is_reported_at_its_own_column(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {choice: ""}
        states:
          start:
            on:
              StasisEnd: {goto: done, when: "zzz and choise == '1'"}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:8:38: states.start.on.StasisEnd.when: "
        "unknown variable 'zzz'; known: call, caller, choice, event, hours, now",
        f"{path}:8:46: states.start.on.StasisEnd.when: "
        "unknown variable 'choise'; did you mean 'choice'?",
    ]


def test_an_unknown_variable_in_a_template_points_inside_the_text(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {greeting: hello}
        states:
          start:
            do: [{play: {media: "sound:{{ greting }}"}}]
            on: {StasisEnd: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:7:35: states.start.do[0].play.media: "
        "unknown variable 'greting'; did you mean 'greeting'?"
    ]


def test_a_key_the_call_data_does_not_have_points_at_the_key(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [{set: {n: "{{ caller.nmber }}"}}]
            on:
              StasisEnd: {goto: done, when: "call.exten == '100'"}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:6:31: states.start.do[0].set.n: caller has no 'nmber'; did you mean 'number'?",
        f"{path}:8:43: states.start.on.StasisEnd.when: call has no 'exten'; "
        "did you mean 'extension'?",
    ]


def test_event_is_known_in_guards_but_not_in_templates(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [{play: {media: "sound:{{ event.digit }}"}}]
            on: {StasisEnd: {goto: done, when: "event.cause == 16"}}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:6:35: states.start.do[0].play.media: unknown variable 'event'; "
        "known: call, caller, hours, now"
    ]


def test_variables_are_known_from_vars_set_into_and_the_call_data(tmp_path: Path) -> None:
    flow = loads(
        tmp_path,
        """\
        vars: {a: 1}
        states:
          start:
            do:
              - {collect: {into: c}}
              - {http: {url: "http://x.test/", into: h}}
              - {get_variable: {variable: X, into: g}}
              - {ari: {method: GET, path: "channels/{channelId}", into: r}}
            on:
              StasisEnd: done
              DigitsCollected: {goto: done, when: "a and b and c and h and g and r"}
              HttpSucceeded: {goto: done, when: "caller.number and call.id and event.status"}
          done:
            do:
              - {set: {b: 2}}
              - {play: {media: "sound:{{ a }}{{ b }}{{ c }}{{ h }}{{ g }}{{ r }}"}}
              - {play: {media: "sound:{{ caller.number }}-{{ call.extension }}"}}
            final: true
        """,
    )
    assert flow.states["start"].transitions[1].when is not None


# -- bad expressions and templates ---------------------------------------------------------


def test_a_single_equals_in_a_guard_hints_at_double_equals(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {a: 0}
        states:
          start:
            on: {StasisEnd: {goto: done, when: "a = 1"}}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:7:43: states.start.on.StasisEnd.when: bad expression: use '==' to compare"
    ]


def test_an_unclosed_template_points_at_its_opening(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {a: 0}
        states:
          start:
            do: [{play: {media: "sound:{{ a"}}]
            on: {StasisEnd: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:7:32: states.start.do[0].play.media: "
        "bad template: unclosed '{{': add '}}' after the expression"
    ]


def test_collect_valid_must_be_a_regular_expression(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [{collect: {into: x, valid: "[0-9"}}]
            on: {StasisEnd: done, DigitsCollected: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:6:37: states.start.do[0].collect.valid: "
        "bad regular expression: unterminated character set at position 0"
    ]


# -- durations ------------------------------------------------------------------------------


def test_an_http_timeout_is_at_most_30s(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [{http: {url: "http://x.test/", timeout: 31s}}]
            on: {StasisEnd: done, HttpSucceeded: done}
          done: {final: true}
        """,
    )
    assert found == [f"{path}:6:50: states.start.do[0].http.timeout: 'timeout' must be at most 30s"]


def test_a_collect_timeout_must_be_a_duration(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [{collect: {into: x, first_digit_timeout: 5x}}]
            on: {StasisEnd: done, DigitsCollected: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:6:51: states.start.do[0].collect.first_digit_timeout: "
        "'5x' is not a duration: write a number and a unit, e.g. 500ms, 2s, 1.5s, 1m, 1h"
    ]


def test_durations_become_seconds(tmp_path: Path) -> None:
    flow = loads(
        tmp_path,
        """\
        states:
          start:
            do: [{collect: {into: x, first_digit_timeout: 1.5s, inter_digit_timeout: 500ms}}]
            on: {StasisEnd: done, DigitsCollected: done}
          done: {final: true}
        """,
    )
    params = flow.states["start"].actions[0].params
    assert (params["first_digit_timeout"], params["inter_digit_timeout"]) == (1.5, 0.5)


# -- the ari escape hatch ---------------------------------------------------------------------


ARI = """\
states:
  start:
    do:
      - {ari: ACTION}
    on: {StasisEnd: done}
  done: {final: true}
"""


def ari_problems(tmp_path: Path, action: str) -> tuple[str, list[str]]:
    return problems(tmp_path, ARI.replace("ACTION", action))


def test_ari_an_unknown_path_suggests_the_closest(tmp_path: Path) -> None:
    path, found = ari_problems(
        tmp_path,
        '{method: POST, path: "channels/{channelId}/variabel", params: {variable: X}}',
    )
    assert found == [
        f"{path}:7:36: states.start.do[0].ari.path: no ARI operation POST "
        "channels/{channelId}/variabel; did you mean POST channels/{channelId}/variable?"
    ]


def test_ari_a_wrong_method_lists_the_right_ones(tmp_path: Path) -> None:
    path, found = ari_problems(tmp_path, '{method: GET, path: "channels/{channelId}/hold"}')
    assert found == [
        f"{path}:7:35: states.start.do[0].ari.path: "
        "channels/{channelId}/hold accepts DELETE, POST, not GET"
    ]


def test_ari_an_unknown_param_suggests_the_closest(tmp_path: Path) -> None:
    path, found = ari_problems(
        tmp_path,
        '{method: GET, path: "channels/{channelId}/variable", params: {variable: X, varible: Y}}',
    )
    assert found == [
        f"{path}:7:99: states.start.do[0].ari.params.varible: "
        "GET channels/{channelId}/variable has no 'varible'; did you mean 'variable'?"
    ]


def test_ari_a_missing_required_param(tmp_path: Path) -> None:
    path, found = ari_problems(
        tmp_path, '{method: POST, path: "channels/{channelId}/variable", params: {value: "1"}}'
    )
    assert found == [
        f"{path}:7:77: states.start.do[0].ari.params: "
        "POST channels/{channelId}/variable needs variable"
    ]


def test_ari_a_body_on_an_operation_without_one(tmp_path: Path) -> None:
    path, found = ari_problems(
        tmp_path, '{method: POST, path: "channels/{channelId}/answer", body: {a: 1}}'
    )
    assert found == [
        f"{path}:7:73: states.start.do[0].ari.body: "
        "POST channels/{channelId}/answer takes no body"
    ]


def test_ari_a_valid_operation_loads(tmp_path: Path) -> None:
    action = (
        '{method: POST, path: "channels/{channelId}/variable", '
        'params: {variable: X, value: "{{ caller.number }}"}}'
    )
    flow = load_flow(write(tmp_path, ARI.replace("ACTION", action)))
    (ari,) = flow.states["start"].actions
    assert ari.params["path"] == "channels/{channelId}/variable"
    assert isinstance(ari.params["params"]["value"], Template)


def test_ari_a_templated_path_loads(tmp_path: Path) -> None:
    action = '{method: GET, path: "channels/{{ call.id }}/variable", params: {variable: X}}'
    flow = load_flow(write(tmp_path, ARI.replace("ACTION", action)))
    assert flow.states["start"].actions[0].name == "ari"


# -- actions that need parameters ---------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "wanted", "outcome"),
    [
        ("play", "media", ""),
        ("collect", "into", ", DigitsCollected: done"),
        ("set", "variable: value", ""),
        ("http", "url", ", HttpSucceeded: done"),
    ],
)
def test_a_bare_action_that_needs_parameters(
    tmp_path: Path, action: str, wanted: str, outcome: str
) -> None:
    path, found = problems(
        tmp_path,
        f"""\
        states:
          start:
            do: [answer, {action}]
            on: {{StasisEnd: done{outcome}}}
          done: {{final: true}}
        """,
    )
    assert found == [
        f"{path}:6:18: states.start.do[1]: {action} needs parameters ({wanted}): "
        f"write {{{action}: {{…}}}}"
    ]


def test_bare_actions_without_required_parameters_load(tmp_path: Path) -> None:
    flow = loads(
        tmp_path,
        """\
        states:
          start:
            do: [answer, ring, hangup, stop_playback]
            on: {StasisEnd: done}
          done: {final: true}
        """,
    )
    assert [a.name for a in flow.states["start"].actions] == [
        "answer",
        "ring",
        "hangup",
        "stop_playback",
    ]


# -- outcomes ------------------------------------------------------------------------------


def test_collect_with_nowhere_to_go_is_reported_at_the_action(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [answer, {collect: {into: x}}]
            on: {StasisEnd: done, NoInput: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:6:18: states.start.do[1]: "
        "collect leads nowhere: add a transition for DigitsCollected"
    ]


def test_the_flow_wide_on_handles_an_outcome(tmp_path: Path) -> None:
    flow = loads(
        tmp_path,
        """\
        on: {StasisEnd: done, DigitsCollected: done}
        states:
          start:
            do: [{collect: {into: x}}]
          done: {final: true}
        """,
    )
    assert [t.event for t in flow.everywhere] == ["StasisEnd", "DigitsCollected"]


def test_an_outcome_of_an_action_the_state_does_not_run(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [answer]
            on: {StasisEnd: done, NoInput: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:7:36: states.start.on.NoInput: "
        "never happens: NoInput follows collect, not run here"
    ]


def test_dial_and_http_must_say_where_success_leads(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        states:
          start:
            do: [{dial: {endpoint: PJSIP/alice}}, {http: {url: "http://x.test/"}}]
            on: {StasisEnd: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:6:10: states.start.do[0]: dial leads nowhere: add a transition for DialAnswered",
        f"{path}:6:43: states.start.do[1]: http leads nowhere: add a transition for HttpSucceeded",
    ]


# -- reserved variable names --------------------------------------------------------------


RESERVED = """\
vars: VARS
states:
  start:
    do: [DO]
    on: {StasisEnd: done, DigitsCollected: done}
  done: {final: true}
"""


@pytest.mark.parametrize(
    ("name", "where", "vars_", "action"),
    [
        ("caller", "4:8: vars", "{caller: 1}", "{collect: {into: x}}"),
        ("call", "4:8: vars", "{call: 1}", "{collect: {into: x}}"),
        (
            "caller",
            "7:17: states.start.do[0].set",
            "{}",
            "{set: {caller: 1}}, {collect: {into: x}}",
        ),
        ("call", "7:27: states.start.do[0].collect.into", "{}", "{collect: {into: call}}"),
    ],
)
def test_a_variable_named_like_the_call_data_is_refused(
    tmp_path: Path, name: str, where: str, vars_: str, action: str
) -> None:
    path, found = problems(tmp_path, RESERVED.replace("VARS", vars_).replace("DO", action))
    assert found == [
        f"{path}:{where}: '{name}' is not valid: A variable name: lower case letters, digits "
        "and _; not caller, call, event, now or hours (those hold call data)."
    ]


# -- catch-alls ------------------------------------------------------------------------------


def test_a_guarded_transition_is_not_a_catch_all_but_an_unguarded_one_is(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {a: 0}
        states:
          start:
            on:
              StasisEnd:
                - {goto: done, when: "a == 1"}
                - {goto: done}
                - {goto: done, when: "a == 2"}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:11:18: states.start.on.StasisEnd[2].goto: "
        "never taken: an earlier StasisEnd transition has no filter or guard"
    ]


def test_a_bad_guard_is_reported_but_is_no_catch_all(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {a: 0}
        states:
          start:
            on:
              StasisEnd:
                - {goto: done, when: "a = 1"}
                - {goto: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:9:33: states.start.on.StasisEnd[0].when: bad expression: use '==' to compare"
    ]


# -- the model ------------------------------------------------------------------------------


def test_the_model_keeps_max_visits_vars_and_templates(tmp_path: Path) -> None:
    flow = loads(
        tmp_path,
        """\
        vars: {n: 0, vips: ["100"], who: {name: x}}
        states:
          start:
            max_visits: 3
            do:
              - http:
                  url: "http://x.test/{{ n }}"
                  method: POST
                  headers: {X-N: "{{ n }}", Plain: p}
                  body: {items: ["{{ n }}", plain, 3], nested: {k: "a{{ n }}b"}}
                  into: r
              - {play: {media: ["sound:a", "sound:{{ n }}"]}}
            on: {StasisEnd: done, HttpSucceeded: done}
          done: {final: true}
        """,
    )
    assert flow.vars == {"n": 0, "vips": ["100"], "who": {"name": "x"}}
    assert (flow.states["start"].max_visits, flow.states["done"].max_visits) == (3, None)
    http, play = (dict(a.params) for a in flow.states["start"].actions)
    assert isinstance(http["url"], Template)
    assert http["url"].text == "http://x.test/{{ n }}"
    assert http["method"] == "POST"
    assert isinstance(http["headers"]["X-N"], Template)
    assert http["headers"]["Plain"] == "p"
    items = http["body"]["items"]
    assert isinstance(items[0], Template)
    assert items[1:] == ["plain", 3]
    assert isinstance(http["body"]["nested"]["k"], Template)
    assert http["into"] == "r"
    assert play["media"][0] == "sound:a"
    assert isinstance(play["media"][1], Template)
    assert play["media"][1].render({"n": 7}) == "sound:7"


def test_ari_a_placeholder_other_than_channel_id_must_be_written_in(tmp_path: Path) -> None:
    path, found = ari_problems(
        tmp_path, '{method: POST, path: "bridges/{bridgeId}/addChannel", params: {channel: x}}'
    )
    assert found == [
        f"{path}:7:36: states.start.do[0].ari.path: "
        "write the bridgeId in: a value or a template ({{ name }})"
    ]


def test_a_collect_pattern_cannot_be_a_template_but_listed_entries_can(tmp_path: Path) -> None:
    path, found = problems(
        tmp_path,
        """\
        vars: {pin: "1234"}
        states:
          start:
            do:
              - collect: {into: a, valid: "{{ pin }}"}
              - collect: {into: b, valid: ["{{ pin }}", "0000"]}
            on: {DigitsCollected: done, StasisEnd: done}
          done: {final: true}
        """,
    )
    assert found == [
        f"{path}:8:35: states.start.do[0].collect.valid: "
        "a pattern cannot be a template; list the entries instead"
    ]
