"""The tester is tested: a flow change that breaks a case makes it fail, naming the case."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowrunner.cli import main

REPO = Path(__file__).parents[3]


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    for name in ("channel-state.yaml", "channel-state.test.yaml"):
        shutil.copy(REPO / "flows" / name, tmp_path / name)
    return tmp_path


def test_the_shipped_flow_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(REPO / "flows")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"[1-9][0-9]* passed, 0 failed in [0-9.]+s", last)


def test_changing_the_answer_delay_fails_and_names_the_case(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = flows / "channel-state.yaml"
    flow.write_text(flow.read_text().replace("2s: answered", "3s: answered"))
    assert main(["test", str(flows)]) == 1
    out = capsys.readouterr().out
    assert "::a normal call rings, is answered at 2 s and hung up at 6 s FAILED" in out
    assert "  - 2s answer\n      + 3s answer" in out
    assert out.splitlines()[-1].startswith("1 passed, 3 failed")


def test_a_tolerance_admits_small_differences(flows: Path) -> None:
    tests = flows / "channel-state.test.yaml"
    text = tests.read_text().replace("        - 6s hangup\n", "        - 6.04s hangup\n", 1)
    tests.write_text(text)
    assert main(["test", str(flows)]) == 1
    tests.write_text(
        text.replace("      state: ended\n", "      within: 50ms\n      state: ended\n", 1)
    )
    assert main(["test", str(flows)]) == 0


def test_github_format_points_at_the_failing_case(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = flows / "channel-state.test.yaml"
    tests.write_text(tests.read_text().replace("[0s ring]", "[0s ring, 2s answer]"))
    assert main(["test", "--format", "github", str(flows)]) == 1
    line = next(n for n, text in enumerate(tests.read_text().splitlines(), 1) if "at 1 s" in text)
    assert (
        f"::error file={tests},line={line}::the caller hangs up at 1 s" in capsys.readouterr().out
    )


def test_a_broken_test_file_is_reported_with_its_position(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = flows / "channel-state.test.yaml"
    tests.write_text(tests.read_text().replace("1s hangup", "1s hangs-up"))
    assert main(["test", str(flows)]) == 1
    assert (
        f"{tests}:23:9: tests[1].caller[0]: '1s hangs-up' is not valid" in capsys.readouterr().out
    )


def test_graph_and_simulate_speak_the_flows_language(capsys: pytest.CaptureFixture[str]) -> None:
    flow = str(REPO / "flows" / "channel-state.yaml")
    assert main(["graph", flow]) == 0
    assert "    ringing --> answered : after 2s" in capsys.readouterr().out
    assert main(["simulate", flow, "--event", "1s hangup", "--fail", "ring=500"]) == 0
    out = capsys.readouterr().out
    assert "ring failed: 500" in out
    assert out.splitlines()[-1] == "call ended in state ringing after 0s"


def test_graph_labels_show_the_filters_and_guards_a_transition_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["graph", str(REPO / "flows" / "ivr-menu.yaml")]) == 0
    out = capsys.readouterr().out
    assert "    menu --> sales : 1. DigitsCollected [choice == '1']" in out
    assert "    _any --> operator : ChannelDtmfReceived [digit=*]" in out
    assert main(["graph", "--format", "dot", str(REPO / "flows" / "caller-lookup.yaml")]) == 0
    assert "lookup -> vip [label=\"1. HttpSucceeded [customer.tier == 'vip']\"];" in (
        capsys.readouterr().out
    )


HOURS_CASE = (
    "tests:\n  - name: {name}\n{at}    caller: [2s hangup]\n    expect: {{actions: [{actions}]}}\n"
)
MENU = "0s answer, 0s play"  # the menu's prompt; closed, the record follows at 1 s


def business_hours(tmp_path: Path, cases: str) -> Path:
    shutil.copy(REPO / "flows" / "business-hours.yaml", tmp_path / "business-hours.yaml")
    shutil.copytree(REPO / "flows" / "pieces", tmp_path / "pieces")
    (tmp_path / "business-hours.test.yaml").write_text(cases)
    return tmp_path / "business-hours.test.yaml"


def test_a_case_sets_the_time_of_its_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = HOURS_CASE.format(name="open", at="    at: 2026-12-01T10:00:00Z\n", actions=MENU)
    closed = HOURS_CASE.format(name="closed", at="    at: 2026-12-25T10:00:00Z\n", actions=MENU)
    cases += closed.removeprefix("tests:\n")
    assert main(["test", str(business_hours(tmp_path, cases))]) == 1
    out = capsys.readouterr().out
    assert "::open PASSED" in out
    assert "::closed FAILED\n    actions differ (- expected, + actual):" in out
    assert "+ 1s record" in out


def test_a_case_of_a_flow_that_reads_the_time_needs_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = HOURS_CASE.format(name="when?", at="", actions=MENU)
    assert main(["test", str(business_hours(tmp_path, cases))]) == 1
    assert (
        "::when? FAILED\n    this flow reads the time (now, hours): give the case the time of "
        "the call, e.g. at: 2026-12-24T16:00:00+01:00\n" in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("at", "message"),
    [
        (
            "2026-12-01T10:00:00",
            "'2026-12-01T10:00:00' has no UTC offset: add one, e.g. 2026-12-24T16:00:00+01:00 "
            "(or Z for UTC)",
        ),
        (
            "tomorrow",
            "'tomorrow' is not a date and time: write one as e.g. 2026-12-24T16:00:00+01:00",
        ),
    ],
)
def test_a_bad_time_is_reported_at_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str, message: str
) -> None:
    path = business_hours(
        tmp_path, f"at: {at}\n" + HOURS_CASE.format(name="x", at="", actions=MENU)
    )
    assert main(["test", str(path)]) == 1
    assert f"{path}:1:5: at: {message}" in capsys.readouterr().out


def test_simulate_places_the_call_when_told(capsys: pytest.CaptureFixture[str]) -> None:
    flow = str(REPO / "flows" / "business-hours.yaml")
    assert (
        main(["simulate", flow, "--at", "2026-12-24T13:00:00+01:00", "--event", "2s hangup"]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "the call is placed at 2026-12-24T12:00:00+00:00"  # in the flow's zone
    assert "welcome -> closed (actions done)" in "\n".join(out)
    assert main(["simulate", flow, "--at", "noon"]) == 1
    assert capsys.readouterr().out == (
        "flowrunner simulate: --at: 'noon' is not a date and time: write one as e.g. "
        "2026-12-24T16:00:00+01:00\n"
    )


def test_coverage_lists_what_no_case_reaches(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = flows / "channel-state.test.yaml"
    text = tests.read_text()
    hangs_up = text.index("  - name: the caller hangs up at 1 s")
    tests.write_text("tests:\n" + text[hangs_up : text.index("  - name: answer fails with 404")])
    assert main(["test", str(flows), "--coverage"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-5:] == [
        f"{flows}/channel-state.yaml: 42.9% (states 2/4, transitions 1/3)",
        "    never entered: answered, hanging_up",
        "    never taken: ringing -> answered (after 2s)",
        "    never taken: answered -> hanging_up (after 4s)",
        "coverage: 42.9% of states and transitions reached",
    ]
    assert main(["test", str(flows), "--fail-under", "50"]) == 1
    assert main(["test", str(flows), "--fail-under", "40"]) == 0


def test_junit_xml_has_a_testcase_per_case(
    flows: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = flows / "channel-state.yaml"
    flow.write_text(flow.read_text().replace("2s: answered", "3s: answered"))
    report = tmp_path / "report.xml"
    assert main(["test", str(flows), "--junit-xml", str(report)]) == 1
    (suite,) = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("4", "3")
    failed = [case for case in suite if case.find("failure") is not None]
    assert failed[0].get("name") == "a normal call rings, is answered at 2 s and hung up at 6 s"
    failure = failed[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "actions differ (- expected, + actual):"
    assert "  - 2s answer\n  + 3s answer" in (failure.text or "")


def test_each_callee_of_a_ring_group_does_what_its_entry_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ring-group.yaml", "ring-group.test.yaml"):
        shutil.copy(REPO / "flows" / name, tmp_path / name)
    tests = tmp_path / "ring-group.test.yaml"
    text = tests.read_text()
    bob = '{endpoint: PJSIP/bob, after: 3s, press: "1", press_after: 500ms}'
    assert bob in text
    tests.write_text(text.replace(bob, bob.replace('"1"', '"2"')))  # not the key to accept
    assert main(["test", str(tests)]) == 1
    out = capsys.readouterr().out
    assert "::bob answers and presses 1; carol is busy" in out
    # bob never accepts: the on-call phones are tried, and dave (not listed) answers
    assert "vars.answered_by: expected PJSIP/bob, got PJSIP/dave" in out
    tests.write_text(text.replace(bob, bob.replace("500ms", "25h")))
    assert main(["test", str(tests)]) == 1
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "PJSIP/bob, after: 3s" in t)
    assert f"{tests}:{line}:" in capsys.readouterr().out


def test_without_a_flows_folder_test_says_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["test"]) == 1
    assert capsys.readouterr().out == (
        "there is no flows/ folder here: give the test files or folders to run, e.g. "
        "flowrunner test path/to/flows\n"
    )


def test_a_case_says_who_ended_the_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = tmp_path / "loop.yaml"
    flow.write_text(
        "version: 1\napp: loop\ninitial: a\nlimits: {max_steps: 5}\non: {StasisEnd: ended}\n"
        "states:\n  a: {then: b}\n  b: {then: a}\n  ended: {final: true}\n"
    )
    tests = tmp_path / "loop.test.yaml"
    case = "tests:\n  - name: loops\n    expect: {{ended_by: {by}}}\n"
    tests.write_text(case.format(by="loop_guard"))
    assert main(["test", str(tests)]) == 0
    tests.write_text(case.format(by="caller"))
    assert main(["test", str(tests)]) == 1
    assert "ended_by: expected caller, got loop_guard" in capsys.readouterr().out


def test_simulate_runs_a_flow_test_case_and_says_how_it_went(
    capsys: pytest.CaptureFixture[str],
) -> None:
    flow = str(REPO / "flows" / "caller-lookup.yaml")
    case = f"{REPO}/flows/caller-lookup.test.yaml::a known customer continues as customer, at once"
    assert main(["simulate", flow, "--case", case]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "entered caller-lookup (caller 200, extension 1000" in out[0]  # the case's caller
    assert out[-1] == "case: PASSED"
    assert main(["simulate", flow, "--case", case, "--fail", "answer=500"]) == 0
    failed = capsys.readouterr().out.splitlines()
    assert "case: FAILED" in failed
    assert "    actions differ (- expected, + actual):" in failed
    assert main(["simulate", flow, "--case", "nothing"]) == 1
    assert capsys.readouterr().out == (
        "flowrunner simulate: --case wants FILE::NAME, as flowrunner test prints it; got "
        "'nothing'\n"
    )


def test_a_case_s_media_play_as_long_as_it_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "flows" / "ivr-menu.yaml", tmp_path / "ivr-menu.yaml")
    (tmp_path / "ivr-menu.test.yaml").write_text(
        "tests:\n"
        "  - name: a long greeting, then * during the menu's long prompt\n"
        '    media: {"sound:hello-world": 2.5s, "sound:demo-instruct": 1500ms}\n'
        '    caller: ["3.5s dtmf *"]\n'
        "    expect:\n"
        "      actions: [0s answer, 0s play, 2.5s play, 3.5s stop_playback, 3.5s play,\n"
        "                4.5s play, 5.5s hangup]\n"
    )
    assert main(["test", str(tmp_path)]) == 0, capsys.readouterr().out


def test_a_media_duration_out_of_bounds_is_an_error_at_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "flows" / "ivr-menu.yaml", tmp_path / "ivr-menu.yaml")
    (tmp_path / "ivr-menu.test.yaml").write_text(
        "tests:\n  - name: x\n    media: {sound:x: 25h}\n    expect: {ended: true}\n"
    )
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'ivr-menu.test.yaml'}:3:22: tests[0].media.sound:x: ")
