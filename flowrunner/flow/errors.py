"""The one error family of the flow language: problems that point at a file position."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

Trail = tuple[str | int, ...]


def format_trail(trail: Trail) -> str:
    """`('states', 'menu', 'do', 0)` -> `states.menu.do[0]`."""
    text = ""
    for part in trail:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def did_you_mean(word: str, options: Iterable[str], *, listed: str = "expected one of") -> str:
    """`; did you mean 'x'?` when an option is close, else the options when they are few."""
    options = list(options)
    close = difflib.get_close_matches(word, options, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; {listed}: {', '.join(options)}" if 0 < len(options) <= 40 else ""


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
        return f"{where}: {self.describe()}"

    def describe(self) -> str:
        """The problem without its location: `key.trail: message`."""
        key = format_trail(self.trail)
        return f"{key}: {self.message}" if key else self.message


class FlowError(Exception):
    """A flow (or flow test) file is not valid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
