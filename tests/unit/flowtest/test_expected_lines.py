"""Loading a test file's new expectations and canned `ari` replies: each mistake is said at its
position, `path:line:col: trail: message`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flowrunner.cli import main
from flowrunner.flowtest.cases import load_test_file
from flowrunner.flowtest.expectations import ExpectedLine
from flowrunner.sim.asterisk import AriReply

REPO = Path(__file__).parents[3]


@pytest.fixture
def tests(tmp_path: Path) -> Path:
    shutil.copy(REPO / "flows" / "channel-state.yaml", tmp_path / "channel-state.yaml")
    return tmp_path / "channel-state.test.yaml"


def problems(tests: Path, case: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    tests.write_text("tests:\n  - name: x\n" + case)
    assert main(["test", str(tests)]) == 1
    return capsys.readouterr().out.splitlines()[:-1]


def test_expected_lines_are_read_with_their_parameters(tests: Path) -> None:
    tests.write_text(
        "tests:\n  - name: x\n    expect:\n"
        "      actions:\n"
        "        - 0s ring\n"
        "        - 2s answer: {}\n"
        "        - 2.5s start_silence: null\n"
        "        - 6s hangup: {reason: normal}\n"
        "      http:\n"
        "        - GET http://crm/x\n"
        "        - 'POST http://crm/calls': {body: {tier: gold}, headers: [Authorization]}\n"
    )
    expect = load_test_file(str(tests)).cases[0].expect
    assert expect.actions == (
        ExpectedLine("ring", None, 0.0),
        ExpectedLine("answer", None, 2.0),
        ExpectedLine("start_silence", None, 2.5),
        ExpectedLine("hangup", {"reason": "normal"}, 6.0),
    )
    assert expect.http == (
        ExpectedLine("GET http://crm/x"),
        ExpectedLine(
            "POST http://crm/calls", {"body": {"tier": "gold"}, "headers": ["Authorization"]}
        ),
    )


def test_an_action_no_request_has_is_refused_with_a_hint(
    tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = "    expect:\n      actions:\n        - 0s rnig\n        - '2s anwser': {}\n"
    assert problems(tests, case, capsys) == [
        f"{tests}:5:11: tests[0].expect.actions[0]: no request is called 'rnig'; "
        "did you mean 'ring'?",
        f"{tests}:6:11: tests[0].expect.actions[1].2s anwser: no request is called 'anwser'; "
        "did you mean 'answer'?",
    ]


def test_a_misshapen_expected_line_is_said_at_its_place(
    tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = (
        "    expect:\n      actions:\n"
        "        - 2 answer\n"
        "        - 2s answer: sound\n"
        "        - {at: 2s, play: {media: x}}\n"
        "        - {0s ring: null, 2s answer: null}\n"
        "      http:\n"
        "        - GET http://x: {bdy: 1}\n"
        "        - GET http://x: {headers: Authorization}\n"
    )
    assert problems(tests, case, capsys) == [
        f"{tests}:5:11: tests[0].expect.actions[0]: '2 answer' is not valid: 'TIME ACTION', "
        "e.g. '2s answer'.",
        f"{tests}:6:22: tests[0].expect.actions[1].2s answer: expected a mapping or nothing, "
        "got text",
        # the old {at: …} form: each entry is said wrong, and that there are two
        f"{tests}:7:11: tests[0].expect.actions[2]: at most 1 entry, not 2",
        f"{tests}:7:12: tests[0].expect.actions[2]: 'at' is not valid: 'TIME ACTION', "
        "e.g. '2s play'.",
        f"{tests}:7:16: tests[0].expect.actions[2].at: expected a mapping or nothing, got text",
        f"{tests}:7:20: tests[0].expect.actions[2]: 'play' is not valid: 'TIME ACTION', "
        "e.g. '2s play'.",
        f"{tests}:8:11: tests[0].expect.actions[3]: at most 1 entry, not 2",
        f"{tests}:10:26: tests[0].expect.http[0].GET http://x: unknown key 'bdy'; "
        "did you mean 'body'?",
        f"{tests}:11:35: tests[0].expect.http[1].GET http://x.headers: expected a list, got text",
    ]


def test_canned_ari_replies_are_read_by_operation_or_path(tests: Path) -> None:
    tests.write_text(
        "tests:\n  - name: x\n"
        "    ari_replies:\n"
        "      - {method: GET, path: 'channels/{id}/variable', json: {value: '42'}}\n"
        "      - {method: POST, path: 'bridges/*', status: 500}\n"
        "      - {method: DELETE, path: channels/sim-0001/moh}\n"
        "    expect: {ended: true}\n"
    )
    assert load_test_file(str(tests)).cases[0].ari_replies == (
        AriReply("channels/{channelId}/variable", "GET", 200, {"value": "42"}, operation=True),
        AriReply("bridges/*", "POST", 500),
        AriReply("channels/sim-0001/moh", "DELETE"),
    )


def test_a_canned_reply_for_no_ari_operation_is_refused_with_a_hint(
    tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = (
        "    ari_replies:\n"
        "      - {method: GET, path: 'channels/{channelId}/variabel'}\n"
        "      - {path: 'channels/*'}\n"
        "    expect: {ended: true}\n"
    )
    assert problems(tests, case, capsys) == [
        f"{tests}:5:9: tests[0].ari_replies[1]: missing key 'method'",
    ]
    case = "    ari_replies:\n      - {method: GET, path: 'channels/{channelId}/variabel'}\n"
    assert problems(tests, case + "    expect: {ended: true}\n", capsys) == [
        f"{tests}:4:29: tests[0].ari_replies[0].path: no ARI operation GET "
        "channels/{channelId}/variabel; did you mean GET channels/{channelId}/variable?",
    ]
