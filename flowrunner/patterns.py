"""Regular expressions that run in linear time, for `matches` in expressions and `collect`'s
`valid` pattern: what they are matched against (caller ID, keys) comes from the caller.

Python's `re` backtracks: `^([A-Za-z]+ ?)+$` on a 30-character caller name takes minutes, and
one thread serves every call. RE2 (Google's engine, the `google-re2` package) never backtracks.
A pattern is checked by Python's `re` first (its error messages are the ones people know), then
compiled by RE2; what RE2 cannot do in linear time (backreferences, lookaround) is refused at
load, with the reason.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each refused pattern on stderr


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why."""


@dataclass(frozen=True)
class Pattern:
    text: str
    compiled: Any  # RE2's

    def search(self, text: str) -> bool:
        """Does the pattern occur in `text`?"""
        return self.compiled.search(_encodable(text)) is not None

    def fullmatch(self, text: str) -> bool:
        """Does the whole of `text` match?"""
        return self.compiled.fullmatch(_encodable(text)) is not None


def _encodable(text: str) -> str:
    """RE2 works on UTF-8: a lone surrogate (a JSON escape can make one) becomes '?'."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


@cache
def compile_pattern(text: str) -> Pattern:
    """`text` as a linear-time pattern; PatternError says why it cannot be one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. FutureWarning: possible nested set
            re.compile(text)
    except re.error as error:
        raise PatternError(str(error)) from None
    except (RecursionError, OverflowError):
        raise PatternError("too complex") from None
    try:
        return Pattern(text, re2.compile(text, options=_OPTIONS))
    except re2.error as error:
        reason = error.args[0].decode() if isinstance(error.args[0], bytes) else str(error)
        limits = "no backreferences, no lookahead or lookbehind, repeats up to 1000 times"
        raise PatternError(f"{reason} (patterns run in linear time: {limits})") from None
