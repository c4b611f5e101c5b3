"""The ARI operations Asterisk offers, so the `ari` escape-hatch action is checked at load time.

A flow may call any ARI operation flowrunner has no named action for:
`{ari: {method: POST, path: "channels/{channelId}/variable", params: {...}}}`. Asterisk would
only answer a typo with a 404 in the middle of a call; checking the method and path against
this table makes it a load error with a "did you mean".

The table is `ari_operations.json` next to this module, generated from the api-docs of a real
Asterisk (read-only GETs) and kept in the repository. After an Asterisk upgrade, regenerate it:

    .venv/bin/python scripts/ari-operations [--url http://127.0.0.1:8088 --user U --password P]

and `scripts/ari-operations --check` says whether the packaged table is stale.

Flow paths are matched segment by segment the way Asterisk's ARI router does: a literal
segment wins over a `{param}` one (`channels/create` is not a channel id), and a `{param}`
table segment takes any non-empty flow segment: a literal id, a `{channelId}` placeholder or a
`{{ template }}` (which may hold spaces, dots, even a "/").
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

TABLE = "ari_operations.json"
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_PARAM = re.compile(r"^\{(\w+)\}$")
_HOLE = "\x00"  # stands for one `{{ template }}` while a flow path is split into segments
_HOLE_RE = re.compile(_HOLE)


@dataclass(frozen=True)
class Operation:
    """One ARI REST operation, as the api-docs describe it."""

    method: str
    path: str  # relative to /ari/: "channels/{channelId}/variable"
    query: frozenset[str]
    required: frozenset[str]  # required query params (path params are not listed here)
    body: bool  # takes a JSON body (e.g. `variables` of originate)
    summary: str

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the `{param}` segments, in path order: ("channelId",)."""
        return tuple(m.group(1) for s in self.path.split("/") if (m := _PARAM.match(s)))


@dataclass(frozen=True)
class _Table:
    asterisk: str
    operations: tuple[Operation, ...]
    by_key: dict[tuple[str, str], Operation]
    paths: tuple[tuple[str, ...], ...]  # distinct table paths, split into segments


def _operation(item: dict[str, Any]) -> Operation:
    return Operation(
        method=str(item["method"]),
        path=str(item["path"]),
        query=frozenset(str(name) for name in item["query"]),
        required=frozenset(str(name) for name in item["required"]),
        body=bool(item["body"]),
        summary=str(item["summary"]),
    )


@cache
def _table() -> _Table:
    text = resources.files("flowrunner.steps").joinpath(TABLE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    ops = tuple(_operation(item) for item in document["operations"])
    paths = tuple(dict.fromkeys(tuple(op.path.split("/")) for op in ops))
    by_key = {(op.method, op.path): op for op in ops}
    return _Table(str(document["asterisk"]), ops, by_key, paths)


def operations() -> tuple[Operation, ...]:
    """Every ARI REST operation, sorted by path then method."""
    return _table().operations


def asterisk_version() -> str:
    """The version of the Asterisk the table was generated from."""
    return _table().asterisk


def _segments(path: str) -> list[str]:
    path = path.removeprefix("/")
    holes = _TEMPLATE.findall(path)
    segments = _TEMPLATE.sub(_HOLE, path).split("/")
    if not holes:
        return segments
    fill = iter(holes)
    return [_HOLE_RE.sub(lambda _: next(fill), s) for s in segments]


def _fits(table_segment: str, segment: str) -> bool:
    return table_segment == segment or (bool(segment) and bool(_PARAM.match(table_segment)))


def _resolve(path: str) -> str | None:
    """The table path a flow path reaches, routing like Asterisk: literal segments first."""
    segments = _segments(path)
    candidates = _table().paths
    for depth, segment in enumerate(segments):
        alive = [c for c in candidates if len(c) > depth and _fits(c[depth], segment)]
        literal = [c for c in alive if c[depth] == segment]
        candidates = tuple(literal or alive)
    ends = [c for c in candidates if len(c) == len(segments)]
    return "/".join(ends[0]) if ends else None


def find_operation(method: str, path: str) -> Operation | None:
    """The operation `method path` of a flow calls, or None when Asterisk has no such one."""
    resolved = _resolve(path)
    if resolved is None:
        return None
    return _table().by_key.get((method.upper(), resolved))


def _shape(path: str) -> str:
    """A path with every parameter-like segment written `{}`, for likeness."""
    segments = _segments(path)
    return "/".join("{}" if "{" in s else s for s in segments)


def no_such_operation(method: str, path: str) -> str:
    """One sentence for a flow's `method path` that names no ARI operation, with a hint."""
    method, path = method.upper(), path.removeprefix("/")
    resolved = _resolve(path)
    if resolved is not None:
        methods = sorted(op.method for op in operations() if op.path == resolved)
        return f"{resolved} accepts {', '.join(methods)}, not {method}"
    shapes = {f"{op.method} {_shape(op.path)}": op for op in operations()}
    close = difflib.get_close_matches(f"{method} {_shape(path)}", shapes, n=1, cutoff=0.6)
    if close:
        best = shapes[close[0]]
        return f"no ARI operation {method} {path}; did you mean {best.method} {best.path}?"
    return (
        f"no ARI operation {method} {path}; Asterisk {asterisk_version()} has "
        f"{len(operations())}, listed in flowrunner/steps/{TABLE}"
    )
