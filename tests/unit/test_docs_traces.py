"""docs/traces-and-replay.md: its replayed case passes against the ivr-menu flow, and against
the edited flow it fails with the very diff the page shows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fakes import REPO

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import load_flow
from flowrunner.flowtest.cases import load_test_file
from flowrunner.flowtest.runner import run_case

PAGE = (REPO / "docs" / "traces-and-replay.md").read_text(encoding="utf-8")
BEEP = ("value: sales}},", "value: sales}}, {play: {media: sound:beep}},")


def replayed_case(tmp_path: Path) -> Path:
    (case,) = [b for b in re.findall(r"```yaml\n(.*?)```", PAGE, re.S) if "\ntests:" in b]
    shutil.copy(REPO / "flows" / "ivr-menu.yaml", tmp_path / "ivr-menu.yaml")
    path = tmp_path / "menu-sales.test.yaml"
    path.write_text(case, encoding="utf-8")
    return path


def test_the_replayed_case_passes_against_its_flow(tmp_path: Path) -> None:
    test_file = load_test_file(str(replayed_case(tmp_path)))
    (case,) = test_file.cases
    assert run_case(compile_flow(load_flow(test_file.flow_path)), case).passed


def test_against_the_edited_flow_it_fails_as_the_page_shows(tmp_path: Path) -> None:
    test_file = load_test_file(str(replayed_case(tmp_path)))
    edited = tmp_path / "edited.yaml"
    edited.write_text((REPO / "flows" / "ivr-menu.yaml").read_text().replace(*BEEP))
    (case,) = test_file.cases
    result = run_case(compile_flow(load_flow(str(edited))), case)
    shown = PAGE.split("actions differ (- expected, + actual):\n", 1)[1].split("0 passed")[0]
    assert list(result.failures) == [
        "actions differ (- expected, + actual):",
        *[line[4:] for line in shown.splitlines()],
    ]
