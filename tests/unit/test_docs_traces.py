"""docs/traces-and-replay.md: against the edited flow, its replayed case fails with the very
diff the page shows (tests/unit/test_docs.py runs the case against the shipped flow)."""

from __future__ import annotations

import re
from pathlib import Path

from fakes import REPO

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import load_flow
from flowrunner.flowtest.cases import load_test_file
from flowrunner.flowtest.runner import run_case

PAGE = (REPO / "docs" / "traces-and-replay.md").read_text(encoding="utf-8")
FLOW = REPO / "flows" / "ivr-menu.yaml"
BEEP = ("value: sales}},", "value: sales}}, {play: {media: sound:beep}},")


def test_against_the_edited_flow_the_replayed_case_fails_as_the_page_shows(
    tmp_path: Path,
) -> None:
    (case_text,) = re.findall(r"```yaml\n(# flows/ivr-menu\.test\.yaml.*?)```", PAGE, re.S)
    path = tmp_path / "replayed.test.yaml"
    path.write_text(f"flow: {FLOW}\n{case_text}", encoding="utf-8")
    (case,) = load_test_file(str(path)).cases
    edited = tmp_path / "edited.yaml"
    edited.write_text(FLOW.read_text().replace(*BEEP))
    result = run_case(compile_flow(load_flow(str(edited))), case)
    shown = PAGE.split("actions differ (- expected, + actual):\n", 1)[1].split("0 passed")[0]
    assert list(result.failures) == [
        "actions differ (- expected, + actual):",
        *[line[4:] for line in shown.splitlines()],
    ]
    assert run_case(compile_flow(load_flow(str(FLOW))), case).passed
