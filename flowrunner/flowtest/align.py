"""Line up expected and actual lines as a diff does: the fewest insertions and deletions, so
one missing line is one `-`, not every later line changed. A line that does not fit but names
the same thing (the same action at another time, or with other parameters) is one change, a
`-` and its `+` side by side, rather than a deletion and an insertion far apart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

E = TypeVar("E")
A = TypeVar("A")
LARGEST = 250_000  # pairs of lines compared at most (a test file may list 1000 of a long call)


def align(
    expected: Sequence[E],
    actual: Sequence[A],
    fits: Callable[[E, A], bool],
    alike: Callable[[E, A], bool],
) -> list[tuple[E | None, A | None]]:
    """Pairs in order: (e, a) lined up (fitting or alike), (e, None) missing, (None, a) extra.
    The lines that fit at the start and at the end are taken as they are; those between are
    aligned by edit distance, unless there are too many of them: then they are all missing,
    then all extra."""
    head = 0
    while head < min(len(expected), len(actual)) and fits(expected[head], actual[head]):
        head += 1
    tail = 0
    while tail < min(len(expected), len(actual)) - head and fits(
        expected[-1 - tail], actual[-1 - tail]
    ):
        tail += 1
    middle_e = expected[head : len(expected) - tail]
    middle_a = actual[head : len(actual) - tail]
    if len(middle_e) * len(middle_a) <= LARGEST:
        middle = _edit_distance(middle_e, middle_a, fits, alike)
    else:
        middle = [(e, None) for e in middle_e] + [(None, a) for a in middle_a]
    ends: list[tuple[E | None, A | None]] = list(zip(expected[:head], actual[:head], strict=True))
    last = list(zip(expected[len(expected) - tail :], actual[len(actual) - tail :], strict=True))
    return ends + middle + last


def _edit_distance(
    expected: Sequence[E],
    actual: Sequence[A],
    fits: Callable[[E, A], bool],
    alike: Callable[[E, A], bool],
) -> list[tuple[E | None, A | None]]:
    """Costs: a fit 0, a change 1, a missing or an extra line 1; by dynamic programming."""
    n, m = len(expected), len(actual)
    fit = [[fits(e, a) for a in actual] for e in expected]
    same = [
        [fit[i][j] or alike(e, a) for j, a in enumerate(actual)] for i, e in enumerate(expected)
    ]
    big = n + m + 1  # more than any alignment costs: lines not alike are never paired

    def paired(i: int, j: int) -> int:
        return (0 if fit[i][j] else 1) + cost[i + 1][j + 1] if same[i][j] else big

    cost = [[(n - i) + (m - j) for j in range(m + 1)] for i in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            cost[i][j] = min(paired(i, j), 1 + cost[i + 1][j], 1 + cost[i][j + 1])
    pairs: list[tuple[E | None, A | None]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and cost[i][j] == paired(i, j):
            pairs.append((expected[i], actual[j]))
            i, j = i + 1, j + 1
        elif i < n and (j == m or cost[i][j] == 1 + cost[i + 1][j]):
            pairs.append((expected[i], None))
            i += 1
        else:
            pairs.append((None, actual[j]))
            j += 1
    return pairs
