"""JSON Schema checks, with errors turned into sentences that point at the file position.

The schema of flow files is made from the vocabulary (`vocabulary.py`); that of flow test files
is packaged as `schemas/flow-test.schema.json`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ..steps import ACTIONS
from . import hints as newcomer
from .errors import Hints, Problem, Trail, excerpt
from .vocabulary import flow_schema, piece_schema
from .yamltree import Tree

_WANTED = {  # JSON Schema's type names, as a flow's author says them
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true/false",
    "object or null": "a mapping or nothing",
    "integer or array": "a whole number or a list",
}
_TYPES = {
    dict: "a mapping",
    list: "a list",
    str: "text",
    bool: "true/false",
    int: "a number",
    float: "a number",
    type(None): "nothing (null)",
}


@cache
def schema_document(name: str = "flow") -> dict[str, Any]:
    """The schema of flow files (made from the vocabulary) or of flow test files."""
    if name == "flow":
        return flow_schema()
    if name == "flow-piece":
        return piece_schema()
    text = resources.files("flowrunner").joinpath(f"schemas/{name}.schema.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema_document(name))


def check(tree: Tree, path: str, name: str = "flow") -> list[Problem]:
    """Every schema violation in `tree`, one problem each, in file order."""
    return findings(tree, path, name)[0]


def findings(tree: Tree, path: str, name: str = "flow") -> tuple[list[Problem], list[Trail]]:
    """Every schema violation in `tree`, one problem each, in file order; and the spot of each
    (the trail of the value at fault, with the key at fault for a key unknown, missing or
    misnamed), for the checks that run on what is sound."""
    hints = Hints()
    problems, spots = set(), []
    for error in _validator(name).iter_errors(tree.data):
        spots += _spots(error)
        problems |= {_problem(told, tree, path, hints) for told in _told(error)}
    return sorted(problems, key=Problem.order), spots


def _told(error: ValidationError) -> list[ValidationError]:
    """The errors to tell of one: of alternatives, each of the one the user meant (a list of
    transitions may have several items at fault, an action several parameters); the best one
    when several alternatives could be meant."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    meant = _meant(error)
    if not meant:  # every alternative wants another type: said of the value as a whole
        return [error]
    if len({e.relative_schema_path[0] for e in meant}) > 1:
        meant = [best_match(meant)]
    return [told for one in meant for told in _told(one)]


def _spots(error: ValidationError) -> list[Trail]:
    """Where the value is at fault: for alternatives, where each error of those meant is."""
    if error.validator in ("anyOf", "oneOf") and _meant(error):
        return [spot for meant in _meant(error) for spot in _spots(meant)]
    trail: Trail = tuple(error.absolute_path)
    instance: Any = error.instance
    schema = error.schema
    keys: list[str] = []
    if error.validator == "additionalProperties" and isinstance(schema, dict):
        keys = [key for key in instance if key not in schema.get("properties", {})]
    elif error.validator == "required" and isinstance(error.validator_value, list):
        keys = [key for key in error.validator_value if key not in instance]
    elif "propertyNames" in error.absolute_schema_path:
        keys = [str(instance)]
    return [(*trail, key) for key in keys] or [trail]


def value_problems(name: str, where: tuple[str, ...], value: Any) -> list[str]:
    """What the schema `name` says of `value` at one place of it (a path of keys into the
    schema, e.g. ("$defs", "case", "properties", "caller", "items")): the sentences a file
    gets there, for a value that comes from elsewhere (a command-line option)."""
    schema: Any = schema_document(name)
    for key in where:
        schema = schema[key]
    hints = Hints()
    return [_message(error, hints) for error in Draft202012Validator(schema).iter_errors(value)]


def _problem(error: ValidationError, tree: Tree, path: str, hints: Hints) -> Problem:
    trail: Trail = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return _unknown_keys(error, tree, path, trail, hints)
    if "propertyNames" in error.absolute_schema_path:
        key = str(error.instance)
        line, col = tree.where((*trail, key), key=True)
        # a delay names its timer (`after.2 sec`); a bad name is shown in the message already
        at = (*trail, key) if error.schema.get("pattern") == _DURATION else trail  # type: ignore[union-attr]
        return Problem(path, line, col, _message(error, hints), at)
    line, col = tree.where(trail)
    return Problem(path, line, col, _message(error, hints), trail)


def _meant(error: ValidationError) -> list[ValidationError]:
    """The errors of the alternatives the user meant: those that got past their type check."""
    depth = len(error.absolute_path)
    return [e for e in error.context or [] if len(e.absolute_path) > depth or _past_type(e)]


def _past_type(error: ValidationError) -> bool:
    """The value has the type the alternative wants: a name not in its list is meant too."""
    limit: Any = error.validator_value
    if error.validator == "enum":
        return any(type(option) is type(error.instance) for option in limit)
    if error.validator == "const":
        return type(limit) is type(error.instance)
    return error.validator != "type"


def _unknown_keys(
    error: ValidationError, tree: Tree, path: str, trail: Trail, hints: Hints
) -> Problem:
    schema: dict[str, Any] = error.schema  # type: ignore[assignment]
    allowed = tuple(schema.get("properties", {}))
    instance: dict[str, Any] = error.instance  # type: ignore[assignment]
    key = min(set(instance) - set(allowed), key=lambda k: tree.where((*trail, k), key=True))
    line, col = tree.where((*trail, key), key=True)
    if schema.get("description", "").startswith(_ONE_ACTION):  # an action of a `do` list
        hint = newcomer.dialplan_action(key) or hints.did_you_mean(key, allowed)
        return Problem(path, line, col, f"unknown action '{excerpt(key)}'{hint}", trail)
    message = f"unknown key '{excerpt(key)}'{hints.did_you_mean(key, allowed)}"
    return Problem(path, line, col, message, trail)


