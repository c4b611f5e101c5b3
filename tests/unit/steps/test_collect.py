"""collect's load-time checks: what the schema cannot see."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import load_problems, write_file

from flowrunner.flow import load_flow

FLOW = """version: 1
app: demo
initial: start
on: {{StasisEnd: ended}}
states:
  start:
    do: [{{collect: {{into: x, valid: {valid}, max_digits: 2{more}}}}}]
    on: {{DigitsCollected: ended}}
  ended: {{final: true}}
"""


def test_an_entry_holding_the_terminator_can_never_be_collected(tmp_path: Path) -> None:
    path = write_file(tmp_path, FLOW.format(valid='["1", "#"]', more=""))
    assert load_problems(path) == [
        f"{path}:7:43: states.start.do[0].collect.valid[1]: '#' can never be collected: # ends "
        "the entry (the terminator); set terminator: none, or another key"
    ]


@pytest.mark.parametrize("more", [", terminator: none", ", terminator: '*'"])
def test_without_that_terminator_the_entry_is_fine(tmp_path: Path, more: str) -> None:
    load_flow(write_file(tmp_path, FLOW.format(valid='["1", "#"]', more=more)))
