"""Read YAML into plain data plus a table of where each value stands in the file.

Safety by construction: ruamel.yaml only *composes* the document into nodes; we turn nodes into
dicts, lists and scalars ourselves. No constructor runs, so no tag can build an object, and an
alias is refused on sight, so an alias bomb ("billion laughs") costs nothing. YAML 1.2 keeps
`yes`/`no`/`on`/`off` as strings, so a state or event with such a name stays a string.
"""

from __future__ import annotations

import errno
import math
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from .errors import FlowError, Problem, Trail, excerpt

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_VALUES = 20_000  # keys, items and scalars in one file; the shipped flows have under 200
MAX_DIGITS = 1000  # in a number

_CORE = "tag:yaml.org,2002:"
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOO_BIG = 10**MAX_DIGITS
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
            shown = excerpt(_shown(node))
            raise self.fail(node, f"the tag {shown} is not allowed in flow files", trail)
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
            key = self.text(key_node, trail)
            if _tag(key_node) == "merge":
                raise self.fail(key_node, "merge keys (<<) are not allowed in flow files", trail)
            if key in result:
                line, col = self.tree.keys[(*trail, key)]
                message = f"duplicate key '{excerpt(key)}' (first at line {line}:{col})"
                raise self.fail(key_node, message, trail)
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
        tag, text = _tag(node), self.text(node, trail)
        start, end, style = node.start_mark, node.end_mark, getattr(node, "style", None)
        if start.line == end.line and style in (None, "'", '"'):
            self.tree.texts[trail] = (start.line + 1, start.column + 1 + (style is not None))
        try:
            value = _CONVERT.get(tag, str)(text)
        except ValueError:
            raise self.fail(node, f"'{excerpt(text)}' is not a valid {tag}", trail) from None
        if isinstance(value, int) and abs(value) >= _TOO_BIG:
            message = f"'{excerpt(text)}' is too big a number: at most {MAX_DIGITS} decimal digits"
            raise self.fail(node, message, trail)
        return value

    def text(self, node: Node, trail: Trail) -> str:
        """A scalar's text. A double-quoted "\\ud800" is half a UTF-16 pair, no character:
        it could not be printed, logged or sent (a pair, "\\ud83d\\ude00", is joined)."""
        text = str(node.value)
        if not _SURROGATE.search(text):
            return text
        try:
            return text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            message = "text with an invalid character (a lone surrogate, as \\ud800)"
            raise self.fail(node, message, trail) from None


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


class _Composer(Composer):
    """ruamel's composer, counting values and nesting as it goes: a file with too many values
    or nested too deep is refused just past the limit, before the rest is read. ruamel takes
    about 50 µs a value, and its cost grows with nesting on one line."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.values = 0
        self.nesting = 0
        self.warn_double_anchors = False  # no warning on stderr: the walker refuses anchors

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.values += 1
        self.nesting += 1
        if self.values > MAX_VALUES:
            raise _TooMuch(f"more than {MAX_VALUES} values in one file", self)
        if self.nesting > MAX_DEPTH + 1:  # the root is at 1
            raise _TooMuch(f"nested deeper than {MAX_DEPTH} levels", self)
        node = super().compose_node(parent, index)
        self.nesting -= 1
        return node


class _TooMuch(Exception):
    def __init__(self, message: str, composer: _Composer) -> None:
        super().__init__(message)
        self.message, self.mark = message, composer.parser.peek_event().start_mark


# ruamel reads `%YAML M.N` at the start of any line as a directive, even inside a document, and
# fails on a version 1.N other than 1.1 and 1.2 (AssertionError, KeyError): refused first.
_DIRECTIVE = re.compile(r"^%YAML[ \t]+0*1\.([0-9]+)", re.MULTILINE)


def _unknown_version(text: str, path: str) -> None:
    for match in _DIRECTIVE.finditer(text):
        if int(match.group(1)) not in (1, 2):
            line = text.count("\n", 0, match.start()) + 1
            version = excerpt(match.group(0).split(maxsplit=1)[1])
            message = f"%YAML {version} is not supported: write %YAML 1.2, or leave it out"
            raise FlowError([Problem(path, line, 1, message)])


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def parse(text: str, path: str) -> Tree:
    """Parse YAML text into a `Tree`; every failure is a `FlowError` with a position."""
    _unknown_version(text, path)
    yaml = YAML(typ="rt")
    yaml.Composer = _Composer
    try:
        root = yaml.compose(text)
    except _TooMuch as error:
        line, col = error.mark.line + 1, error.mark.column + 1
        raise FlowError([Problem(path, line, col, error.message)]) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(
            excerpt(str(part), 120) for part in (error.context, error.problem) if part
        )
        if "mapping values are not allowed here" in message:  # `name: a: b`, a colon in text
            message += "; a text with ': ' in it needs quotes: name: 'press 1: sales'"
        raise FlowError([Problem(path, line, col, f"YAML syntax error: {message}")]) from None
    except ReaderError as error:
        line, col = _line_col(text, error.position)
        char = error.character
        reason = f"character {chr(char) if isinstance(char, int) else char!r} is not allowed"
        raise FlowError([Problem(path, line, col, reason)]) from None
    except (YAMLError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        reason = excerpt(reason.splitlines()[0], 120)
        raise FlowError([Problem(path, 1, 1, f"YAML error: {reason}")]) from None
    if root is None:
        raise FlowError([Problem(path, 1, 1, "the file is empty")])
    walker = _Walker(path)
    walker.tree.data = walker.value(root, ())
    walker.tree.text = text
    return walker.tree


def read(path: str) -> Tree:
    """Read and parse a YAML file, refusing what is too big, is not a file (a FIFO would block
    for ever, /dev/zero never end) or is not UTF-8 text."""
    try:
        raw = _read_file(path)
    except OSError as error:
        raise FlowError([Problem(path, 0, 0, f"cannot read: {error.strerror}")]) from None
    except ValueError as error:  # a NUL in the path
        raise FlowError([Problem(path, 0, 0, f"cannot read: {excerpt(str(error))}")]) from None
    if len(raw) > MAX_BYTES:
        raise FlowError([Problem(path, 1, 1, f"larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start].decode("utf-8")
        line, col = _line_col(before, len(before))
        raise FlowError([Problem(path, line, col, "not UTF-8 text")]) from None
    return parse(text, path)


def _read_file(path: str) -> bytes:
    """At most MAX_BYTES + 1 bytes of a regular file. Opened without blocking (a FIFO with no
    writer would wait for one), then checked to be a file before a byte is read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a file but {_kind(mode)}")
        return file.read(MAX_BYTES + 1)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "something else"
