"""Read YAML into plain data plus a table of where each value stands in the file.

Safety by construction: ruamel.yaml only *composes* the document into nodes; we turn nodes into
dicts, lists and scalars ourselves. No constructor runs, so no tag can build an object, and an
alias is refused on sight, so an alias bomb ("billion laughs") costs nothing. YAML 1.2 keeps
`yes`/`no`/`on`/`off` as strings, so a state or event with such a name stays a string.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from .errors import FlowError, Problem, Trail

MAX_BYTES = 1_000_000
MAX_DEPTH = 40

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {"map", "seq", "str", "timestamp", "null", "bool", "int", "float"}


@dataclass
class Tree:
    """A document as plain data, with the (line, col) of every value and mapping key."""

    data: Any
    values: dict[Trail, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Trail, tuple[int, int]] = field(default_factory=dict)
    texts: dict[Trail, tuple[int, int]] = field(default_factory=dict)  # one-line text: 1st char
    text: str = ""  # the document as read

    def where_in_text(self, trail: Trail, offset: int) -> tuple[int, int]:
        """The position of character `offset` of the text at `trail`, when that text stands on
        one line as written (plain or quoted); else the position of the value."""
        if trail in self.texts:
            line, col = self.texts[trail]
            return line, col + offset
        return self.where(trail)

    def where(self, trail: Trail, *, key: bool = False) -> tuple[int, int]:
        """The position of the value (or key) at `trail`, else of its nearest ancestor."""
        table = self.keys if key else self.values
        while trail not in table and trail:
            trail = trail[:-1]
        return table.get(trail, (1, 1))


class _Walker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.tree = Tree(None)
        self.seen: set[int] = set()

    def fail(self, node: Node, message: str, trail: Trail) -> FlowError:
        mark = node.start_mark
        return FlowError([Problem(self.path, mark.line + 1, mark.column + 1, message, trail)])

    def value(self, node: Node, trail: Trail) -> Any:
        if getattr(node, "anchor", None) or id(node) in self.seen:
            raise self.fail(node, "anchors and aliases (&name, *name) are not allowed", trail)
        self.seen.add(id(node))
        if _tag(node) not in _ALLOWED_TAGS:
            raise self.fail(node, f"the tag {_shown(node)} is not allowed in flow files", trail)
        if len(trail) > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels", trail)
        if trail not in self.tree.values:  # an empty value was placed at its key already
            self.tree.values[trail] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, MappingNode):
            return self.mapping(node, trail)
        if isinstance(node, SequenceNode):
            return [self.value(item, (*trail, i)) for i, item in enumerate(node.value)]
        return self.scalar(node, trail)

    def mapping(self, node: MappingNode, trail: Trail) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(
                    key_node, "a key must be a plain value, not a list or mapping", trail
                )
            key = str(key_node.value)
            if _tag(key_node) == "merge":
                raise self.fail(key_node, "merge keys (<<) are not allowed in flow files", trail)
            if key in result:
                line, col = self.tree.keys[(*trail, key)]
                raise self.fail(
                    key_node, f"duplicate key '{key}' (first at line {line}:{col})", trail
                )
            mark = key_node.start_mark
            self.tree.keys[(*trail, key)] = (mark.line + 1, mark.column + 1)
            if _tag(value_node) == "null" and not value_node.value:
                # An empty value has no text of its own: ruamel marks the next token. Point at
                # the key, which is on the line the author looks at.
                self.tree.values[(*trail, key)] = self.tree.keys[(*trail, key)]
            result[key] = self.value(value_node, (*trail, key))
        return result

    def scalar(self, node: Node, trail: Trail) -> Any:
        """YAML 1.2 core schema values; what only YAML 1.1 would convert stays text."""
        tag, text = _tag(node), str(node.value)
        start, end, style = node.start_mark, node.end_mark, getattr(node, "style", None)
        if start.line == end.line and style in (None, "'", '"'):
            self.tree.texts[trail] = (start.line + 1, start.column + 1 + (style is not None))
        try:
            return _CONVERT.get(tag, str)(text)
        except ValueError:
            raise self.fail(node, f"'{text}' is not a valid {tag}", trail) from None


def _tag(node: Node) -> str:
    tag = str(getattr(node.tag, "value", node.tag))
    return tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _shown(node: Node) -> str:
    """A tag as written: `!!python/object` for core tags, `!Ref` for local ones."""
    tag = str(getattr(node.tag, "value", node.tag))
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _int(text: str) -> int:
    digits = text.replace("_", "")
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o"):
        return int(digits[2:], 16 if prefix == "0x" else 8)
    return int(digits, 10)  # leading zeros are decimal: 0612345678 is a number, not octal


def _float(text: str) -> float:
    lowered = text.lower().lstrip("+")
    if lowered in (".inf", "-.inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    return math.nan if lowered == ".nan" else float(text)


def _bool(text: str) -> bool | str:
    # `yes`/`no`/`on`/`off` are booleans only in YAML 1.1: keep them as text, as 1.2 does.
    return {"true": True, "false": False}.get(text.lower(), text)


_CONVERT: dict[str, Any] = {"null": lambda text: None, "bool": _bool, "int": _int, "float": _float}


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where bracket nesting first passes MAX_DEPTH, found before parsing: the YAML library's
    cost grows with nesting on one line, so a deep `[[[…` would take minutes to refuse."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth, quote = 0, ""
    for offset, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return _line_col(text, offset)
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def parse(text: str, path: str) -> Tree:
    """Parse YAML text into a `Tree`; every failure is a `FlowError` with a position."""
    deep = _too_deep(text)
    if deep:
        raise FlowError([Problem(path, *deep, f"nested deeper than {MAX_DEPTH} levels")])
    try:
        root = YAML(typ="rt").compose(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise FlowError([Problem(path, line, col, f"YAML syntax error: {message}")]) from None
    except ReaderError as error:
        line, col = _line_col(text, error.position)
        char = error.character
        reason = f"character {chr(char) if isinstance(char, int) else char!r} is not allowed"
        raise FlowError([Problem(path, line, col, reason)]) from None
    except (YAMLError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise FlowError([Problem(path, 1, 1, f"YAML error: {reason.splitlines()[0]}")]) from None
    if root is None:
        raise FlowError([Problem(path, 1, 1, "the file is empty")])
    walker = _Walker(path)
    walker.tree.data = walker.value(root, ())
    walker.tree.text = text
    return walker.tree


def read(path: str) -> Tree:
    """Read and parse a YAML file, refusing what is too big or is not UTF-8 text."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise FlowError([Problem(path, 0, 0, f"cannot read: {error.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise FlowError([Problem(path, 1, 1, f"larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8")
        line, col = _line_col(before, len(before))
        raise FlowError([Problem(path, line, col, "not UTF-8 text")]) from None
    return parse(text, path)
