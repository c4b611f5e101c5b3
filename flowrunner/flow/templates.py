"""`{{ ... }}` templates in action parameters: text with expressions in it.

A parameter that is exactly one `{{ expr }}` renders to the expression's value with its type
kept, so `set: {n: "{{ n + 1 }}"}` keeps a number and `media: "{{ prompts }}"` a list; any
other template renders to text. Expressions are the safe language of `expressions`, parsed once at
load; rendering, like evaluating, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..ports import to_text
from .expressions import Expression, ExpressionError, parse_expression

__all__ = ["Template", "is_template", "parse_template", "render", "to_text"]

OPEN, CLOSE = "{{", "}}"


@dataclass(frozen=True)
class Template:
    """A template's text cut into literal text and the expressions between `{{` and `}}`."""

    text: str
    parts: tuple[str | Expression, ...]

    @property
    def references(self) -> tuple[tuple[str, int], ...]:
        """(root variable, offset in the whole template text), in text order."""
        return tuple(
            (name, at + offset)
            for at, part in self._expressions()
            for name, offset in part.references
        )

    @property
    def keys(self) -> tuple[tuple[str, str, int], ...]:
        """(root variable, key, offset of the key in the whole template text)."""
        return tuple(
            (root, key, at + offset)
            for at, part in self._expressions()
            for root, key, offset in part.keys
        )

    def _expressions(self) -> list[tuple[int, Expression]]:
        """Each expression with the offset of its text in the whole template text."""
        found, at = [], 0
        for part in self.parts:
            if isinstance(part, str):
                at += len(part)
                continue
            found.append((at + len(OPEN), part))
            at += len(OPEN) + len(part.text) + len(CLOSE)
        return found

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.references)

    def render(self, scope: Mapping[str, Any], escape: str = "") -> Any:
        """The text, or a lone `{{ x }}`'s value with its type. With `escape` ("url",
        "segment" or "name"), each value put into text is escaped: it is data, never syntax."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Expression):
            return self.parts[0].evaluate(scope)  # a lone `{{ x }}` keeps x's type
        texts = []
        for index, part in enumerate(self.parts):
            if isinstance(part, str):
                texts.append(part)
                continue
            text = to_text(part.evaluate(scope))
            base = escape == "url" and index == 0  # a URL's start is its base, not data
            texts.append(ESCAPES[escape](text) if escape and not base else text)
        return "".join(texts)


def render(value: Any, scope: Mapping[str, Any], escape: str = "") -> Any:
    """A parameter value with its templates filled in from `scope`, escaped for `escape`."""
    if isinstance(value, Template):
        return value.render(scope, escape)
    if isinstance(value, dict):
        return {key: render(item, scope, escape) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope, escape) for item in value]
    return value


def _name(text: str) -> str:
    """For a file name or a dial string: letters, digits and `_ . + -` only, no `..`."""
    return _UNSAFE_IN_NAME.sub("_", text).replace("..", "_.")


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.+-]")
# How values are escaped where text becomes a URL (each value one percent-encoded piece: a `&`,
# `#` or `+` in a caller's number stays the caller's), an ARI path (each value one segment) or a
# name Asterisk turns into a file or a dial string (no `/`, `@`, `&` or `..` from a caller).
ESCAPES: dict[str, Callable[[str], str]] = {
    "url": lambda text: quote(text, safe=""),
    "segment": lambda text: quote(text, safe=""),
    "name": _name,
}


def is_template(text: str) -> bool:
    return OPEN in text


def parse_template(text: str) -> Template:
    """Cut `text` into parts; ExpressionError with its offset in the whole text. A `}}` with no
    `{{` before it is just text."""
    parts: list[str | Expression] = []
    at = 0
    while (start := text.find(OPEN, at)) >= 0:
        if start > at:
            parts.append(text[at:start])
        body = start + len(OPEN)
        end = _closing(text, body)
        if end < 0:
            raise ExpressionError("unclosed '{{': add '}}' after the expression", start)
        try:
            parts.append(parse_expression(text[body:end]))
        except ExpressionError as error:
            raise ExpressionError(error.message, body + error.offset) from None
        at = end + len(CLOSE)
    if at < len(text):
        parts.append(text[at:])
    return Template(text, tuple(parts))


def _closing(text: str, at: int) -> int:
    """Where the `}}` closing an expression starts, skipping any inside quoted strings."""
    quote, index = "", at
    while index < len(text):
        char = text[index]
        if quote and char == "\\":
            index += 1  # skip the escaped character
        elif quote and char == quote:
            quote = ""
        elif not quote and char in "'\"":
            quote = char
        elif not quote and text.startswith(CLOSE, index):
            return index
        index += 1
    # in an unterminated string: the first `}}` closes, so the parser can report the string
    return text.find(CLOSE, at) if quote else -1
