"""`flowrunner simulate`: the timeline shows each request as a flow test writes it, whose it is
when the call has several channels, and its options speak the test file's grammar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowrunner.cli import main

REPO = Path(__file__).parents[3]
FLOWS = REPO / "flows"


def timeline(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["simulate", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    return [re.sub(r"version [0-9a-f]{12}", "version V", line) for line in lines]


def test_requests_are_lines_a_test_can_take_and_a_failed_one_says_its_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert timeline(capsys, str(FLOWS / "channel-state.yaml"), "--fail", "answer=500") == [
        "    0.000s  start       entered channel-state (caller -, extension 1000; version V)",
        "    0.000s  transition  (start) -> ringing (StasisStart)",
        "    0.000s  request     - 0s ring",
        "    0.000s  action      ring ok",
        "    2.000s  transition  ringing -> answered (after 2s)",
        "    2.000s  request     - 2s answer  # 500",
        "    2.000s  error       answer failed: 500 simulated failure",
        "    2.000s  request     - 2s hangup",
        "    2.000s  end         call ended after 2.000s in answered: answer failed",
        "call ended in state answered after 2s",
    ]


def test_a_call_with_several_channels_has_a_channel_column(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = timeline(capsys, str(FLOWS / "forward-call.yaml"), "--event", "5s hangup")
    requests = [line for line in lines if "  request  " in line]
    assert requests == [
        "    0.000s  request     caller                - 0s answer",
        "    0.000s  request     caller                - 0s play: "
        "{media: sound:pls-hold-while-try}",
        "    1.000s  request     Local/answer@callees  - 1s dial_create: "
        "{endpoint: Local/answer@callees}",
        "    1.000s  request     Local/answer@callees  - 1s dial_start: {timeout: '20'}",
        "    2.000s  request     bridge                - 2s bridge_create: {type: mixing}",
        "    2.000s  request     bridge                - 2s bridge_add: "
        "{channel: 'sim-0001,sim-0001-dial-1'}",
        "    5.000s  request     bridge                - 5s bridge_destroy",
        "    5.000s  request     Local/answer@callees  - 5s peer_hangup",
    ]
    assert "    5.000s  caller                            caller hangs up" in lines


def test_web_requests_show_their_body_and_header_names(capsys: pytest.CaptureFixture[str]) -> None:
    lines = timeline(capsys, str(FLOWS / "caller-lookup.yaml"))
    assert [line for line in lines if "  http  " in line] == [
        "    0.000s  http        - GET http://127.0.0.1:8099/customers?number=: "
        "{headers: [Authorization]}",
        "    0.000s  http        - POST http://127.0.0.1:8099/calls: {body: {number: '', "
        "tier: prospect, last_state: route, end_reason: flow ended it, seconds: 0.0}, "
        "headers: [Authorization]}",
    ]
    assert "demo-token" not in "\n".join(lines)


LOOP = """\
version: 1
app: h1-loop
initial: a
limits: {max_steps: 3}
on: {StasisEnd: done}
states:
  a:
    do: [{play: {media: sound:beep}}]
    on: {PlaybackFinished: b}
  b:
    then: a
  done:
    final: true
"""


def test_the_loop_guards_hangup_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "loop.yaml"
    flow.write_text(LOOP)
    assert timeline(capsys, str(flow))[-5:] == [
        "    2.000s  transition  a -> b (playback finished)",
        "    2.000s  error       loop guard: more than 3 state changes",
        "    2.000s  request     - 2s hangup",
        "    2.000s  end         call ended after 2.000s in b: loop guard",
        "call ended in state b after 2s",
    ]


GRAMMAR = "is not valid: 'TIME hangup' or 'TIME dtmf DIGIT', e.g. '1s hangup', '3.2s dtmf 1'."


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--event", "2s dance", f"--event: '2s dance' {GRAMMAR}"),
        ("--event", "2s dtmf 12", f"--event: '2s dtmf 12' {GRAMMAR}"),
        ("--event", "25h hangup", "--event: bad duration '25h': it must be at most 24h"),
        ("--fail", "plya=500", "--fail: no request is called 'plya'; did you mean 'play'?"),
        ("--fail", "play=200", "--fail: must be at least 400, not 200"),
        ("--fail", "play", "--fail wants ACTION=STATUS, e.g. answer=404; got 'play'"),
    ],
)
def test_options_are_refused_with_the_test_files_sentences(
    capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    assert main(["simulate", str(FLOWS / "channel-state.yaml"), option, value]) == 1
    assert capsys.readouterr().out == f"flowrunner simulate: {message}\n"


def test_the_test_file_says_the_same_of_the_same_mistakes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "channel-state.yaml").write_text((FLOWS / "channel-state.yaml").read_text())
    tests = tmp_path / "channel-state.test.yaml"
    case = "tests:\n  - name: x\n    {}\n    expect: {{ended: true}}\n"
    said = []
    for mistake in ("caller: [2s dance]", "caller: [25h hangup]", "ari: {plya: 500}"):
        tests.write_text(case.format(mistake))
        assert main(["test", str(tests)]) == 1
        said.append(capsys.readouterr().out.splitlines()[0])
    assert said == [
        f"{tests}:3:14: tests[0].caller[0]: '2s dance' {GRAMMAR}",
        f"{tests}:3:14: tests[0].caller[0]: bad duration '25h': it must be at most 24h",
        f"{tests}:3:11: tests[0].ari.plya: no request is called 'plya'; did you mean 'play'?",
    ]


def test_a_ring_groups_lines_say_which_callee(capsys: pytest.CaptureFixture[str]) -> None:
    lines = timeline(capsys, str(FLOWS / "ring-group.yaml"))
    assert lines[10:12] == [
        "    1.000s  request     PJSIP/alice  - 1s dial_create: {endpoint: PJSIP/alice}",
        "    1.000s  action      PJSIP/alice  dial_create ok",
    ]
