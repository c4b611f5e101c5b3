"""One source for the vocabulary: the steps' specs. The checked-in schema is generated from them
(and must be current: CI fails when they drift), and the language's tables follow from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import REPO

from flowrunner.cli import main
from flowrunner.flow.vocabulary import events, flow_schema, outcome_of, outcomes, piece_schema
from flowrunner.steps import ACTIONS, Step, request_names

REGENERATE = "flowrunner schema > schemas/flow.schema.json"


def test_the_checked_in_flow_schema_is_the_one_the_vocabulary_makes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    checked_in = (REPO / "schemas" / "flow.schema.json").read_text(encoding="utf-8")
    assert json.loads(checked_in) == flow_schema(), f"stale schema: run {REGENERATE}"
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == checked_in, f"stale schema: run {REGENERATE}"


def test_the_checked_in_piece_schema_is_the_one_the_vocabulary_makes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    checked_in = (REPO / "schemas" / "flow-piece.schema.json").read_text(encoding="utf-8")
    regenerate = "flowrunner schema --kind flow-piece > schemas/flow-piece.schema.json"
    assert json.loads(checked_in) == piece_schema(), f"stale schema: run {regenerate}"
    assert main(["schema", "--kind", "flow-piece"]) == 0
    assert capsys.readouterr().out == checked_in, f"stale schema: run {regenerate}"


def test_the_flow_test_schema_has_one_copy() -> None:
    link = REPO / "schemas" / "flow-test.schema.json"
    packaged = REPO / "flowrunner" / "schemas" / "flow-test.schema.json"
    assert link.resolve() == packaged.resolve()


def test_every_action_has_a_step_and_every_outcome_is_an_event() -> None:
    for name, spec in ACTIONS.items():
        assert spec.name == name
        assert issubclass(spec.step, Step)
        assert set(spec.outcomes) | set(spec.events) <= set(events())
        assert {key.split(".")[0] for key in spec.durations} <= set(spec.params)  # accept.timeout
        assert set(spec.required) <= set(spec.params)
    assert outcomes()["dial"] == ("DialAnswered", ("DialBusy", "DialNoAnswer", "DialFailed"))
    assert outcome_of()["NoMatch"] == "collect"


def test_what_a_flow_test_may_fail_is_every_request_a_step_makes() -> None:
    names = request_names()
    assert {"answer", "play", "stop_playback", "ari", "dial_create", "bridge_add"} <= names
    assert "http" not in names  # a web request: canned replies say how it goes


def test_schema_write_puts_all_three_where_any_folder_can_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--write", str(tmp_path / "schemas")]) == 0
    lines = capsys.readouterr().out.splitlines()
    folder = (tmp_path / "schemas").resolve()
    assert lines == [
        f"flow files: # yaml-language-server: $schema={(folder / 'flow.schema.json').as_uri()}",
        "piece files: # yaml-language-server: "
        f"$schema={(folder / 'flow-piece.schema.json').as_uri()}",
        "flow test files: # yaml-language-server: "
        f"$schema={(folder / 'flow-test.schema.json').as_uri()}",
    ]
    assert json.loads((folder / "flow.schema.json").read_text()) == flow_schema()
    assert json.loads((folder / "flow-piece.schema.json").read_text()) == piece_schema()
