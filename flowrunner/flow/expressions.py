"""A small, safe expression language for transition guards and templates.

Flow files are untrusted, so expressions are never handed to Python's eval/exec/compile or `ast`:
a hand-written tokenizer and recursive-descent parser build a tree of nodes that can only read
the scope (`scope.get`, mapping keys, list items) and call a few pure functions. Everything is
decided at parse time (operators, functions, regexes); evaluation is total: wrong types give
null or false, never an exception, so a guard cannot crash a call.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeGuard
from urllib.parse import quote

from ..patterns import Pattern, PatternError, compile_pattern
from ..ports import to_text

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_MATCHED = 10_000  # `matches` looks at no more than this many characters

Scope = Mapping[str, Any]


class ExpressionError(ValueError):
    """A mistake in an expression, at `offset` (0-based) in the parsed text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message


# -- values: the rules the operators follow -----------------------------------------------------

_NUMERIC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_NUMBERS = (int, float)  # tuples, not unions: isinstance is faster with them
_SEQUENCES = (list, tuple)
_SIZED = (str, list, tuple, Mapping)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, _NUMBERS) and not isinstance(value, bool)


def _parse_number(text: str) -> int | float | None:
    """The number a string spells ("42", " 7 ", "3.5"), else None."""
    text = text.strip()
    if not _NUMERIC.fullmatch(text):
        return None
    try:
        return float(text) if "." in text else int(text)
    except ValueError:  # more digits than int() accepts
        return None


def _numeric(value: Any) -> int | float | None:
    if _is_number(value):
        return value
    return _parse_number(value) if isinstance(value, str) else None


def _equal(a: Any, b: Any) -> bool:
    """`==`: numbers equal numeric strings, booleans equal only booleans, lists item by item."""
    if type(a) is str and type(b) is str:
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_number(a) and isinstance(b, str):
        return a == _parse_number(b)
    if isinstance(a, str) and _is_number(b):
        return _parse_number(a) == b
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):  # a scope's tuple is a list
        return len(a) == len(b) and all(map(_equal, a, b))
    return bool(a == b)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """`<` and friends: two strings, or two numbers (a numeric string counts); else false."""

    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            return test(a, b)
        x, y = _numeric(a), _numeric(b)
        return x is not None and y is not None and test(x, y)

    return compare


def _contains(item: Any, container: Any) -> bool:
    if isinstance(container, _SEQUENCES):
        return any(_equal(item, member) for member in container)
    if isinstance(container, str):
        return to_text(item) in container
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:  # an unhashable item is in no mapping
            return False
    return False


