"""`flowrunner replay FILE`: turn a recorded call (`serve --record DIR`) into a flow test case."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..engine.machine import CompiledFlow, compile_flow
from ..flow import FlowError, load_flow
from ..flow.errors import printable
from ..flowtest.cases import load_test_file
from ..flowtest.replay import Recording, case_file, read_recording, replay


def main(args: argparse.Namespace) -> int:
    try:
        recording = read_recording(Path(args.file))
    except (OSError, ValueError) as error:
        print(printable(f"flowrunner replay: {error}"))
        return 1
    recorded = str(recording.start.get("flow", ""))
    target = args.flow or recorded
    if not target:
        print("flowrunner replay: the recording names no flow file: give one with --flow")
        return 1
    flow = compile_flow(load_flow(target))
    ran = _version_ran(recording, [flow.flow.path, recorded])
    name = args.name or _name(recording)
    made = replay(recording, ran, name, flow.flow.uses_time)
    output = Path(args.output) if args.output else None
    if output is not None and output.exists():
        print(printable(f"flowrunner replay: {output} exists: give another -o"))
        return 1
    folder = output.parent if output else Path.cwd()
    comment = f"Replayed by flowrunner replay from {args.file}: {name}."
    text = case_file([made.case], os.path.relpath(target, folder), comment)
    for note in made.notes:
        print(printable(f"note: {note}"), file=sys.stderr)
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        load_test_file(str(output))  # as flowrunner test reads it: a problem is a bug of ours
        print(printable(f"wrote {output}: flowrunner test {output}"))
    return 0 if made.retraced else 1


def _version_ran(recording: Recording, paths: list[str]) -> CompiledFlow | None:
    """The flow version the call ran, if one of these files still holds it."""
    version = recording.start.get("version")
    for path in dict.fromkeys(p for p in paths if p):
        try:
            flow = load_flow(path)
        except (FlowError, OSError):
            continue
        if flow.version == version:
            return compile_flow(flow)
    return None


def _name(recording: Recording) -> str:
    started = next((e for _, e in recording.events if e.get("type") == "StasisStart"), {})
    channel = started.get("channel")
    who = str(channel.get("name", "")) if isinstance(channel, dict) else ""
    when = datetime.fromtimestamp(recording.began, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"replay of {who or recording.channel} at {when}"
