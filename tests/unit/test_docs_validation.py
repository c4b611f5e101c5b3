"""docs/validation-and-graphs.md: its broken example fails exactly as the page shows, and the
picture it shows is one scripts/pictures draws."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes import REPO

from flowrunner.cli import main

PAGE = (REPO / "docs" / "validation-and-graphs.md").read_text(encoding="utf-8")


def test_the_example_fails_exactly_as_the_page_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = re.search(r"`menu\.yaml`:\n\n```yaml\n(.*?)```", PAGE, re.S)
    shown = re.search(r"\$ flowrunner validate menu\.yaml\n(.*?)\n\$ echo \$\?\n1\n", PAGE, re.S)
    assert flow is not None
    assert shown is not None
    path = tmp_path / "menu.yaml"
    path.write_text(flow.group(1), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    printed = capsys.readouterr().out.replace(str(path), "menu.yaml")
    assert printed.splitlines() == shown.group(1).splitlines()


def test_the_picture_shown_is_in_docs_pictures() -> None:
    pictures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", PAGE)
    assert pictures == ["pictures/ivr-menu.svg"]
    assert (REPO / "docs" / pictures[0]).is_file()
