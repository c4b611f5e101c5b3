"""Problem and FlowError: how a mistake is printed, `path:line:col: key.trail: message`."""

from __future__ import annotations

import pytest

from flowrunner.flow.errors import FlowError, Problem, Trail, format_trail


@pytest.mark.parametrize(
    ("trail", "text"),
    [
        ((), ""),
        (("app",), "app"),
        (("states", "menu", "do", 0), "states.menu.do[0]"),
        (("states", "s", "do", 0, "play", "media", 1), "states.s.do[0].play.media[1]"),
        ((0, "a"), "[0].a"),
    ],
)
def test_format_trail(trail: Trail, text: str) -> None:
    assert format_trail(trail) == text


def test_a_problem_prints_position_key_and_message() -> None:
    problem = Problem("f.yaml", 3, 5, "bad", ("states", "ringing", "after"))
    assert str(problem) == "f.yaml:3:5: states.ringing.after: bad"


def test_a_problem_without_key_or_line() -> None:
    assert str(Problem("f.yaml", 1, 1, "the file is empty")) == "f.yaml:1:1: the file is empty"
    assert str(Problem("f.yaml", 0, 0, "cannot read")) == "f.yaml: cannot read"


def test_a_flow_error_sorts_its_problems_by_file_and_position() -> None:
    error = FlowError(
        [
            Problem("b.yaml", 1, 1, "z"),
            Problem("a.yaml", 10, 1, "y"),
            Problem("a.yaml", 2, 7, "x", ("app",)),
        ]
    )
    assert [str(p) for p in error.problems] == [
        "a.yaml:2:7: app: x",
        "a.yaml:10:1: y",
        "b.yaml:1:1: z",
    ]
    assert str(error) == "a.yaml:2:7: app: x\na.yaml:10:1: y\nb.yaml:1:1: z"
