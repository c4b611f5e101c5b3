"""`flowrunner trace CALL`: one call's trace (from `serve --trace DIR`) as a readable timeline."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..flow.errors import excerpt, printable
from ..observe.callfiles import SUFFIX, read_lines
from ..ports import to_text

WIDE = 60  # characters of a value shown in a timeline line


def main(args: argparse.Namespace) -> int:
    try:
        path, others = find(args.call, Path(args.dir))
    except LookupError as error:
        print(printable(f"flowrunner trace: {error}"))
        return 1
    entries = read_lines(path)
    if not entries:
        print(printable(f"flowrunner trace: {path} holds no trace"))
        return 1
    for line in timeline(entries, path):
        print(printable(line))
    if others:
        print(f"({others} older call(s) had this channel too: give a file to see one)")
    return 0


def find(call: str, folder: Path) -> tuple[Path, int]:
    """The trace file `call` names (a file; or a channel id or name: the newest call that had
    it), and how many older calls had that channel too."""
    given = Path(call)
    if given.suffix == SUFFIX and given.is_file():
        return given, 0
    if not folder.is_dir():
        raise LookupError(f"no trace folder {folder} (serve --trace DIR writes one)")
    found = [path for path in sorted(folder.glob(f"*{SUFFIX}")) if call in _names(path)]
    if not found:
        raise LookupError(f"no call in {folder} had a channel '{excerpt(call)}'")
    return found[-1], len(found) - 1


def _names(path: Path) -> tuple[str, str]:
    """The channel name and id a trace's first record (its start) gives."""
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            start = json.loads(file.readline())
    except (OSError, ValueError):
        return "", ""
    if not isinstance(start, dict):
        return "", ""
    return to_text(start.get("channel", "")), to_text(start.get("id", ""))


def timeline(entries: list[dict[str, Any]], path: Path) -> Iterator[str]:
    first = entries[0]
    t0, call = _number(first.get("t")), to_text(first.get("id", ""))
    yield _heading(first, t0)
    yield f"trace: {path}"
    for entry in entries:
        offset = _number(entry.get("t")) - t0
        kind = to_text(entry.get("kind", ""))
        lines = list(_shown(kind, entry, call))
        yield f"{offset:+10.3f}s  {kind:<10}  {lines[0]}"
        yield from (f"{'':25}{more}" for more in lines[1:])


def _heading(start: dict[str, Any], t0: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t0)) + f".{int(t0 * 1000) % 1000:03d}"
    fields = {
        "flow": start.get("flow"),
        "version": start.get("version"),
        "caller": start.get("caller") or "-",
        "extension": start.get("exten") or "-",
    }
    said = ", ".join(f"{k} {to_text(v)}" for k, v in fields.items() if v is not None)
    call = f"{to_text(start.get('channel', ''))} (id {to_text(start.get('id', '-'))})"
    return f"call {call}, started {when} UTC: {said}"


def _shown(kind: str, entry: dict[str, Any], call: str) -> Iterator[str]:
    """The line of a record, and the lines under it (an event's fields, the vars set)."""
    message = to_text(entry.get("message", ""))
    if kind == "event":
        yield message.removeprefix("event ")
    elif kind == "transition":
        guard = to_text(entry.get("guard", ""))
        yield message + (f"  when {guard}" if guard else "")
    elif kind == "step":
        params = entry.get("params")
        yield message.removesuffix(" started") + (
            "  " + _pairs(params) if isinstance(params, dict) and params else ""
        )
    elif kind == "vars":
        values = entry.get("vars")
        yield from (
            [f"{name} = {_value(value)}" for name, value in values.items()]
            if isinstance(values, dict) and values
            else [message]
        )
    elif kind == "action" and "status" in entry:
        took = entry.get("took_ms")
        timing = f", {_number(took):g} ms" if took is not None else ""
        yield f"{message}  (status {to_text(entry['status'])}{timing})"
    elif kind == "end":
        yield message + (f"  (ended by {to_text(entry['by'])})" if entry.get("by") else "")
    else:
        yield message
    fields = entry.get("fields")
    if kind == "event" and isinstance(fields, dict):
        shown = {k: v for k, v in fields.items() if k != "timestamp" and not _mine(v, call)}
        if shown:
            yield "  ".join(f"{name}={_section(value)}" for name, value in shown.items())


def _mine(value: Any, call: str) -> bool:
    """The call's own channel, which every event of it names: said once, in the heading."""
    return isinstance(value, dict) and bool(call) and value.get("id") == call


def _pairs(values: dict[str, Any]) -> str:
    return "  ".join(f"{name}={_value(value)}" for name, value in values.items())


def _value(value: Any) -> str:
    """As JSON writes it ("1" is text, 1 a number), cut short."""
    return excerpt(json.dumps(value, ensure_ascii=False, default=to_text), WIDE)


def _section(value: Any) -> str:
    """An event's field; a nested object (a playback, a peer) as (key=value …)."""
    if not isinstance(value, dict):
        return _value(value)
    inner = " ".join(f"{k}={to_text(v)}" for k, v in value.items())
    return excerpt(f"({inner})", 2 * WIDE)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
