"""Caller-controlled data (caller ID name and number, keys pressed, web replies) is hostile: it
never makes a pattern backtrack, never becomes URL, path or dial-string syntax, and never
reaches a channel function's name."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeTransport, Journal, Rig, load_problems, write_file

from flowrunner.engine.machine import compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import load_flow
from flowrunner.flow.expressions import parse_expression
from flowrunner.logs import TextFormatter
from flowrunner.patterns import PatternError, compile_pattern
from flowrunner.sim.asterisk import SimChannel
from flowrunner.sim.clock import VirtualClock
from flowrunner.sim.run import CallerStep, simulate
from flowrunner.sim.web import CannedReply

HEAD = "version: 1\napp: channel-state\ninitial: start\non: {StasisEnd: ended}\nstates:\n"
END = "  ended: {final: true}\n"

# -- patterns (D2) ------------------------------------------------------------------------------

# Each took Python's backtracking `re` from seconds to minutes on these inputs (measured: 0.85 s
# on 24 characters, x4 for every 2 more; 7.9 s; 30 s; 10.6 s): a second is a generous bound.
EVIL = [
    ("caller.name matches '^([A-Za-z]+ ?)+$'", {"caller": {"name": "A" * 40 + "!"}}),
    ("x matches '(a*)*b'", {"x": "a" * 40}),
    ("x matches 'a*a*b'", {"x": "a" * 10_000}),
]


@pytest.mark.parametrize(("text", "scope"), EVIL, ids=["names", "nested", "quadratic"])
def test_a_guard_on_caller_data_runs_in_linear_time(text: str, scope: dict[str, Any]) -> None:
    expression = parse_expression(text)
    started = time.perf_counter()
    assert expression.evaluate(scope) is False
    assert time.perf_counter() - started < 5.0  # backtracking: hours


def test_a_collect_pattern_on_the_callers_keys_runs_in_linear_time(tmp_path: Path) -> None:
    states = """  start:
    do: [{collect: {into: pin, max_digits: 30, valid: "(1+)+2", retries: 0}}]
    on: {DigitsCollected: got, NoMatch: wrong}
  got: {}
  wrong: {}
"""
    compiled = compile_flow(load_flow(write_file(tmp_path, HEAD + states + END)))
    keys = [CallerStep(0.1 + i / 100, "dtmf", "1") for i in range(30)]
    started = time.perf_counter()
    result = simulate(compiled, keys)
    assert time.perf_counter() - started < 5.0  # backtracking: hours
    assert result.final_state == "wrong"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence: \\1"),
        ("(?=a)", "invalid perl operator: (?="),
        ("(?<!a)b", "invalid perl operator: (?<!"),
        ("a{1001}", "invalid repetition size: {1001}"),
    ],
)
def test_what_cannot_run_in_linear_time_is_refused_at_load(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert str(caught.value) == (
        f"{reason} (patterns run in linear time: no backreferences, no lookahead or "
        "lookbehind, repeats up to 1000 times)"
    )


def test_a_refused_pattern_is_a_positioned_load_error(tmp_path: Path) -> None:
    states = "  start:\n    on: {ChannelDtmfReceived: {goto: start, when: \"x matches '(?=1)'\"}}\n"
    path = write_file(tmp_path, HEAD.replace("states:", "vars: {x: ''}\nstates:") + states + END)
    (problem,) = load_problems(path)
    assert problem.startswith(f"{path}:8:62: states.start.on.ChannelDtmfReceived.when: ")
    assert "not a valid pattern: invalid perl operator: (?=" in problem


def test_a_lone_surrogate_in_caller_data_does_not_break_a_match() -> None:
    expression = parse_expression("caller.name matches 'a'")
    assert expression.evaluate({"caller": {"name": "\ud800a"}}) is True


# -- values in URLs, ARI paths, names (D3, D4) -------------------------------------------------


def web_url(tmp_path: Path, url: str, number: str) -> str:
    states = f"""  start:
    do: [{{http: {{url: "{url}", timeout: 2s}}}}]
    on: {{HttpSucceeded: done, HttpFailed: done, HttpTimedOut: done}}
  done: {{}}
