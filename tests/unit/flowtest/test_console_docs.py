"""The console sessions of docs/flow-tests.md are real: `flowrunner simulate` prints what they
show, and a failing case the diff shown (its yaml examples are checked by test_docs.py)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from flowrunner.cli import main

REPO = Path(__file__).parents[3]
DOC = (REPO / "docs" / "flow-tests.md").read_text()
BLOCKS = re.findall(r"```(yaml|console)\n(.*?)```", DOC, re.DOTALL)
SESSIONS = [
    text for kind, text in BLOCKS if kind == "console" and text.startswith("$ flowrunner simulate")
]


def test_the_doc_has_the_examples_these_tests_check() -> None:
    assert len(SESSIONS) == 3


def _version(line: str) -> str:
    return re.sub(r"version [0-9a-f]{12}", "version V", line)


def _commands(session: str) -> list[tuple[str, list[str]]]:
    """Each `$ flowrunner …` line with the lines it prints."""
    found: list[tuple[str, list[str]]] = []
    for line in session.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            found[-1][1].append(line)
    return found


@pytest.mark.parametrize("session", SESSIONS, ids=lambda text: text.splitlines()[0][2:50])
def test_each_simulate_session_prints_what_the_doc_shows(
    session: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    for command, shown in _commands(session):
        args = shlex.split(command, comments=True)[1:]
        main(args)
        printed = capsys.readouterr().out.splitlines()
        if "event lines left out" in command:
            printed = [line for line in printed if "  event  " not in line]
        assert [_version(line) for line in printed] == [_version(line) for line in shown]


def test_the_diff_shown_is_what_renaming_the_recording_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("voicemail.yaml", "voicemail.test.yaml"):
        shutil.copy(REPO / "flows" / name, tmp_path)
    flow = tmp_path / "voicemail.yaml"
    flow.write_text(flow.read_text().replace('"vm-{{ call.id }}"', '"msg-{{ call.id }}"'))
    assert main(["test", str(tmp_path / "voicemail.test.yaml")]) == 1
    printed = capsys.readouterr().out.split(str(tmp_path) + "/")[1].splitlines()
    shown = DOC.split("# after renaming the recording msg-{{ call.id }}\n")[1].split("```")[0]
    assert "flows/" + "\n".join(printed[:9]) == shown.rstrip("\n")