def _add(a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        return a + b
    return a + b if isinstance(a, str) and isinstance(b, str) else None


def _subtract(a: Any, b: Any) -> Any:
    return a - b if _is_number(a) and _is_number(b) else None


def _key(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def _item(value: Any, index: Any) -> Any:
    if isinstance(value, _SEQUENCES) and isinstance(index, int) and not isinstance(index, bool):
        return value[index] if -len(value) <= index < len(value) else None
    return value.get(index) if isinstance(value, Mapping) and isinstance(index, str) else None


def _to_int(value: Any) -> int | None:
    number = _numeric(value)
    try:
        return None if number is None else int(number)
    except (ValueError, OverflowError):  # nan, inf
        return None


def _length(value: Any) -> int:
    return len(value) if isinstance(value, _SIZED) else 0


def _default(value: Any, fallback: Any) -> Any:
    """`value`, unless it is missing or empty: `default(call.args[0], 'PJSIP/alice')`."""
    return fallback if value is None or value in ("", [], {}) else value


MAX_JOINED = 1_000_000  # characters `join` may build: a list and a separator from a web reply


def _modulo(a: Any, b: Any) -> int | float | None:
    x, y = _numeric(a), _numeric(b)
    return None if x is None or y is None or y == 0 else x % y


def _index(value: Any) -> int | None:
    """A whole number used as a position or a count: an int, or a numeric text."""
    number = _to_int(value)
    return number if number is None or abs(number) <= 10**9 else None


def _slice(value: Any, start: Any, end: Any = None) -> Any:
    """`value[start:end]` of a text or list, as Python slices (negative counts from the end)."""
    first, last = _index(start), _index(end) if end is not None else None
    if first is None or (end is not None and last is None):
        return None
    if isinstance(value, str):
        return value[first:last]
    return list(value[first:last]) if isinstance(value, _SEQUENCES) else None


def _round(value: Any, digits: Any = 0) -> int | float | None:
    number, places = _numeric(value), _index(digits)
    if number is None or places is None or abs(places) > 15:
        return None
    try:
        return round(number) if places == 0 else round(number, places)
    except (ValueError, OverflowError):  # nan, inf
        return None


def _fixed(value: Any, digits: Any) -> str | None:
    """A number as text with exactly `digits` decimals: fixed(4.5, 2) is "4.50"."""
    number, places = _numeric(value), _index(digits)
    if number is None or places is None or not 0 <= places <= 15 or not math.isfinite(number):
        return None
    text = f"{number:.{places}f}"
    return text if len(text) <= 64 else None  # 1e300 has 300 digits: no use in a call


def _join(items: Any, separator: Any) -> str | None:
    if not isinstance(items, _SEQUENCES):
        return None
    texts, glue = [to_text(item) for item in items], to_text(separator)
    if sum(map(len, texts)) + len(glue) * len(texts) > MAX_JOINED:
        return None
    return glue.join(texts)


def _text_test(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, part: isinstance(value, str) and test(value, to_text(part))


# name -> (fewest values it takes, most, what it does)
FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "contains": (2, 2, lambda container, item: _contains(item, container)),
    "default": (2, 2, _default),
    "ends_with": (2, 2, _text_test(str.endswith)),
    "fixed": (2, 2, _fixed),
    "int": (1, 1, _to_int),
    "join": (2, 2, _join),
    "len": (1, 1, _length),
    "lower": (1, 1, lambda value: to_text(value).lower()),
    "mod": (2, 2, _modulo),
    "round": (1, 2, _round),
    "slice": (2, 3, _slice),
    "starts_with": (2, 2, _text_test(str.startswith)),
    "str": (1, 1, to_text),
    "upper": (1, 1, lambda value: to_text(value).upper()),
    "urlencode": (1, 1, lambda value: quote(to_text(value), safe="")),
}

# Other languages' names for them.
_ALIASES = {
    "substr": "slice",
    "substring": "slice",
    "modulo": "mod",
    "format": "fixed",
    "startswith": "starts_with",
    "endswith": "ends_with",
    "length": "len",
    "concat": "join",
    "includes": "contains",
    "escape": "urlencode",
}

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
}


# -- the tree: one small node per construct, each evaluating itself ------------------------------


class _Node(Protocol):
    def evaluate(self, scope: Scope) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Const:
    value: Any

    def evaluate(self, scope: Scope) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[_Node, ...]

    def evaluate(self, scope: Scope) -> Any:
        return [item.evaluate(scope) for item in self.items]


@dataclass(frozen=True, slots=True)
class _ConstList:
    values: tuple[Any, ...]

    def evaluate(self, scope: Scope) -> Any:
        return list(self.values)  # a fresh list: callers may keep or change it


@dataclass(frozen=True, slots=True)
class _Var:
    name: str

    def evaluate(self, scope: Scope) -> Any:
        return scope.get(self.name)


@dataclass(frozen=True, slots=True)
class _Path:
    """`base.key[index]...`, kept flat so a long chain is no deep tree."""

    base: _Node
    steps: tuple[str | _Node, ...]  # a str is `.key`, a node is `[index]`

    def evaluate(self, scope: Scope) -> Any:
        value = self.base.evaluate(scope)
        for step in self.steps:
            if isinstance(step, str):
                value = _key(value, step)
            else:
                value = _item(value, step.evaluate(scope))
        return value


@dataclass(frozen=True, slots=True)
class _Call:
    function: Callable[..., Any]
    arguments: tuple[_Node, ...]

    def evaluate(self, scope: Scope) -> Any:
        return self.function(*(argument.evaluate(scope) for argument in self.arguments))


@dataclass(frozen=True, slots=True)
class _Sum:
    first: _Node
    rest: tuple[tuple[Callable[[Any, Any], Any], _Node], ...]  # (_add or _subtract, operand)

    def evaluate(self, scope: Scope) -> Any:
        value = self.first.evaluate(scope)
        for combine, operand in self.rest:
            value = combine(value, operand.evaluate(scope))
        return value


@dataclass(frozen=True, slots=True)
class _Negative:
    operand: _Node

    def evaluate(self, scope: Scope) -> Any:
        value = self.operand.evaluate(scope)
        return -value if _is_number(value) else None


@dataclass(frozen=True, slots=True)
class _Compare:
    left: _Node
    right: _Node
    test: Callable[[Any, Any], bool]

    def evaluate(self, scope: Scope) -> Any:
        return self.test(self.left.evaluate(scope), self.right.evaluate(scope))


@dataclass(frozen=True, slots=True)
class _Matches:
    left: _Node
    pattern: Pattern

    def evaluate(self, scope: Scope) -> Any:
        return self.pattern.search(to_text(self.left.evaluate(scope))[:MAX_MATCHED])


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node

    def evaluate(self, scope: Scope) -> Any:
        return not self.operand.evaluate(scope)


@dataclass(frozen=True, slots=True)
class _And:
    items: tuple[_Node, ...]

    def evaluate(self, scope: Scope) -> Any:
        return all(item.evaluate(scope) for item in self.items)


@dataclass(frozen=True, slots=True)
class _Or:
    items: tuple[_Node, ...]

    def evaluate(self, scope: Scope) -> Any:
        return any(item.evaluate(scope) for item in self.items)


# -- tokens -------------------------------------------------------------------------------------

_KEYWORDS = frozenset({"and", "or", "not", "in", "matches", "true", "false", "null"})
_LITERALS = {"true": True, "false": False, "null": None}
_TOKEN = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|[<>+\-.,()\[\]])"
)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_HINTS = (  # other languages' spellings, and what to write here instead
    ("&&", "use 'and'/'or', not '&&'"),
    ("||", "use 'and'/'or', not '||'"),
    ("!", "use 'not', not '!'"),
    ("=", "use '==' to compare"),
)


