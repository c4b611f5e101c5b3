"""Traces and replay on a real Asterisk: a call to a copy of the ivr-menu flow (app
trace-ivr-menu), served with --trace and --record, presses 1 in the menu. Its trace has every
transition its log has, `flowrunner trace` prints them, and `flowrunner replay` turns its
recording into a flow test case that passes against the flow, and fails with a diff against an
edited copy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, Runner, ari, clean_call, flow_copy, place_call, serving, transitions
from conftest import wait_until as wait
from test_local_channel import Probe

APP = "trace-ivr-menu"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trace-replay")


@pytest.fixture(scope="module")
def runner(asterisk: None, folder: Path) -> Iterator[Runner]:
    flow = flow_copy(folder, "ivr-menu", APP)
    options = ("--trace", str(folder / "traces"), "--record", str(folder / "records"))
    with serving(folder / "serve.log", flow, options=options) as runner:
        yield runner


@pytest.fixture(scope="module")
def call_name(runner: Runner) -> str:
    """One call: the greeting plays out, 1 is pressed during the menu prompt; the flow goes
    on in the dialplan (as sales), where the caller hangs up."""
    with clean_call(runner):
        probe = Probe("trace-probe")
        try:
            call = place_call(APP, probe)
            menu = ["(start) -> greeting", "greeting -> menu"]
            wait(lambda: transitions(runner, call.name) == menu, 10, "the menu")
            wait(lambda: _prompt_playing(runner, call.name), 5, "the menu prompt")
            ari("POST", f"channels/{call.phone}/dtmf", dtmf="1")
            wait(lambda: "sales -> ended" in transitions(runner, call.name), 5, "sales")
            ari("DELETE", f"channels/{call.phone}")
        finally:
            probe.close()
    wait(lambda: _written(runner, "traces", '"kind":"end"'), 5, "the trace")
    wait(lambda: _written(runner, "records", '"StasisEnd"'), 5, "the recording")
    wait(lambda: _written(runner, "records", '"action":"continue"'), 15, "the last reply")
    return call.name


def _written(runner: Runner, kind: str, text: str) -> bool:
    """The call's one file (written in batches, on a thread) has `text` in a complete line."""
    files = _files(runner, kind)
    if len(files) != 1:
        return False
    written = files[0].read_text()
    return text in written[: written.rfind("\n") + 1]


def _prompt_playing(runner: Runner, name: str) -> bool:
    started = [
        line
        for line in runner.lines()
        if line.get("channel") == name and line.get("event") == "PlaybackStarted"
    ]
    return len(started) == 2  # hello-world, then the menu's prompt


def _files(runner: Runner, kind: str) -> list[Path]:
    return sorted((runner.log_path.parent / kind).glob("*.jsonl"))


def flowrunner(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "flowrunner", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_trace_has_every_transition_the_log_has(runner: Runner, call_name: str) -> None:
    (path,) = _files(runner, "traces")
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    traced = [
        f"{e['source'] or '(start)'} -> {e['target']}" for e in entries if e["kind"] == "transition"
    ]
    assert traced == transitions(runner, call_name)
    assert traced == ["(start) -> greeting", "greeting -> menu", "menu -> sales", "sales -> ended"]
    guards = {e["target"]: e.get("guard") for e in entries if e["kind"] == "transition"}
    assert guards["sales"] == "choice == '1'"
    assert [e["vars"] for e in entries if e["kind"] == "vars"] == [{"choice": "1"}]
    keys = [e["fields"] for e in entries if e.get("event") == "ChannelDtmfReceived"]
    assert [k["digit"] for k in keys] == ["1"]
    played = [e["params"] for e in entries if e["kind"] == "step" and e["action"] == "play"]
    assert played == [{"media": "sound:hello-world"}]
    assert APP not in path.name  # named by time and a hash, never by call data


def test_flowrunner_trace_prints_the_timeline(runner: Runner, call_name: str) -> None:
    shown = flowrunner("trace", call_name, "--dir", str(runner.log_path.parent / "traces"))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"call {call_name} (id ")
    moves = [line.split("transition", 1)[1].strip() for line in lines if " transition " in line]
    assert moves == [
        "(start) -> greeting (StasisStart)",
        "greeting -> menu (playback finished)",
        "menu -> sales (digits collected)  when choice == '1'",
        "sales -> ended (StasisEnd)",
    ]
    assert any('choice = "1"' in line for line in lines)


def test_the_replayed_call_passes_against_its_flow(runner: Runner, call_name: str) -> None:
    (record,) = _files(runner, "records")
    case = runner.log_path.parent / "replayed.test.yaml"
    made = flowrunner("replay", str(record), "-o", str(case))
    assert made.returncode == 0, made.stdout + made.stderr
    ran = flowrunner("test", str(case))
    assert ran.returncode == 0, case.read_text() + ran.stdout
    assert "1 passed" in ran.stdout


def test_the_replayed_call_shows_the_diff_against_an_edited_flow(
    runner: Runner, call_name: str
) -> None:
    (record,) = _files(runner, "records")
    folder = runner.log_path.parent / "edited"
    folder.mkdir(exist_ok=True)
    edited = flow_copy(
        folder,
        "ivr-menu",
        APP,
        {"value: sales}},": "value: sales}}, {play: {media: sound:beep}},"},
    )
    case = folder / "replayed.test.yaml"
    made = flowrunner("replay", str(record), "--flow", edited, "-o", str(case))
    assert made.returncode == 0, made.stdout + made.stderr
    ran = flowrunner("test", str(case))
    assert ran.returncode == 1, ran.stdout
    assert "actions differ (- expected, + actual):" in ran.stdout
    assert any(line.strip().startswith("+") and "play" in line for line in ran.stdout.splitlines())
