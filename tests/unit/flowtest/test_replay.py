"""Replay: a recorded call (here a simulated one, recorded as serve records real ones) as a flow
test case that passes on the flow version it ran, and shows the diff on another."""

from __future__ import annotations

import json
from pathlib import Path

from fakes import REPO, write_file
from observed import OK, PRESSES, observed, pin_flow

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import load_flow
from flowrunner.flowtest.cases import load_test_file
from flowrunner.flowtest.replay import case_file, read_recording, replay
from flowrunner.flowtest.runner import CaseResult, run_case
from flowrunner.sim.run import CallerStep
from flowrunner.sim.web import CannedReply

IVR = str(REPO / "flows" / "ivr-menu.yaml")
LOOKUP = str(REPO / "flows" / "caller-lookup.yaml")


def replayed(flow: str, tmp_path: Path, caller: list[CallerStep], **options: object) -> Path:
    """The test file `flowrunner replay` would write for one recorded call of `flow`."""
    _, _, record = observed(flow, tmp_path, caller, **options)  # type: ignore[arg-type]
    recording = read_recording(record)
    compiled = compile_flow(load_flow(flow))
    made = replay(recording, compiled, "the call", compiled.flow.uses_time)
    assert made.retraced, made.notes
    return Path(write_file(tmp_path, case_file([made.case], flow, "replayed"), "r.test.yaml"))


def run(path: Path, flow: str | None = None) -> CaseResult:
    (case,) = load_test_file(str(path)).cases
    return run_case(compile_flow(load_flow(flow or load_test_file(str(path)).flow_path)), case)


def test_a_key_pressed_during_the_menu_replays_as_a_passing_case(tmp_path: Path) -> None:
    path = replayed(IVR, tmp_path, [CallerStep(1.5, "dtmf", "1")])
    (case,) = load_test_file(str(path)).cases
    assert [(s.at, s.what, s.digit) for s in case.caller] == [(1.5, "dtmf", "1")]
    # hello-world played out (1 s); the menu's prompt, stopped at 0.5 s, plays a little longer
    assert case.media == {"sound:hello-world": 1.0, "sound:demo-instruct": 1.5}
    assert [(line.at, line.name) for line in case.expect.actions] == [
        (0.0, "answer"),
        (0.0, "play"),
        (1.0, "play"),
        (1.5, "stop_playback"),
        (1.5, "set_variable"),
        (1.5, "continue"),
    ]
    assert case.expect.ended_by == "flow"
    assert run(path).passed


def test_against_an_edited_flow_the_case_shows_the_diff(tmp_path: Path) -> None:
    path = replayed(IVR, tmp_path, [CallerStep(1.5, "dtmf", "1")])
    text = (
        Path(IVR)
        .read_text()
        .replace("value: sales}},", "value: sales}}, {play: {media: sound:beep}},")
    )
    edited = write_file(tmp_path, text, "edited.yaml")
    result = run(path, edited)
    assert result.failures[0] == "actions differ (- expected, + actual):"
    assert "  + 1.5s play: {media: sound:beep}" in result.failures


def test_the_caller_hanging_up_first_is_replayed(tmp_path: Path) -> None:
    path = replayed(IVR, tmp_path, [CallerStep(0.4, "hangup")])
    (case,) = load_test_file(str(path)).cases
    assert [(s.at, s.what) for s in case.caller] == [(0.4, "hangup")]
    assert case.expect.ended_by == "caller"
    assert run(path).passed


def test_a_flow_that_hangs_up_is_not_replayed_as_a_caller_hanging_up(tmp_path: Path) -> None:
    path = replayed(IVR, tmp_path, [])  # silence: the menu retries, then says goodbye
    (case,) = load_test_file(str(path)).cases
    assert case.caller == ()
    assert case.expect.ended_by == "flow"
    assert run(path).passed


def test_a_failed_request_is_replayed(tmp_path: Path) -> None:
    path = replayed(IVR, tmp_path, [], failures={"play": 500})
    (case,) = load_test_file(str(path)).cases
    assert case.failures == {"play": 500}
    assert run(path).passed


def test_web_replies_are_replayed_with_their_body_and_delay(tmp_path: Path) -> None:
    crm = [CannedReply("*number=100", json={"name": "Ada", "tier": "vip"}, after=0.25)]
    path = replayed(LOOKUP, tmp_path, [], replies=crm)
    (case,) = load_test_file(str(path)).cases
    lookup = case.replies[0]
    assert (lookup.url, lookup.method, lookup.status) == ("*127.0.0.1:8099/customers*", "GET", 200)
    assert (lookup.json, lookup.after) == ({"name": "Ada", "tier": "vip"}, 0.25)
    assert case.channel.caller_number == "100"
    assert run(path).passed


def test_without_the_version_it_ran_the_recorded_times_are_expected(tmp_path: Path) -> None:
    _, _, record = observed(IVR, tmp_path, [CallerStep(1.5, "dtmf", "1")])
    made = replay(read_recording(record), None, "the call")
    assert made.notes == ["the flow version the call ran is not at hand: recorded times expected"]
    assert made.case["expect"] == {
        "actions": [
            "0s answer",
            "0s play",
            "1s play",
            "1.5s stop_playback",
            "1.5s set_variable",
            "1.5s continue",
        ]
    }


def test_a_hidden_key_is_not_replayed_and_said_so(tmp_path: Path) -> None:
    _, _, record = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    made = replay(read_recording(record), None, "pin")
    assert "caller" not in made.case
    assert made.notes[:4] == [
        f"a key at {t} was hidden (a secret): not replayed"
        for t in ("1.5s", "1.6s", "1.7s", "1.8s")
    ]


def test_a_recorded_key_that_is_no_dtmf_key_is_not_replayed(tmp_path: Path) -> None:
    _, _, record = observed(IVR, tmp_path, [CallerStep(1.5, "dtmf", "1")])
    text = record.read_text().replace('"digit":"1"', '"digit":"1 hangup\\n"')
    record.write_text(text)
    made = replay(read_recording(record), None, "x")
    assert "caller" not in made.case
    assert "a key at 1.5s is no DTMF key: not replayed" in made.notes


def test_requests_answered_within_a_millisecond_keep_the_order_they_were_sent(
    tmp_path: Path,
) -> None:
    # As a loaded machine recorded it: continue went out after set_variable's reply, but its
    # reply took longer, so the times rounded before the subtraction put it first.
    began = 1796251387.2387
    entries = [
        {"t": began, "kind": "start", "channel": "c", "app": "a", "version": "v", "flow": "f"},
        {"t": began, "kind": "event", "event": {"type": "StasisStart", "channel": {"id": "c"}}},
        _reply(began + 1.6634, 0.0004, "stop_playback"),
        _reply(began + 1.66385, 0.0003, "set_variable"),
        _reply(began + 1.66441, 0.0005, "continue"),
    ]
    record = write_file(tmp_path, "".join(json.dumps(e) + "\n" for e in entries), "r.jsonl")
    made = replay(read_recording(Path(record)), None, "x")
    assert made.case["expect"]["actions"] == [
        "1.663s stop_playback",
        "1.664s set_variable",
        "1.664s continue",
    ]


def _reply(t: float, seconds: float, action: str) -> dict[str, object]:
    ari = {"action": action, "method": "POST", "path": "channels/c/x", "params": {}}
    return {"t": t, "kind": "reply", "seconds": seconds, "ari": ari, "status": 204, "error": ""}
