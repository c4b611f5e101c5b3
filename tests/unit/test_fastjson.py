"""JSON on the hot path: orjson, with the standard library for what orjson alone refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowrunner import fastjson


def test_what_orjson_writes_reads_back_as_it_was() -> None:
    value = {"caller": "Zoë €", "n": [1, 2.5, None, True], "deep": {"a": {"b": []}}}
    assert json.loads(fastjson.dumps(value)) == value
    assert fastjson.loads(fastjson.dumps(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**70},  # a web reply's huge number, kept in a flow variable
        {"lone": "\ud800"},  # a lone surrogate: json escapes it, orjson refuses it
        {1: "key not text"},  # orjson takes it with OPT_NON_STR_KEYS, as json does
    ],
)
def test_what_orjson_refuses_json_still_writes(value: dict[Any, Any]) -> None:
    assert json.loads(fastjson.dumps(value)) == json.loads(json.dumps(value))


def test_what_neither_can_write_raises_type_error() -> None:
    with pytest.raises(TypeError):
        fastjson.dumps({"x": object()})


@pytest.mark.parametrize("data", [b"NaN", b'{"a": Infinity}', b'{"type": "\xff"}', b"{", b""])
def test_what_is_not_json_in_utf_8_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (orjson words each message its own way)
        fastjson.loads(data)
