"""The one error family of the flow language: problems that point at a file position."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Trail = tuple[str | int, ...]

MAX_SHOWN = 100  # problems printed per file; the rest are counted ("… and N more problems")
EXCERPT = 80  # characters of a value a message shows at most (a name has up to 64)
HINT_BUDGET = 200_000  # names the "did you mean"s of one file may compare, in all
_LONGEST_NAME = 200  # a longer word is no name: not worth a "did you mean"


def format_trail(trail: Trail) -> str:
    """`('states', 'menu', 'do', 0)` -> `states.menu.do[0]`."""
    text = ""
    for part in trail:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def printable(text: str) -> str:
    """`text` with each character a terminal or a CI log would act on written as an escape
    (`\\n`, `\\x1b`, `\\u2028`, a lone `\\udc80`): a value from a file can neither forge a
    `path:line:col:` line, nor colour the terminal, nor fail to print."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A value as a message echoes it: text as is, anything else as Python writes it; printable,
    and cut after `limit` characters, so that no message echoes a whole mapping."""
    text = value if isinstance(value, str) else repr(value)
    text = printable(text[: limit + 1])  # escaping only lengthens: cut before, then after
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: str, options: Iterable[str], *, listed: str = "expected one of") -> str:
    """`; did you mean 'x'?` when an option is close, else the options when they are few."""
    options = list(options)
    close = difflib.get_close_matches(word, options, n=1) if len(word) <= _LONGEST_NAME else []
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; {listed}: {', '.join(options)}" if 0 < len(options) <= 50 else ""


class Hints:
    """`did_you_mean` for the problems of one file, at a bounded cost: a hostile file can have
    thousands of unknown names, each to compare with thousands of known ones (minutes). A word
    is looked up once per list of options; once HINT_BUDGET options were compared in all, the
    problems left get no hint."""

    def __init__(self) -> None:
        self.left = HINT_BUDGET
        self.found: dict[tuple[str, int, str], tuple[Sequence[str], str]] = {}

    def did_you_mean(
        self, word: str, options: Sequence[str], *, listed: str = "expected one of"
    ) -> str:
        key = (word, id(options), listed)
        if key not in self.found:
            self.left -= len(options)
            hint = did_you_mean(word, options, listed=listed) if self.left >= 0 else ""
            self.found[key] = (options, hint)  # holds `options`: its id stays its own
        return self.found[key][1]


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a file: where it is, which key it concerns, and what is wrong."""

    path: str
    line: int  # 1-based; 0 when the file has no line to point at
    col: int  # 1-based
    message: str
    trail: Trail = ()

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}" if self.line else self.path
        return f"{printable(where)}: {self.describe()}"

    def describe(self) -> str:
        """The problem without its location: `key.trail: message`, printable."""
        key = format_trail(self.trail)
        return printable(f"{key}: {self.message}" if key else self.message)

    def order(self) -> tuple[str, int, int, str, str]:
        """File order. The trail sorts as text: its parts mix names and indexes."""
        return (self.path, self.line, self.col, self.message, format_trail(self.trail))


def shown(problems: list[Problem]) -> list[Problem]:
    """The problems to print: the first MAX_SHOWN of each file, then one counting the rest."""
    total = Counter(problem.path for problem in problems)
    seen: Counter[str] = Counter()
    kept = []
    for problem in problems:
        seen[problem.path] += 1
        if seen[problem.path] <= MAX_SHOWN:
            kept.append(problem)
        if seen[problem.path] == MAX_SHOWN and total[problem.path] > MAX_SHOWN:
            rest = f"… and {total[problem.path] - MAX_SHOWN} more problems"
            kept.append(Problem(problem.path, 0, 0, rest))
    return kept


class FlowError(Exception):
    """A flow (or flow test) file is not valid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.order)
        super().__init__(self.problems)  # its args: it pickles, as exceptions do

    def __str__(self) -> str:
        return "\n".join(str(p) for p in shown(self.problems))