class _Token(NamedTuple):
    kind: str  # "number", "string", "name", "end", or the keyword or operator itself
    value: Any
    start: int
    end: int


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    pos = _skip_space(text, 0)
    while pos < len(text):
        token = _string(text, pos) if text[pos] in "'\"" else _word(text, pos)
        tokens.append(token)
        pos = _skip_space(text, token.end)
    tokens.append(_Token("end", None, pos, pos))
    return tokens


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _word(text: str, pos: int) -> _Token:
    match = _TOKEN.match(text, pos)
    if not match:
        hint = next((hint for spelling, hint in _HINTS if text.startswith(spelling, pos)), None)
        raise ExpressionError(hint or f"unexpected '{text[pos]}'", pos)
    word, kind = match.group(), match.lastgroup
    if kind == "number":
        return _Token(kind, float(word) if "." in word else int(word), pos, match.end())
    if kind == "name" and word not in _KEYWORDS:
        return _Token(kind, word, pos, match.end())
    return _Token(word, word, pos, match.end())


def _string(text: str, start: int) -> _Token:
    quote, chars, pos = text[start], [], start + 1
    while pos < len(text) and text[pos] != quote:
        if text[pos] == "\\" and pos + 1 < len(text):
            escaped = _ESCAPES.get(text[pos + 1])
            if escaped is None:
                raise ExpressionError(f"unknown escape \\{text[pos + 1]} in string", pos)
            chars.append(escaped)
            pos += 2
        else:
            chars.append(text[pos])
            pos += 1
    if pos >= len(text):
        raise ExpressionError(f"unterminated string: add the closing {quote}", start)
    return _Token("string", "".join(chars), start, pos + 1)


