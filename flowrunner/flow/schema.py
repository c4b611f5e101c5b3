"""JSON Schema checks, with errors turned into sentences that point at the file position.

The schema of flow files is made from the vocabulary (`vocabulary.py`); that of flow test files
is packaged as `schemas/flow-test.schema.json`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .errors import Problem, Trail, did_you_mean
from .vocabulary import flow_schema
from .yamltree import Tree

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
    text = resources.files("flowrunner").joinpath(f"schemas/{name}.schema.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema_document(name))


def check(tree: Tree, path: str, name: str = "flow") -> list[Problem]:
    """Every schema violation in `tree`, one problem each, in file order."""
    problems = {_problem(error, tree, path) for error in _validator(name).iter_errors(tree.data)}
    return sorted(problems)


def _problem(error: ValidationError, tree: Tree, path: str) -> Problem:
    if error.validator in ("anyOf", "oneOf") and error.context:
        error = _branch_error(error)
    trail: Trail = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return _unknown_keys(error, tree, path, trail)
    if "propertyNames" in error.absolute_schema_path:
        line, col = tree.where((*trail, str(error.instance)), key=True)
        return Problem(path, line, col, _message(error), trail)
    line, col = tree.where(trail)
    return Problem(path, line, col, _message(error), trail)


def _branch_error(error: ValidationError) -> ValidationError:
    """The error of the alternative the user meant: one that got past its type check."""
    depth = len(error.absolute_path)
    meant = [
        e
        for e in error.context or []
        if len(e.absolute_path) > depth or e.validator not in ("type", "enum", "const")
    ]
    best: ValidationError = best_match(meant or error.context or [error])
    return best


def _unknown_keys(error: ValidationError, tree: Tree, path: str, trail: Trail) -> Problem:
    schema: dict[str, Any] = error.schema  # type: ignore[assignment]
    allowed = list(schema.get("properties", {}))
    instance: dict[str, Any] = error.instance  # type: ignore[assignment]
    unknown = sorted(set(instance) - set(allowed), key=lambda k: tree.where((*trail, k)))
    key = unknown[0]
    line, col = tree.where((*trail, key), key=True)
    return Problem(path, line, col, f"unknown key '{key}'{did_you_mean(key, allowed)}", trail)


def _message(error: ValidationError) -> str:
    value, kind = error.instance, error.validator
    if kind == "required":
        return f"missing key {error.message.split(' is a required')[0]}"
    if kind == "type":
        wanted: Any = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"expected {wanted}, got {_TYPES.get(type(value), type(value).__name__)}"
    if kind == "enum":
        options = [str(o) for o in error.validator_value]  # type: ignore[union-attr]
        return f"'{value}' is not allowed here{did_you_mean(str(value), options)}"
    schema: dict[str, Any] = error.schema  # type: ignore[assignment]
    if kind in ("pattern", "not") and "description" in schema:
        return f"'{value}' is not valid: {schema['description']}"
    return str(error.message)
