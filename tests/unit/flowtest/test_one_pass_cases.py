"""load_test_file: flow test files in one pass, the cases the schema refused left out."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import write_file

from flowrunner.flow import FlowError
from flowrunner.flowtest.cases import load_test_file


def test_the_schemas_problems_and_the_others_come_in_one_run(tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        """\
        tests:
          - name: refused by the schema
            expect: {ended: yes}
          - name: fails a request no step makes
            ari: {answr: 404}
            expect: {ended: true}
          - name: waits too long
            expect: {ended: true, within: 100h}
        """,
        "flow.test.yaml",
    )
    with pytest.raises(FlowError) as caught:
        load_test_file(path)
    assert [str(problem) for problem in caught.value.problems] == [
        f"{path}:3:21: tests[0].expect.ended: expected true/false, got text",
        f"{path}:5:11: tests[1].ari.answr: no request is called 'answr'; did you mean 'answer'?",
        f"{path}:8:35: tests[2].expect.within: bad duration '100h': it must be at most 24h",
    ]