"""
    head = HEAD.replace("states:", "vars: {crm: 'https://crm.test:8443/v1'}\nstates:")
    compiled = compile_flow(load_flow(write_file(tmp_path, head + states + END)))
    result = simulate(compiled, channel=SimChannel(caller_number=number))
    (sent,) = result.web
    return sent.request.url


@pytest.mark.parametrize(
    ("number", "query"),
    [
        ("200&number=999", "number=200%26number%3D999"),
        ("200#x", "number=200%23x"),
        ("+441234567890", "number=%2B441234567890"),
        ("1 2/../admin?", "number=1%202%2F..%2Fadmin%3F"),
    ],
)
def test_a_caller_number_is_one_value_in_a_webhook_url(
    tmp_path: Path, number: str, query: str
) -> None:
    url = web_url(tmp_path, "{{ crm }}/customers?number={{ caller.number }}", number)
    assert url == f"https://crm.test:8443/v1/customers?{query}"


def test_a_value_in_a_webhook_path_is_one_segment(tmp_path: Path) -> None:
    url = web_url(tmp_path, "https://crm.test/who/{{ caller.number }}/card", "1/../../admin")
    assert url == "https://crm.test/who/1%2F..%2F..%2Fadmin/card"


def ari_rig(tmp_path: Path, path: str, method: str = "DELETE", params: str = "") -> Rig:
    more = f", params: {params}" if params else ""
    states = f"""  start:
    do: [{{ari: {{method: {method}, path: "{path}"{more}}}}}]
    on: {{ActionFailed: failed}}
  failed: {{}}
"""
    compiled = compile_flow(load_flow(write_file(tmp_path, HEAD + states + END)))
    transport, clock, journal = FakeTransport(), VirtualClock(), Journal()
    return Rig(Runtime([compiled], transport, clock, journal), transport, clock, journal)


def start(rig: Rig, number: str) -> None:
    channel = {"id": "c1", "name": "PJSIP/c1", "caller": {"number": number}}
    rig.runtime.post({"type": "StasisStart", "application": "channel-state", "channel": channel})
    rig.runtime.drain()


def test_a_caller_number_in_an_ari_path_stays_one_escaped_segment(tmp_path: Path) -> None:
    rig = ari_rig(tmp_path, "recordings/stored/vm-{{ caller.number }}")
    start(rig, "1?x=&admin=1#")
    (request,) = rig.transport.sent
    assert (request.method, request.path, dict(request.params)) == (
        "DELETE",
        "recordings/stored/vm-1%3Fx%3D%26admin%3D1%23",
        {},
    )


def test_an_ari_path_that_renders_to_another_operation_is_refused(tmp_path: Path) -> None:
    # DELETE channels/{channelId}: a value "create" would make it channels/create (another
    # route); a value with a slash stays one segment
    rig = ari_rig(tmp_path, "channels/{{ caller.number }}")
    start(rig, "VICTIM/ring")
    assert [r.path for r in rig.transport.sent] == ["channels/VICTIM%2Fring"]


def test_a_value_that_makes_the_path_another_operation_is_refused(tmp_path: Path) -> None:
    # POST channels/{channelId} (originate with an id), and a caller number "create": that
    # would be POST channels/create, another operation
    rig = ari_rig(tmp_path, "channels/{{ caller.number }}", "POST", "{endpoint: PJSIP/x}")
    start(rig, "create")
    assert rig.transport.sent == []
    assert rig.runtime.calls["c1"].current == "failed"
    (failure,) = rig.journal.messages("error")
    assert failure == "ari failed: POST channels/create is not an ARI operation once rendered"


def test_a_value_in_a_recording_name_or_a_dial_endpoint_keeps_to_safe_characters(
    tmp_path: Path,
) -> None:
    states = """  start:
    do:
      - {record: {name: "vm-{{ caller.number }}"}}
      - {dial: {endpoint: "Local/{{ caller.name }}@callees"}}
    on: {DialAnswered: start, ActionFailed: start, RecordingFinished: start}
