"""`{{ ... }}` templates: cutting text into parts, rendering (type kept for a lone expression),
to_text, and errors at their offset in the whole template."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

import pytest

from flowrunner.flow.expressions import ExpressionError, parse_expression
from flowrunner.flow.templates import Template, is_template, parse_template, to_text

SCOPE: dict[str, Any] = {
    "n": 3,
    "f": 3.0,
    "half": 2.5,
    "name": "Ada",
    "flag": True,
    "none": None,
    "tags": [1, "a"],
    "caller": {"number": "+4930", "lang": "é"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ x }}", True),
        ("a {{ b", True),
        ("{{", True),
        ("}}", False),
        ("{ {x} }", False),
        ("", False),
    ],
)
def test_is_template(text: str, expected: bool) -> None:
    assert is_template(text) is expected


@pytest.mark.parametrize(
    ("text", "parts"),  # an expression's text is shown in a 1-tuple, literal text as a str
    [
        ("", ()),
        ("plain", ("plain",)),
        ("hi {{ name }}!", ("hi ", (" name ",), "!")),
        ("{{a}}{{b}}", (("a",), ("b",))),
        ("}} {{ x }}", ("}} ", (" x ",))),  # a `}}` with no `{{` is text
        ("{{ x }}}", ((" x ",), "}")),
        ("{{ '}}' }}", ((" '}}' ",),)),  # `}}` inside a string does not close
        ("{{ '\\'}}' }}", ((" '\\'}}' ",),)),
        ('{{ "}}" }}', ((' "}}" ',),)),
        ("a\n{{ x }}\nb", ("a\n", (" x ",), "\nb")),
    ],
)
def test_parts(text: str, parts: tuple[str | tuple[str], ...]) -> None:
    template = parse_template(text)
    assert template.text == text
    shown = tuple(part if isinstance(part, str) else (part.text,) for part in template.parts)
    assert shown == parts


def test_the_expressions_in_parts_are_parsed() -> None:
    template = parse_template("hi {{ name }}!")
    assert template.parts == ("hi ", parse_expression(" name "), "!")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ n }}", 3),
        ("{{n}}", 3),
        ("{{   n\n}}", 3),
        ("{{ f }}", 3.0),
        ("{{ flag }}", True),
        ("{{ none }}", None),
        ("{{ missing }}", None),
        ("{{ tags }}", [1, "a"]),
        ("{{ caller }}", {"number": "+4930", "lang": "é"}),
        ("{{ n + 1 }}", 4),
        ("{{ n == 3 }}", True),
        ("{{ '}}' }}", "}}"),
    ],
)
def test_a_lone_expression_keeps_its_type(text: str, expected: Any) -> None:
    result = parse_template(text).render(SCOPE)
    assert result == expected
    assert type(result) is type(expected)


def test_a_lone_expression_gives_the_scope_object_itself() -> None:
    assert parse_template("{{ tags }}").render(SCOPE) is SCOPE["tags"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("plain", "plain"),
        (" {{ n }}", " 3"),  # whitespace outside the braces makes it text
        ("{{ n }} ", "3 "),
        ("{{ n }}{{ n }}", "33"),
        ("n={{ n }}", "n=3"),
        ("{{ f }}s", "3s"),
        ("{{ half }}s", "2.5s"),
        ("[{{ none }}]", "[]"),
        ("{{ flag }}!", "true!"),
        ("{{ not flag }}!", "false!"),
        ("{{ tags }} here", '[1,"a"] here'),
        ("{{ caller }}.", '{"number":"+4930","lang":"é"}.'),
        ("call {{ caller.number }} in {{ upper(caller.lang) }}", "call +4930 in É"),
        ("}} {{ name }} {", "}} Ada {"),
        ("{{ 'a\\'}}' }}.", "a'}}."),
    ],
)
def test_anything_else_renders_to_text(text: str, expected: str) -> None:
    assert parse_template(text).render(SCOPE) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (-12, "-12"),
        (3.0, "3"),
        (-0.0, "0"),
        (1e20, "100000000000000000000"),
        (2.5, "2.5"),
        (0.1, "0.1"),
        (math.inf, "inf"),
        (math.nan, "nan"),
        ("", ""),
        ("as is {{ }}", "as is {{ }}"),
        ([], "[]"),
        ({}, "{}"),
        ([1, "a", None, True], '[1,"a",null,true]'),
        ({"k": [1.5, {"é": "ü"}]}, '{"k":[1.5,{"é":"ü"}]}'),
        (("a", 1), '["a",1]'),
        (MappingProxyType({"a": 1}), '{"a":1}'),
        ([MappingProxyType({"a": 1})], '[{"a":1}]'),
        ([{1}], '["{1}"]'),
        ({1: "int keys"}, '{"1":"int keys"}'),
    ],
)
def test_to_text(value: Any, text: str) -> None:
    assert to_text(value) == text


def test_to_text_never_fails() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert to_text(loop).startswith("<list object at 0x")
    assert to_text({(1, 2): "tuple key"}).startswith("<dict object at 0x")
    assert to_text(10**5000).startswith("<int object at 0x")


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("hi {{ nme", "unclosed '{{': add '}}' after the expression", 3),
        ("{{ x }} and {{", "unclosed '{{': add '}}' after the expression", 12),
        ("{{ }}", "empty expression", 2),
        ("{{}}", "empty expression", 2),
        ("hi {{ a b }}", "unexpected 'b'", 8),
        ("a {{ x ) }}", "unexpected ')'", 7),
        ("{{{ x }}", "unexpected '{'", 2),
        ("{{ 'abc }}", "unterminated string: add the closing '", 3),
        ("ok {{ x }} then {{ y && z }}", "use 'and'/'or', not '&&'", 21),
        ("{{ x matches '(' }}", "not a valid pattern: missing ), unterminated subpattern", 13),
        ("x\n{{ foo(1) }}", "unknown function 'foo'", 5),
    ],
)
def test_errors_point_into_the_whole_template(text: str, message: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_template(text)
    assert caught.value.message.startswith(message)
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    ("text", "references"),
    [
        ("hi {{ nme }}", (("nme", 6),)),
        ("{{ a }} and {{ b.c + d }}", (("a", 3), ("b", 15), ("d", 21))),
        ("{{a}}{{b}}", (("a", 2), ("b", 7))),
        ("}} {{ x }}", (("x", 6),)),
        ("{{ '}}' + x }}", (("x", 10),)),
        ("{{ len(s) }}\n{{ s }}", (("s", 7), ("s", 16))),
        ("no names {{ 1 }}", ()),
        ("plain", ()),
    ],
)
def test_references_are_offsets_in_the_whole_template(
    text: str, references: tuple[tuple[str, int], ...]
) -> None:
    template = parse_template(text)
    assert template.references == references
    assert template.names == frozenset(name for name, _ in references)
    for name, offset in references:
        assert text[offset : offset + len(name)] == name


class Raises:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        raise RuntimeError("str")


@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"a": Raises(), "b": Raises()},
        {"a": [Raises()], "b": {"x": Raises()}},
        {"a": 10**5000, "b": b"bytes"},
        {"a": "x", "b": object()},
    ],
)
def test_rendering_never_raises(scope: dict[str, Any]) -> None:
    for text in ["{{ a }}", "{{ a }}!", "{{ a == b }} {{ b.x }} {{ a[0] }}", "{{ str(a) + b }}"]:
        parse_template(text).render(scope)


def test_a_template_is_a_frozen_value() -> None:
    one, two = parse_template("hi {{ x }}"), parse_template("hi {{ x }}")
    assert one == two
    assert hash(one) == hash(two)
    assert isinstance(one, Template)


def test_keys_read_from_a_variable_are_listed_with_their_offset_in_the_whole_text() -> None:
    template = parse_template("to {{ caller.number }} at {{ call.args[0] + x.y.z }}")
    assert template.keys == (("caller", "number", 13), ("call", "args", 34), ("x", "y", 46))
