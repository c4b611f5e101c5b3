"""A case's expected lines, matched against what the call sent, and the diff when they differ.

An expected action is `TIME ACTION` (`2s answer`), or that as the key of its parameters:
`2s play: {media: sound:hello-world}`; an expected web request is `METHOD URL`, or that with
its `body` and `headers`. Only the parameters written are compared (a subset): text as ARI
got it (`timeout: 20` fits the query's "20"; a list fits its items joined by commas), a body
as JSON (`"1"` is not `1`), a mapping by the keys it names, `headers` by name only (their
values are never shown). In text, `*` matches anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..flow.errors import excerpt
from ..ports import to_text
from .align import align
from .shown import Shown
from .yamltext import yaml_text


@dataclass(frozen=True)
class ExpectedLine:
    """One expected request: its name, its time (None for a web request's), its parameters."""

    name: str  # the ARI action, or `METHOD URL`
    params: Mapping[str, Any] | None = None  # None: only the name (and time) are compared
    at: float | None = None

    def line(self) -> str:
        head = self.name if self.at is None else f"{self.at:g}s {self.name}"
        return f"{head}: {yaml_text(dict(self.params))}" if self.params else head


def fits(expected: ExpectedLine, actual: Shown, within: float) -> bool:
    if not _text_fits(expected.name, actual.name):
        return False
    if expected.at is not None and abs(expected.at - actual.at) > within + 1e-9:
        return False
    wanted = expected.params or {}
    return all(
        key in actual.params and _param_fits(key, v, actual.params[key])
        for key, v in wanted.items()
    )


def all_fit(expected: Sequence[ExpectedLine], actual: Sequence[Shown], within: float) -> bool:
    return len(expected) == len(actual) and all(
        fits(e, a, within) for e, a in zip(expected, actual, strict=True)
    )


def diff(expected: Sequence[ExpectedLine], actual: Sequence[Shown], within: float) -> list[str]:
    """`    ` a line that fits, `  - ` one expected and missing, `  + ` one sent unexpected;
    a change is its `-` then its `+`, the `+` showing the parameters the `-` names."""
    lines = []
    pairs = align(expected, actual, lambda e, a: fits(e, a, within), _alike)
    for e, a in pairs:
        if e is not None and a is not None and fits(e, a, within):
            lines.append(f"    {e.line()}")
            continue
        if e is not None:
            lines.append(f"  - {e.line()}")
        if a is not None:
            lines.append(f"  + {_shown(a, e)}")
    return [excerpt(line, 300) for line in lines]


def _alike(expected: ExpectedLine, actual: Shown) -> bool:
    return _text_fits(expected.name, actual.name)


def _shown(actual: Shown, expected: ExpectedLine | None) -> str:
    """The actual line with the parameters its expected one names (in a mapping, the keys it
    names), or all of them when it lacks one of those (a misspelt key shows the right one)."""
    timed = expected is None or expected.at is not None
    wanted = (expected.params or {}) if expected else None
    if wanted is None or not all(key in actual.params for key in wanted):
        return actual.line(timed=timed)
    params = {key: _named(wanted[key], actual.params[key]) for key in wanted}
    return replace(actual, params=params).line(timed=timed)


def _named(expected: Any, actual: Any) -> Any:
    """Of an actual mapping, the keys the expected one names (all, if it lacks one)."""
    if not (isinstance(expected, dict) and isinstance(actual, dict)):
        return actual
    if not all(key in actual for key in expected):
        return actual
    return {key: _named(value, actual[key]) for key, value in expected.items()}


def _param_fits(key: str, expected: Any, actual: Any) -> bool:
    if key == "headers":  # names only, in any case
        names = {str(name).lower() for name in actual}
        return isinstance(expected, list) and all(str(n).lower() in names for n in expected)
    if key == "body":
        return _json_fits(expected, actual)
    if isinstance(expected, dict) and isinstance(actual, dict):  # the escape hatch's params
        return all(k in actual and _param_fits(k, v, actual[k]) for k, v in expected.items())
    return _text_fits(_query_text(expected), _query_text(actual))


def _json_fits(expected: Any, actual: Any) -> bool:
    """JSON as written: a mapping by its keys, a list item by item, "1" is not 1."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _json_fits(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_json_fits(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, str):
        return isinstance(actual, str) and _text_fits(expected, actual)
    same_kind = isinstance(expected, bool) == isinstance(actual, bool)
    return same_kind and not isinstance(actual, str) and expected == actual


def _query_text(value: Any) -> str:
    """A parameter as it travels in a query: lists joined by commas."""
    if isinstance(value, list):
        return ",".join(to_text(item) for item in value)
    return to_text(value)


def _text_fits(expected: str, actual: str) -> bool:
    if "*" not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("*"))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None