"""
    compiled = compile_flow(load_flow(write_file(tmp_path, HEAD + states + END)))
    channel = SimChannel(caller_number="../../../etc/x", caller_name="100@internal&Local/999")
    result = simulate(compiled, [CallerStep(20, "hangup")], channel=channel)
    record, create = result.sent[0], result.sent[1]
    assert record.request.params["name"] == "vm-_.__.__._etc_x"  # no "/", no ".."
    assert create.request.params["endpoint"] == "Local/100_internal_Local_999@callees"


@pytest.mark.parametrize("action", ["get_variable", "set_variable"])
def test_a_channel_variable_name_cannot_be_a_template(tmp_path: Path, action: str) -> None:
    into = ", into: x" if action == "get_variable" else ""
    states = f'  start:\n    do: [{{{action}: {{variable: "{{{{ caller.name }}}}"{into}}}}}]\n'
    path = write_file(tmp_path, HEAD + states + END)
    assert load_problems(path) == [
        f"{path}:7:36: states.start.do[0].{action}.variable: a channel "
        "variable's name cannot be a template; write the name in"
    ]


def test_urlencode_makes_a_value_one_piece_of_a_url() -> None:
    assert parse_expression("urlencode(x)").evaluate({"x": "+44 1&a=b#c/d"}) == (
        "%2B44%201%26a%3Db%23c%2Fd"
    )


def test_a_base_url_from_the_flow_is_kept_and_canned_replies_see_the_escaped_url(
    tmp_path: Path,
) -> None:
    # the flow test's canned reply matches the URL as sent: escaped
    url = "{{ crm }}/customers?number={{ caller.number }}"
    states = f"""  start:
    do: [{{http: {{url: "{url}", timeout: 2s, into: who}}}}]
    on: {{HttpSucceeded: done, HttpFailed: done}}
  done: {{}}
"""
    head = HEAD.replace("states:", "vars: {crm: 'https://crm.test', who: null}\nstates:")
    compiled = compile_flow(load_flow(write_file(tmp_path, head + states + END)))
    reply = CannedReply("https://crm.test/customers?number=%2B44*", json={"tier": "vip"})
    result = simulate(compiled, channel=SimChannel(caller_number="+441"), replies=[reply])
    assert result.vars["who"] == {"tier": "vip"}


# -- logs (D15, D20) -------------------------------------------------------------------------


def test_a_newline_in_caller_data_cannot_forge_a_text_log_line() -> None:
    forged = "1\n2026-12-01 12:00:00,000 ERROR PJSIP/x call ended\x1b[2J"
    record = logging.makeLogRecord(
        {"msg": f"PJSIP/a entered (caller {forged})", "levelname": "INFO"}
    )
    lines = TextFormatter("%(levelname)-5s %(message)s").format(record).splitlines()
    assert lines == [
        "INFO  PJSIP/a entered (caller 1",
        "    | 2026-12-01 12:00:00,000 ERROR PJSIP/x call ended\\x1b[2J)",
    ]


def test_a_secret_pin_put_into_a_webhook_url_is_masked_in_the_log(tmp_path: Path) -> None:
    states = """  start:
    do: [{collect: {into: pin, max_digits: 4, secret: true}}]
    on: {DigitsCollected: check}
  check:
    do: [{http: {url: "https://bank.test/verify/{{ pin }}?k=1", timeout: 2s}}]
    on: {HttpSucceeded: done, HttpFailed: done}
  done: {}
"""
    compiled = compile_flow(load_flow(write_file(tmp_path, HEAD + states + END)))
    keys = [CallerStep(0.1 * (i + 1), "dtmf", d) for i, d in enumerate("4711")]
    reply = CannedReply("https://bank.test/verify/4711*")
    result = simulate(compiled, keys, replies=[reply])
    assert result.web[0].request.url == "https://bank.test/verify/4711?k=1"  # sent as it is
    logged = " ".join(h.message + repr(h.fields) for h in result.timeline)
    assert "4711" not in logged
    assert "http GET https://bank.test/verify/***: 200" in logged
