"""Problem and FlowError: how a mistake is printed, `path:line:col: key.trail: message`."""

from __future__ import annotations

import pytest

from flowrunner.flow import errors
from flowrunner.flow.errors import (
    MAX_SHOWN,
    FlowError,
    Hints,
    Problem,
    Trail,
    did_you_mean,
    excerpt,
    format_trail,
    printable,
)


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


# Hostile values: echoed printable and short; many problems counted, not all printed


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain é 😀", "plain é 😀"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\u2028\u202e", "\\u2028\\u202e"),
        ("\ud800", "\\ud800"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_a_problem_prints_its_path_and_message_printable() -> None:
    problem = Problem("a\nb.yaml", 1, 2, "bad '\x1b[2J'", ("states", "x\ny"))
    assert str(problem) == "a\\nb.yaml:1:2: states.x\\ny: bad '\\x1b[2J'"


def test_an_excerpt_is_cut_after_its_limit() -> None:
    assert excerpt("x" * 80) == "x" * 80
    assert excerpt("x" * 81) == "x" * 79 + "…"
    assert excerpt({"a": ["b"] * 100}, 20) == "{'a': ['b', 'b', 'b…"
    assert excerpt("\n" * 100, 10) == "\\n\\n\\n\\n\\…"  # escapes count as they print


def test_hints_look_each_word_up_once_and_stop_at_their_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(errors, "HINT_BUDGET", 5)
    options = ("alpha", "beta")
    hints = Hints()
    assert hints.did_you_mean("alpah", options) == "; did you mean 'alpha'?"
    assert hints.did_you_mean("alpah", options) == "; did you mean 'alpha'?"  # known: free
    assert hints.did_you_mean("bta", options) == "; did you mean 'beta'?"
    assert hints.did_you_mean("alpa", options) == ""  # 6 options compared: past the budget


def test_no_hint_for_a_word_too_long_to_be_a_name() -> None:
    assert did_you_mean("a" * 201, ["a" * 200]) == "; expected one of: " + "a" * 200


def test_past_max_shown_problems_of_a_file_the_rest_are_counted() -> None:
    many = [Problem("a.yaml", n, 1, "x") for n in range(1, MAX_SHOWN + 6)]
    error = FlowError([*many, Problem("b.yaml", 1, 1, "y")])
    lines = str(error).splitlines()
    assert len(error.problems) == MAX_SHOWN + 6
    assert lines[MAX_SHOWN - 1 :] == [
        f"a.yaml:{MAX_SHOWN}:1: x",
        "a.yaml: … and 5 more problems",
        "b.yaml:1:1: y",
    ]


def test_problems_at_one_place_sort_whatever_their_trails() -> None:
    # ('do', 0) against ('do', 'x'): comparing the tuples would raise TypeError.
    error = FlowError([Problem("f", 1, 1, "m", ("do", "x")), Problem("f", 1, 1, "m", ("do", 0))])
    assert [p.trail for p in error.problems] == [("do", "x"), ("do", 0)]  # as text: do.x, do[0]
