"""schema: JSON Schema violations as sentences at the position of the offending key or value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowrunner.flow.schema import check, schema_document
from flowrunner.flow.yamltree import parse, read
from flowrunner.steps import ACTIONS

REPO = Path(__file__).parents[3]
PATH = "flow.yaml"

# One flow with a slot for each value the tests below get wrong, one at a time.
TEMPLATE = """\
version: 1
app: {app}
initial: start
states:
  start:
    do: {do}
    on:
      {event}: {target}
    after:
      {after}: done
  {done}:
    final: {final}
"""
GOOD = {
    "app": "demo",
    "do": "[answer]",
    "event": "StasisEnd",
    "target": "done",
    "after": "2s",
    "done": "done",
    "final": "true",
}


def problems(text: str) -> list[str]:
    tree = parse(textwrap.dedent(text), PATH)
    return [str(p) for p in check(tree, PATH)]


def flow_with(**changes: str) -> list[str]:
    """The schema problems of TEMPLATE with some of its slots changed."""
    return problems(TEMPLATE.format(**{**GOOD, **changes}))


def test_the_template_and_the_reference_flow_are_valid() -> None:
    assert flow_with() == []
    reference = str(REPO / "flows" / "channel-state.yaml")
    assert check(read(reference), reference) == []


def test_an_unknown_top_level_key_suggests_the_closest() -> None:
    found = problems(TEMPLATE.format(**GOOD) + "statse: {}\n")
    assert found == [f"{PATH}:13:1: unknown key 'statse'; did you mean 'states'?"]


def test_an_unknown_key_with_nothing_close_lists_the_keys() -> None:
    found = problems(TEMPLATE.format(**GOOD) + "colour: blue\n")
    assert found == [
        f"{PATH}:13:1: unknown key 'colour'; "
        "expected one of: version, app, description, initial, vars, on, states, timezone, hours, "
        "uses, after_call, recovery, limits"
    ]


@pytest.mark.parametrize(("event", "meant"), [("StasisEnded", "StasisEnd"), ("DTMF", None)])
def test_an_unknown_event_points_at_the_event_key(event: str, meant: str | None) -> None:
    (found,) = flow_with(event=event)
    assert found.startswith(f"{PATH}:8:7: states.start.on: unknown key '{event}'")
    if meant:
        assert found.endswith(f"; did you mean '{meant}'?")
    else:  # 41 events: few enough to list
        assert "; expected one of: StasisEnd, ChannelStateChange, ChannelDtmfReceived, " in found


def test_an_unknown_event_in_the_top_level_on() -> None:
    found = problems(TEMPLATE.format(**GOOD) + "on:\n  stasisend: done\n")
    assert found == [f"{PATH}:14:3: on: unknown key 'stasisend'; did you mean 'StasisEnd'?"]


def test_an_unknown_action_name_suggests_the_closest() -> None:
    assert flow_with(do="[answer, plya]") == [
        f"{PATH}:6:18: states.start.do[1]: unknown action 'plya'; did you mean 'play'?"
    ]


def test_an_unknown_action_with_parameters_suggests_the_closest() -> None:
    assert flow_with(do="[{plya: {media: 'sound:x'}}]") == [
        f"{PATH}:6:11: states.start.do[0]: unknown action 'plya'; did you mean 'play'?"
    ]


def test_a_bad_hangup_reason_suggests_the_closest() -> None:
    assert flow_with(do="[{hangup: {reason: bussy}}]") == [
        f"{PATH}:6:28: states.start.do[0].hangup.reason: 'bussy' is not allowed here; "
        "did you mean 'busy'?"
    ]


def test_a_bad_hangup_reason_with_nothing_close_lists_the_reasons() -> None:
    (found,) = flow_with(do="[{hangup: {reason: whatever}}]")
    assert found.startswith(f"{PATH}:6:28: states.start.do[0].hangup.reason: 'whatever' is not ")
    assert found.endswith(
        "; expected one of: normal, busy, congestion, no_answer, timeout, "
        "rejected, unallocated, normal_unspecified, number_incomplete, "
        "codec_mismatch, interworking, failure, answered_elsewhere"
    )


@pytest.mark.parametrize(
    ("do", "where", "action", "key"),
    [
        ("[{play: {lang: en}}]", "6:17", "play", "media"),
        ("[{send_dtmf: {}}]", "6:22", "send_dtmf", "dtmf"),
        ("[{set_variable: {value: x}}]", "6:25", "set_variable", "variable"),
    ],
)
def test_a_missing_required_parameter(do: str, where: str, action: str, key: str) -> None:
    assert flow_with(do=do) == [f"{PATH}:{where}: states.start.do[0].{action}: missing key '{key}'"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"app": "5"}, '2:6: app: expected text, got a number: write it in quotes, "5"'),
        ({"app": "[demo]"}, "2:6: app: expected text, got a list"),
        ({"do": "answer"}, "6:9: states.start.do: expected a list, got text"),
        (
            {"target": "3"},
            "8:18: states.start.on.StasisEnd: expected text or a mapping or a list, got a number",
        ),
        ({"final": "'true'"}, "12:12: states.done.final: expected true/false, got text"),
        ({"final": "1"}, "12:12: states.done.final: expected true/false, got a number"),
        (
            {"do": "[{hangup: []}]"},
            "6:19: states.start.do[0].hangup: expected a mapping or nothing, got a list",
        ),
    ],
)
def test_a_value_of_the_wrong_type(changes: dict[str, str], expected: str) -> None:
    assert flow_with(**changes) == [f"{PATH}:{expected}"]


def test_the_wrong_type_for_states() -> None:
    assert problems("version: 1\napp: demo\ninitial: start\nstates: [start]\n") == [
        f"{PATH}:4:9: states: expected a mapping, got a list"
    ]


def test_missing_top_level_keys_point_at_the_file_start() -> None:
    assert problems("version: 1\n") == [
        f"{PATH}:1:1: missing key 'app'",
        f"{PATH}:1:1: missing key 'initial'",
        f"{PATH}:1:1: missing key 'states'",
    ]


@pytest.mark.parametrize(
    ("version", "written"), [("2", "2"), ("'1'", "text"), ("true", "true/false")]
)
def test_only_version_1_is_known(version: str, written: str) -> None:
    text = TEMPLATE.format(**GOOD).replace("version: 1", f"version: {version}")
    assert problems(text) == [f"{PATH}:1:10: version: must be 1, not {written}"]


ENDPOINT = (
    "An endpoint is TECHNOLOGY/RESOURCE, e.g. PJSIP/alice or Local/100@internal (or a template "
    "that gives one)."
)
UNITS = "a number and a unit, e.g. 500ms, 2s, 1.5s, 1m, 1h"


@pytest.mark.parametrize(
    ("after", "write"),
    [("2x", UNITS), ("2", "2s"), ("2 s", "2s"), ("-1s", UNITS), ("1.s", UNITS), ("2S", "2s")],
)
def test_a_bad_duration_points_at_the_key_not_its_value(after: str, write: str) -> None:
    assert flow_with(after=after) == [
        f"{PATH}:10:7: states.start.after.{after}: '{after}' is not a duration: write {write}"
    ]


def test_a_duration_may_be_in_hours() -> None:
    assert flow_with(after="1h") == []


STATE_NAME = "A state name: lower case letters, digits and _, starting with a letter."


@pytest.mark.parametrize("name", ["Done", "1done", "_done", "done-now", "d" * 65])
def test_a_bad_state_name_points_at_the_name(name: str) -> None:
    assert flow_with(done=name) == [f"{PATH}:11:3: states: '{name}' is not valid: {STATE_NAME}"]


def test_a_bad_state_name_as_a_target_points_at_the_target() -> None:
    assert flow_with(target="Done") == [
        f"{PATH}:8:18: states.start.on.StasisEnd: 'Done' is not valid: {STATE_NAME}"
    ]


def test_a_bad_initial_state_name() -> None:
    text = TEMPLATE.format(**GOOD).replace("initial: start", "initial: Start")
    assert problems(text) == [f"{PATH}:3:10: initial: 'Start' is not valid: {STATE_NAME}"]


def test_a_bad_app_name_says_what_an_app_name_is() -> None:
    assert flow_with(app="'my app'") == [
        f"{PATH}:2:6: app: 'my app' is not valid: "
        "The Stasis application name; calls enter with Stasis(app) in the dialplan."
    ]


def test_every_action_name_has_parameters_and_its_step() -> None:
    defs = schema_document()["$defs"]
    names = set(defs["actionName"]["enum"])
    assert names == set(defs["action"]["anyOf"][1]["properties"]) == set(ACTIONS)
    routes = {name: spec.route for name, spec in ACTIONS.items() if spec.route}
    for name, (method, path) in routes.items():
        assert defs["actions"][name]["x-ari"] == {"method": method, "path": path} | (
            {"not_found": ACTIONS[name].not_found} if ACTIONS[name].not_found else {}
        )
        assert method in ("GET", "POST", "DELETE")
        assert path.startswith(("channels/{channel}", "playbacks/{playback}", "recordings/live/"))


def test_action_routes_examples() -> None:
    assert ACTIONS["hangup"].route == ("DELETE", "channels/{channel}")
    assert ACTIONS["play"].route == ("POST", "channels/{channel}/play/{playback}")
    assert ACTIONS["ring_stop"].route == ("DELETE", "channels/{channel}/ring")


def test_an_empty_state_is_reported_on_its_own_line() -> None:
    found = problems(TEMPLATE.format(**GOOD).replace("  done:\n    final: true\n", "  done:\n"))
    assert found == [f"{PATH}:11:3: states.done: expected a mapping, got nothing (null)"]


# Hostile values: a message counts or cuts, never echoes a whole value


APP = "The Stasis application name; calls enter with Stasis(app) in the dialplan."


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"do": "[" + ", ".join(["answer"] * 101) + "]"},
            "6:9: states.start.do: at most 100 items, not 101",
        ),
        (
            {"do": "[{answer: null, ring: null}]"},
            "6:10: states.start.do[0]: at most 1 entry, not 2",
        ),
        ({"target": "[]"}, "8:18: states.start.on.StasisEnd: must not be empty"),
        ({"app": "'" + "a" * 200 + "'"}, f"2:6: app: '{'a' * 79}…' is not valid: {APP}"),
    ],
    ids=["too-many-items", "two-actions-in-one", "empty", "long-text"],
)
def test_a_message_gives_sizes_and_excerpts(changes: dict[str, str], expected: str) -> None:
    assert flow_with(**changes) == [f"{PATH}:{expected}"]


def test_too_many_states_is_a_count() -> None:
    states = "".join(f"  s{i}: {{final: true}}\n" for i in range(501))
    assert problems(f"version: 1\napp: a\ninitial: s0\nstates:\n{states}") == [
        f"{PATH}:5:3: states: at most 500 entries, not 501"
    ]


def test_a_number_out_of_bounds_is_echoed_cut_short() -> None:
    (found,) = problems(
        "version: 1\napp: a\ninitial: s\nlimits: {max_steps: "
        + "9" * 300
        + "}\nstates: {s: {final: true}}\n"
    )
    assert found == f"{PATH}:4:21: limits.max_steps: must be at most 100000, not {'9' * 79}…"


# -- hints for what newcomers write -------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "hint"),
    [
        ("Playback", "Asterisk's Playback is play here"),
        ("background", "Asterisk's BackGround is play here"),
        ("Read", "Asterisk's Read is collect here"),
        ("Goto", "Asterisk's Goto is continue here"),
        ("ConfBridge", "Asterisk's ConfBridge is conference here"),
    ],
)
def test_a_dialplan_application_is_named_as_its_action(action: str, hint: str) -> None:
    assert flow_with(do=f"[{{{action}: {{media: 'sound:x'}}}}]") == [
        f"{PATH}:6:11: states.start.do[0]: unknown action '{action}'; {hint}"
    ]


@pytest.mark.parametrize(
    ("written", "hint"),
    [("20", "write 20s"), ("1.5", "write 1.5s")],
)
def test_a_number_for_a_duration_gets_its_unit(written: str, hint: str) -> None:
    found = flow_with(do=f"[{{collect: {{into: x, first_digit_timeout: {written}}}}}]")
    assert found == [
        f"{PATH}:6:51: states.start.do[0].collect.first_digit_timeout: expected text, got a "
        f"number: a duration has a unit, {hint}"
    ]


@pytest.mark.parametrize(
    ("after", "write"), [("2 sec", "2s"), ("500 ms", "500ms"), ("1 minute", "1m"), ("3h", None)]
)
def test_a_duration_in_words_gets_its_spelling(after: str, write: str | None) -> None:
    found = flow_with(after=after)
    if write is None:
        assert found == []
    else:
        assert found == [
            f"{PATH}:10:7: states.start.after.{after}: '{after}' is not a duration: write {write}"
        ]


def test_a_key_written_as_a_number_gets_its_quotes() -> None:
    found = flow_with(event="ChannelDtmfReceived", target="{digit: 1, goto: done}")
    assert found == [
        f"{PATH}:8:36: states.start.on.ChannelDtmfReceived.digit: expected text, got a number: "
        'write it in quotes, "1"'
    ]


@pytest.mark.parametrize(
    ("endpoint", "col", "message"),
    [
        ("alice", 28, f"endpoint: 'alice' is not valid: {ENDPOINT}"),
        ("[PJSIP/a, bob]", 38, f"endpoint[1]: 'bob' is not valid: {ENDPOINT}"),
        ("5", 28, "endpoint: expected text or a list, got a number"),  # no quotes: "5" is none
        ("{a: 1}", 28, "endpoint: expected text or a list, got a mapping"),
    ],
)
def test_a_wrong_dial_endpoint_says_what_an_endpoint_is(
    endpoint: str, col: int, message: str
) -> None:
    found = flow_with(do=f"[{{dial: {{endpoint: {endpoint}}}}}]")
    assert found == [f"{PATH}:6:{col}: states.start.do[0].dial.{message}"]


def test_a_ring_group_and_templates_are_endpoints() -> None:
    do = "[{dial: {endpoint: [PJSIP/a, 'Local/{{ caller.number }}@internal']}}]"
    assert flow_with(do=do) == []
    assert flow_with(do="[{dial: {endpoint: '{{ caller.number }}'}}]") == []


def test_a_bare_dialplan_application_is_named_as_its_action() -> None:
    assert flow_with(do="[answer, playback]") == [
        f"{PATH}:6:18: states.start.do[1]: unknown action 'playback'; Asterisk's Playback is "
        "play here"
    ]


@pytest.mark.parametrize(
    ("do", "col", "message"),
    [  # YAML's words (true, null), never Python's (True, None, {'a': 1})
        (
            "[{dial: {endpoint: PJSIP/a, ring: true}}]",
            43,
            "dial.ring: 'true' is not allowed here; expected one of: all, in_order",
        ),
        ("[{play: {media: null}}]", 25, "play.media: expected text or a list, got nothing (null)"),
        ("[{play: {media: {a: 1}}}]", 25, "play.media: expected text or a list, got a mapping"),
        (
            "[{collect: {into: x, max_digits: 0}}]",
            42,
            "collect.max_digits: must be at least 1, not 0",
        ),
    ],
)
def test_a_message_shows_values_as_the_file_writes_them(do: str, col: int, message: str) -> None:
    assert flow_with(do=do) == [f"{PATH}:6:{col}: states.start.do[0].{message}"]


def test_a_do_item_of_the_wrong_type_says_what_an_item_is() -> None:
    assert flow_with(do="[5]") == [
        f"{PATH}:6:10: states.start.do[0]: expected text or a mapping, got a number"
    ]
