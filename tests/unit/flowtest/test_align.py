"""Aligning expected and actual lines: the fewest lines missing and extra, a line alike but
not fitting as one change."""

from __future__ import annotations

import pytest

from flowrunner.flowtest import align as aligning
from flowrunner.flowtest.align import align


def same(e: str, a: str) -> bool:
    return e == a


def same_action(e: str, a: str) -> bool:
    return e.split()[-1] == a.split()[-1]  # "2s answer" is alike "3s answer"


def test_one_missing_line_is_one_missing_pair() -> None:
    assert align(["a", "b", "c", "d"], ["a", "b", "d"], same, same_action) == [
        ("a", "a"),
        ("b", "b"),
        ("c", None),
        ("d", "d"),
    ]


def test_lines_alike_pair_up_as_changes() -> None:
    expected = ["0s ring", "2s answer", "2s silence", "6s hangup"]
    actual = ["0s ring", "3s answer", "3s silence", "7s hangup"]
    assert align(expected, actual, same, same_action) == list(zip(expected, actual, strict=True))


def test_lines_not_alike_never_pair() -> None:
    assert align(["2s play"], ["2s hangup"], same, same_action) == [
        ("2s play", None),
        (None, "2s hangup"),
    ]


def test_an_extra_line_at_either_end() -> None:
    assert align(["b", "c"], ["a", "b", "c", "d"], same, same_action) == [
        (None, "a"),
        ("b", "b"),
        ("c", "c"),
        (None, "d"),
    ]
    assert align([], ["x"], same, same_action) == [(None, "x")]
    assert align(["x"], [], same, same_action) == [("x", None)]


def test_too_many_lines_between_are_missing_then_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aligning, "LARGEST", 3)
    pairs = align(["a", "x", "y", "z"], ["a", "p", "q", "z"], same, same_action)
    assert pairs == [
        ("a", "a"),
        ("x", None),
        ("y", None),
        (None, "p"),
        (None, "q"),
        ("z", "z"),
    ]