# -- the parser: one method per grammar rule, lowest precedence first ---------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.references: list[tuple[str, int]] = []
        self.keys: list[tuple[str, str, int]] = []

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos = min(self.pos + 1, len(self.tokens) - 1)  # stay on "end"
        return token

    def expect(self, kind: str, what: str) -> _Token:
        if self.token.kind != kind:
            raise self.unexpected(what)
        return self.advance()

    def unexpected(self, what: str = "a value") -> ExpressionError:
        token = self.token
        if token.kind == "end":
            return ExpressionError(f"unexpected end of expression: expected {what}", token.start)
        shown = self.text[token.start : token.end]
        shown = shown if len(shown) <= 20 else shown[:20] + "..."
        return ExpressionError(f"unexpected '{shown}'", token.start)

    @contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        """One level deeper: brackets, calls, `not` and `-`. Bounded, so no RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"too deeply nested: at most {MAX_DEPTH} levels", token.start)
        yield
        self.depth -= 1

    def whole(self) -> _Node:
        if self.token.kind == "end":
            raise ExpressionError("empty expression", 0)
        node = self.or_()
        if self.token.kind != "end":
            raise self.unexpected()
        return node

    def or_(self) -> _Node:
        items = [self.and_()]
        while self.token.kind == "or":
            self.advance()
            items.append(self.and_())
        return _Or(tuple(items)) if len(items) > 1 else items[0]

    def and_(self) -> _Node:
        items = [self.not_()]
        while self.token.kind == "and":
            self.advance()
            items.append(self.not_())
        return _And(tuple(items)) if len(items) > 1 else items[0]

    def not_(self) -> _Node:
        if self.token.kind != "not":
            return self.compare()
        with self.nested(self.advance()):
            return _Not(self.not_())

    def compare(self) -> _Node:
        left = self.sum()
        word = self.comparison()
        if word is None:
            return left
        if word == "matches":
            node: _Node = _Matches(left, self.pattern())
        else:
            node = _Compare(left, self.sum(), _TESTS[word])
        at = self.token.start
        if self.comparison() is not None:
            raise ExpressionError("comparisons cannot be chained: join them with 'and'", at)
        return node

    def comparison(self) -> str | None:
        """The comparison operator here, consumed; None if there is none."""
        kind = self.token.kind
        if kind == "not" and self.tokens[self.pos + 1].kind == "in":
            self.advance()
            self.advance()
            return "not in"
        if kind in _TESTS or kind == "matches":
            self.advance()
            return kind
        return None

    def pattern(self) -> Pattern:
        token = self.advance()
        if token.kind != "string":  # only a literal: a variable's value could be any regex
            raise ExpressionError("'matches' needs a quoted pattern after it", token.start)
        try:
            return compile_pattern(token.value)  # linear time: the text may be the caller's
        except PatternError as error:
            raise ExpressionError(f"not a valid pattern: {error}", token.start) from None

    def sum(self) -> _Node:
        first = self.unary()
        rest = []
        while self.token.kind in ("+", "-"):
            combine = _add if self.advance().kind == "+" else _subtract
            rest.append((combine, self.unary()))
        return _Sum(first, tuple(rest)) if rest else first

    def unary(self) -> _Node:
        if self.token.kind != "-":
            return self.postfix()
        with self.nested(self.advance()):
            operand = self.unary()
        if isinstance(operand, _Const) and _is_number(operand.value):
            return _Const(-operand.value)  # fold `-1` once, here
        return _Negative(operand)

    def postfix(self) -> _Node:
        base = self.primary()
        steps: list[str | _Node] = []
        while self.token.kind in (".", "["):
            token = self.advance()
            if token.kind == ".":
                key = self.expect("name", "a name after '.'")
                if not steps and isinstance(base, _Var):
                    self.keys.append((base.name, key.value, key.start))
                steps.append(key.value)
                continue
            with self.nested(token):
                steps.append(self.or_())
            self.expect("]", "']'")
        return _Path(base, tuple(steps)) if steps else base

    def primary(self) -> _Node:
        token = self.token
        if token.kind in ("number", "string"):
            self.advance()
            return _Const(token.value)
        if token.kind in _LITERALS:
            self.advance()
            return _Const(_LITERALS[token.kind])
        if token.kind == "name":
            return self.name()
        if token.kind == "[":
            return self.list_()
        if token.kind != "(":
            raise self.unexpected()
        with self.nested(self.advance()):
            node = self.or_()
        self.expect(")", "')'")
        return node

    def name(self) -> _Node:
        token = self.advance()
        if self.token.kind != "(":
            self.references.append((token.value, token.start))
            return _Var(token.value)
        known_function = FUNCTIONS.get(token.value)
        if known_function is None:
            alias = _ALIASES.get(token.value.lower())
            known = (
                f"did you mean '{alias}'?" if alias else "functions are: " + ", ".join(FUNCTIONS)
            )
            raise ExpressionError(f"unknown function '{token.value}'; {known}", token.start)
        with self.nested(self.advance()):
            arguments = self.items(")")
        fewest, most, function = known_function
        if not fewest <= len(arguments) <= most:
            wanted = f"{fewest} or {most}" if fewest < most else str(fewest)
            wanted += " value" if wanted == "1" else " values"
            raise ExpressionError(
                f"{token.value}() takes {wanted}, not {len(arguments)}", token.start
            )
        return _Call(function, tuple(arguments))

    def list_(self) -> _Node:
        with self.nested(self.advance()):
            items = self.items("]")
        values = [item.value for item in items if isinstance(item, _Const)]
        if len(values) == len(items):
            return _ConstList(tuple(values))  # built once, copied per evaluation
        return _List(tuple(items))

    def items(self, closer: str) -> list[_Node]:
        """Values separated by commas, up to `closer`; a trailing comma is fine."""
        items = []
        while self.token.kind != closer:
            items.append(self.or_())
            if self.token.kind != ",":
                break
            self.advance()
        self.expect(closer, f"'{closer}'")
        return items


# -- the public face ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, the variables it reads, and a tree ready to evaluate."""

    text: str
    references: tuple[tuple[str, int], ...]  # (root variable, offset in text), in text order
    _root: _Node = field(repr=False, compare=False)
    keys: tuple[tuple[str, str, int], ...] = ()  # `root.key` read: (root, key, offset of key)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.references)

    def evaluate(self, scope: Scope) -> Any:
        """The value; never raises. The tree itself does not raise on any plain data, and a broken
        object in the scope (a raising __eq__, a self-containing list) gives null."""
        try:
            return self._root.evaluate(scope)
        except Exception:
            return None

    def is_true(self, scope: Scope) -> bool:
        try:
            return bool(self.evaluate(scope))
        except Exception:  # an object whose __bool__ raises
            return False


def parse_expression(text: str) -> Expression:
    """Parse `text`, or raise ExpressionError saying what is wrong and where."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long: at most {MAX_LENGTH} characters", MAX_LENGTH)
    parser = _Parser(text)
    root = parser.whole()
    return Expression(text, tuple(parser.references), root, tuple(parser.keys))
