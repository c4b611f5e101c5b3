"""`flowrunner replay FILE`: a recorded call as a flow test file that `flowrunner test` passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import REPO
from observed import observed

from flowrunner.cli import main
from flowrunner.flowtest.cases import load_test_file
from flowrunner.sim.run import CallerStep

IVR = str(REPO / "flows" / "ivr-menu.yaml")


def recorded(tmp_path: Path) -> Path:
    _, _, record = observed(IVR, tmp_path, [CallerStep(1.5, "dtmf", "2")])
    return record


def test_the_case_written_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "cases" / "replayed.test.yaml"
    output.parent.mkdir()
    assert main(["replay", str(recorded(tmp_path)), "-o", str(output)]) == 0
    assert capsys.readouterr().out == f"wrote {output}: flowrunner test {output}\n"
    flow = load_test_file(str(output)).flow_path  # relative to the test file
    assert Path(flow).resolve() == Path(IVR).resolve()
    assert main(["test", str(output)]) == 0
    assert "1 passed" in capsys.readouterr().out


def test_without_output_the_case_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = recorded(tmp_path)
    assert main(["replay", str(record), "--name", "two for support"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"# Replayed by flowrunner replay from {record}: two for support."
    assert out[2:4] == ["tests:", '  - name: "two for support"']


def test_an_existing_output_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "x.test.yaml"
    output.write_text("mine")
    assert main(["replay", str(recorded(tmp_path)), "-o", str(output)]) == 1
    assert capsys.readouterr().out == f"flowrunner replay: {output} exists: give another -o\n"
    assert output.read_text() == "mine"


def test_a_file_that_is_no_recording_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"kind": "event"}\n')
    assert main(["replay", str(path)]) == 1
    assert capsys.readouterr().out == (
        f"flowrunner replay: {path} is not a recorded call (serve --record DIR writes them)\n"
    )
