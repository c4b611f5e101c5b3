"""docs/validation-and-graphs.md: the picture it shows is one scripts/pictures draws (its broken
example is run by test_docs.py)."""

from __future__ import annotations

import re

from fakes import REPO

PAGE = (REPO / "docs" / "validation-and-graphs.md").read_text(encoding="utf-8")


def test_the_picture_shown_is_in_docs_pictures() -> None:
    pictures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", PAGE)
    assert pictures == ["pictures/ivr-menu.svg"]
    assert (REPO / "docs" / pictures[0]).is_file()
