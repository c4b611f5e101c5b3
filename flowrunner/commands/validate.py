"""`flowrunner validate PATH...`: check flow files; text, JSON or GitHub annotations."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

from ..flow import FlowError, Problem, load_flow


def flow_files(paths: list[str]) -> Iterator[str]:
    """Each path, or each flow file (*.yaml, *.yml, but not *.test.yaml) in a directory."""
    for path in paths:
        if not Path(path).is_dir():
            yield path
            continue
        for child in sorted(Path(path).rglob("*.y*ml")):
            hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
            if child.suffix in (".yaml", ".yml") and not hidden and ".test." not in child.name:
                yield str(child)


def main(args: argparse.Namespace) -> int:
    files = list(flow_files(args.paths))
    problems: list[Problem] = []
    for path in files:
        try:
            load_flow(path)
        except FlowError as error:
            problems.extend(error.problems)
    if not files:
        print("no flow files (*.yaml) found in: " + " ".join(args.paths))
        return 1
    report(problems, args.format)
    if args.format == "text" and not problems:
        print(f"{len(files)} flow file(s) valid")
    return 1 if problems else 0


def report(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        print(
            json.dumps(
                [
                    {
                        "path": p.path,
                        "line": p.line,
                        "col": p.col,
                        "message": p.message,
                        "key": list(p.trail),
                    }
                    for p in problems
                ],
                indent=2,
            )
        )
        return
    for problem in problems:
        print(github_annotation(problem) if fmt == "github" else problem)


def github_annotation(problem: Problem) -> str:
    """A GitHub Actions workflow command, escaped as the runner expects."""
    file = _escape(problem.path, ":,")
    where = f"file={file},line={problem.line},col={problem.col}" if problem.line else f"file={file}"
    return f"::error {where}::{_escape(problem.describe())}"


def _escape(text: str, extra: str = "") -> str:
    table = {"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"}
    return "".join(table[c] if c in "%\r\n" + extra else c for c in text)
