"""docs/pictures are current: each example flow's SVG is what `flowrunner graph --format svg`
draws now (scripts/pictures redraws them). Needs Graphviz's dot program, as CI has it
(scripts/system-packages): without it this fails, it is not skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import REPO

from flowrunner.flow import load_flow
from flowrunner.flow.graph import dot
from flowrunner.graphviz import render

PICTURES = REPO / "docs" / "pictures"
FLOWS = sorted(p for p in (REPO / "flows").glob("*.yaml") if not p.name.endswith(".test.yaml"))


def test_each_example_flow_has_its_picture_and_no_other_is_there() -> None:
    assert sorted(p.stem for p in PICTURES.glob("*.svg")) == [p.stem for p in FLOWS]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda p: p.stem)
def test_each_picture_is_what_the_flow_draws_now(flow: Path) -> None:
    drawn = render(dot(load_flow(str(flow))), "svg")
    assert (PICTURES / f"{flow.stem}.svg").read_bytes() == drawn, "run scripts/pictures"
