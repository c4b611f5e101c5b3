"""Coverage: what no case reaches, per flow; a piece's states count in each flow that uses it,
and what was missed there says where the piece writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrunner.cli import main
from flowrunner.flowtest.coverage import percent

PIECE = """piece: 1
exits: [gone]
initial: saying
states:
  saying:
    do: [{play: {media: sound:vm-goodbye}}]
    then: hanging_up
    on: {ActionFailed: hanging_up}
  hanging_up:
    do: [hangup]
    on: {StasisEnd: gone}
"""

FLOW = """version: 1
app: {app}
initial: start
uses:
  bye: {{piece: pieces/bye.yaml, exits: {{gone: ended}}}}
on: {{StasisEnd: ended}}
states:
  start:
    do: [answer]
    then: bye
  ended:
    final: true
"""

PLAYS = "tests:\n  - name: the goodbye plays\n    expect: {ended_by: flow}\n"
FAILS = (
    "  - name: the goodbye cannot be played\n"
    "    ari: {play: 500}\n"
    "    expect: {actions: [0s answer, 0s play, 0s hangup]}\n"
)


@pytest.fixture
def two_flows(tmp_path: Path) -> Path:
    """Two flows that use one piece; only `front`'s tests fail its goodbye."""
    (tmp_path / "pieces").mkdir()
    (tmp_path / "pieces" / "bye.yaml").write_text(PIECE)
    for app, tests in (("front", PLAYS + FAILS), ("back", PLAYS)):
        (tmp_path / f"{app}.yaml").write_text(FLOW.format(app=app))
        (tmp_path / f"{app}.test.yaml").write_text(tests)
    return tmp_path


def test_a_piece_used_by_two_flows_counts_in_each_and_says_where_it_is_written(
    two_flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "--coverage", str(two_flows)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-4:] == [
        f"{two_flows}/back.yaml: 90.9% (states 5/5, transitions 5/6)",
        f"    never taken: bye__saying -> bye__hanging_up (ActionFailed)"
        f" in {two_flows}/pieces/bye.yaml:8",
        f"{two_flows}/front.yaml: 100.0% (states 5/5, transitions 6/6)",
        "coverage: 95.5% of states and transitions reached",
    ]


def test_a_piece_state_never_entered_says_where_the_piece_writes_it(
    two_flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (two_flows / "back.test.yaml").write_text(
        "tests:\n  - name: the answer fails and nothing handles it\n    ari: {answer: 500}\n"
        "    expect: {ended_by: failure}\n"
    )
    assert main(["test", "--coverage", str(two_flows / "back.test.yaml")]) == 0
    piece = f"{two_flows}/pieces/bye.yaml"
    assert capsys.readouterr().out.splitlines()[-9:-1] == [
        f"{two_flows}/back.yaml: 9.1% (states 1/5, transitions 0/6)",
        f"    never entered: ended, bye, bye__saying in {piece}:5, bye__hanging_up in {piece}:9",
        "    never taken: * -> ended (StasisEnd)",
        "    never taken: start -> bye (then)",  # the flow's own: its file is the one named
        "    never taken: bye -> bye__saying (then)",
        f"    never taken: bye__saying -> bye__hanging_up (ActionFailed) in {piece}:8",
        f"    never taken: bye__saying -> bye__hanging_up (then) in {piece}:7",
        f"    never taken: bye__hanging_up -> ended (StasisEnd) in {piece}:11",
    ]


def test_a_share_short_of_all_is_never_shown_as_100_percent() -> None:
    assert [percent(1999, 2000), percent(2000, 2000), percent(0, 0)] == [
        "99.9%",
        "100.0%",
        "100.0%",
    ]
    assert percent(1, 3) == "33.3%"
