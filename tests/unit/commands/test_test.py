"""`flowrunner test`: a failing case shows an aligned diff of what was expected and sent, in
the test file's own notation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flowrunner.cli import main

REPO = Path(__file__).parents[3]


@pytest.fixture
def voicemail(tmp_path: Path) -> Path:
    for name in ("voicemail.yaml", "voicemail.test.yaml"):
        shutil.copy(REPO / "flows" / name, tmp_path / name)
    return tmp_path / "voicemail.test.yaml"


CASE = """\
tests:
  - name: the message
    expect:
      actions:
        - 0s answer
        - 0s play: {media: sound:vm-intro}
        - 1s record: {name: vm-sim-0001}
        - 31s play
        - 33s hangup
"""


def test_one_missing_action_is_one_plus_line(
    voicemail: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voicemail.write_text(CASE)
    assert main(["test", str(voicemail)]) == 1
    assert capsys.readouterr().out.splitlines()[:-1] == [
        f"{voicemail}::the message FAILED",
        "    actions differ (- expected, + actual):",
        "        0s answer",
        "        0s play: {media: sound:vm-intro}",
        "        1s record: {name: vm-sim-0001}",
        "        31s play",
        "      + 32s play: {media: sound:vm-goodbye}",
        "        33s hangup",
    ]


def test_a_changed_parameter_is_one_change(
    voicemail: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = voicemail.with_name("voicemail.yaml")
    flow.write_text(
        flow.read_text().replace('name: "vm-{{ call.id }}"', 'name: "msg-{{ call.id }}"')
    )
    voicemail.write_text(
        CASE.replace("        - 33s hangup\n", "        - 32s play\n        - 33s hangup\n")
    )
    assert main(["test", str(voicemail)]) == 1
    assert capsys.readouterr().out.splitlines()[1:-1] == [
        "    actions differ (- expected, + actual):",
        "        0s answer",
        "        0s play: {media: sound:vm-intro}",
        "      - 1s record: {name: vm-sim-0001}",
        "      + 1s record: {name: msg-sim-0001}",
        "        31s play",
        "        32s play",
        "        33s hangup",
    ]


def test_web_requests_are_diffed_by_body_and_header_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "flows" / "caller-lookup.yaml", tmp_path / "caller-lookup.yaml")
    tests = tmp_path / "caller-lookup.test.yaml"
    tests.write_text(
        "tests:\n  - name: summary\n    expect:\n      http:\n"
        "        - GET http://127.0.0.1:8099/customers?number=*: {headers: [X-Api-Key]}\n"
        "        - POST http://127.0.0.1:8099/calls: {body: {tier: vip, seconds: 0}}\n"
    )
    assert main(["test", str(tests)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[1:-1] == [
        "    http requests differ (- expected, + actual):",
        "      - GET http://127.0.0.1:8099/customers?number=*: {headers: [X-Api-Key]}",
        "      + GET http://127.0.0.1:8099/customers?number=: {headers: [Authorization]}",
        "      - POST http://127.0.0.1:8099/calls: {body: {tier: vip, seconds: 0}}",
        "      + POST http://127.0.0.1:8099/calls: {body: {tier: prospect, seconds: 0.0}}",
    ]
    assert "demo-token" not in out