_ONE_ACTION = "One action with its parameters"
_ACTION_NAMES = tuple(sorted(ACTIONS))
_DURATION = "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$"


def _message(error: ValidationError, hints: Hints) -> str:
    """The error as a sentence that echoes no more than an excerpt of the value."""
    value, kind, limit = error.instance, error.validator, error.validator_value
    if kind == "required":
        return f"missing key {error.message.split(' is a required')[0]}"
    schema: dict[str, Any] = error.schema  # type: ignore[assignment]
    if kind == "type":
        wanted: Any = " or ".join(limit) if isinstance(limit, list) else limit
        got = _TYPES.get(type(value), type(value).__name__)
        message = f"expected {_WANTED.get(wanted, wanted)}, got {got}"
        return message + _type_hint(value, wanted, schema)
    if kind in ("enum", "const", *_BOUNDS):
        return _not_allowed(error, hints)
    if kind == "pattern" and schema.get("pattern") == _DURATION:
        meant = newcomer.duration_for(value)
        return f"'{excerpt(str(value))}' is not a duration: write " + (
            meant or "a number and a unit, e.g. 500ms, 2s, 1.5s, 1m, 1h"
        )
    if kind in ("pattern", "not") and "description" in schema:
        return f"'{excerpt(str(value))}' is not valid: {schema['description']}"
    if kind in ("anyOf", "oneOf"):
        return _none_of(error)
    if kind == "uniqueItems":
        return "lists the same item twice"
    if kind in _SIZES and isinstance(value, dict | list | str):
        return _size(kind, limit, value)
    return _shortened(error)


def _not_allowed(error: ValidationError, hints: Hints) -> str:
    """A value of the right type that is not one of those allowed, or out of bounds."""
    value, kind, limit = error.instance, error.validator, error.validator_value
    if kind == "enum":
        options = tuple(str(o) for o in limit)  # type: ignore[union-attr]
        if options == _ACTION_NAMES:  # a bare action of a `do` list
            hint = newcomer.dialplan_action(str(value)) or hints.did_you_mean(str(value), options)
            return f"unknown action '{excerpt(str(value))}'{hint}"
        hint = hints.did_you_mean(_written(value), options)
        return f"'{excerpt(_written(value))}' is not allowed here{hint}"
    if kind == "const":
        got = _TYPES.get(type(value), "")
        same = type(value) is type(limit)
        return f"must be {_written(limit)}, not {excerpt(_written(value)) if same else got}"
    if isinstance(value, int | float):
        return f"must be {_BOUNDS[str(kind)]} {_written(limit)}, not {excerpt(_written(value))}"
    return _shortened(error)


def _none_of(error: ValidationError) -> str:
    """Every alternative wants another type: `expected text or a list, got a number`."""
    wanted: list[str] = []
    for alternative in error.context or []:
        word = _WANTED.get(_wants(alternative), "")
        wanted += [word] if word and word not in wanted else []
    if not wanted:
        return _shortened(error)
    got = _TYPES.get(type(error.instance), type(error.instance).__name__)
    texts = [a.schema for a in error.context or [] if a.validator_value == "string"]
    hint = _type_hint(error.instance, "string", texts[0]) if texts else ""  # type: ignore[arg-type]
    return f"expected {' or '.join(wanted)}, got {got}{hint}"


def _wants(alternative: ValidationError) -> str:
    """The JSON type an alternative wants: its type, or text for a list of names."""
    limit: Any = alternative.validator_value
    if alternative.validator == "type":
        return " or ".join(limit) if isinstance(limit, list) else str(limit)
    if alternative.validator == "enum" and all(isinstance(name, str) for name in limit):
        return "string"
    return ""


def _type_hint(value: Any, wanted: str, schema: dict[str, Any]) -> str:
    """What to write instead of a number where text goes: a duration with its unit, or the
    number in quotes (a key, a digit, a name)."""
    if wanted != "string" or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    pattern = schema.get("pattern")
    if pattern == _DURATION:
        return f": a duration has a unit, write {newcomer.duration_for(value)}"
    if pattern is None or re.search(pattern, str(value)):  # quoted, it would do
        return f": write it in quotes, {newcomer.quoted(value)}"
    return ""


_BOUNDS = {"minimum": "at least", "maximum": "at most"}


def _written(value: Any) -> str:
    """A value as a flow file writes it: true, false and null in YAML's words."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


_SIZES = {
    "maxProperties": "at most",
    "minProperties": "at least",
    "maxItems": "at most",
    "minItems": "at least",
    "maxLength": "at most",
    "minLength": "at least",
}


def _size(kind: str, limit: Any, value: dict[str, Any] | list[Any] | str) -> str:
    """`at most 500 entries, not 10001`: the count, never the value."""
    if not value:
        return "must not be empty"
    one, many = _UNITS[type(value)]
    return f"{_SIZES[kind]} {limit} {one if limit == 1 else many}, not {len(value)}"


_UNITS = {dict: ("entry", "entries"), list: ("item", "items"), str: ("character", "characters")}


def _shortened(error: ValidationError) -> str:
    """jsonschema's own sentence, the value it starts with cut to an excerpt."""
    whole = repr(error.instance)
    if error.message.startswith(whole):
        return excerpt(whole) + error.message[len(whole) :]
    return excerpt(error.message, 200)
