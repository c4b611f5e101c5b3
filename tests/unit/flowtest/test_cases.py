"""Loading flow test cases: which requests fail (`ari`), what becomes of recordings (`record`),
and the exact message for each mistake in them."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrunner.flow import FlowError
from flowrunner.flowtest.cases import Case, load_test_file
from flowrunner.sim.asterisk import Recordings


def case(tmp_path: Path, keys: str) -> Case:
    path = tmp_path / "x.test.yaml"
    path.write_text(f"tests:\n  - name: x\n{keys}    expect: {{ended: true}}\n")
    (only,) = load_test_file(str(path)).cases
    return only


def problems(tmp_path: Path, keys: str) -> list[str]:
    with pytest.raises(FlowError) as raised:
        case(tmp_path, keys)
    return [str(problem) for problem in raised.value.problems]


def test_a_status_fails_the_first_request_and_a_list_the_first_ones_in_order(
    tmp_path: Path,
) -> None:
    failing = case(tmp_path, "    ari: {answer: 404, play: [ok, 500, ok, 503]}\n")
    assert failing.failures == {"answer": 404, "play": (None, 500, None, 503)}


def test_recordings_finish_unless_the_case_makes_them_fail(tmp_path: Path) -> None:
    assert case(tmp_path, "").recordings == Recordings("finished", None)
    failing = case(tmp_path, "    record: {outcome: failed, after: 2s}\n")
    assert failing.recordings == Recordings("failed", 2.0)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            "    ari: {play: [okay, 500]}\n",
            "3:18: tests[0].ari.play[0]: 'okay' is not valid: write ok (answered as usual) or a "
            "status from 400 to 599, e.g. [ok, 500]",
        ),
        (
            "    ari: {play: [ok, 600]}\n",
            "3:22: tests[0].ari.play[1]: must be at most 599, not 600",
        ),
        ("    ari: {play: []}\n", "3:17: tests[0].ari.play: must not be empty"),
        (
            "    ari: {play: fine}\n",
            "3:17: tests[0].ari.play: expected a whole number or a list, got text",
        ),
        (
            "    record: {outcome: lost}\n",
            "3:23: tests[0].record.outcome: 'lost' is not allowed here; expected one of: "
            "finished, failed",
        ),
        (
            "    record: {after: 25h}\n",
            "3:21: tests[0].record.after: bad duration '25h': it must be at most 24h",
        ),
    ],
)
def test_a_mistake_in_failures_or_recordings_is_said_at_its_place(
    tmp_path: Path, keys: str, message: str
) -> None:
    assert problems(tmp_path, keys) == [f"{tmp_path}/x.test.yaml:{message}"]
