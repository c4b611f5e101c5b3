"""`flowrunner validate PATH...`: check flow files; text, JSON or GitHub annotations."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

from ..flow import FlowError, Problem
from ..flow.errors import printable, shown
from ..flow.loader import check_file


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
            check_file(path)
        except FlowError as error:
            problems.extend(error.problems)
    if not files:
        print(printable("no flow files (*.yaml) found in: " + " ".join(args.paths)))
        return 1
    report(problems, args.format)
    if args.format == "text" and not problems:
        print(f"{len(files)} flow file(s) valid")
    return 1 if problems else 0


def report(problems: list[Problem], fmt: str) -> None:
    """Print the problems, at most MAX_SHOWN a file, as text, JSON or GitHub annotations."""
    problems = shown(problems)
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
    return annotation(problem.path, problem.line, problem.col, problem.describe())


def annotation(path: str, line: int, col: int, message: str) -> str:
    """`::error file=…,line=…,col=…::message`, each part escaped as GitHub's runner reads it:
    a newline in a value from a file would start a workflow command of its own."""
    file = _escape(printable(path), ":,")
    where = f"file={file},line={line}" if line else f"file={file}"
    where += f",col={col}" if line and col else ""
    return f"::error {where}::{_escape(message)}"


def _escape(text: str, extra: str = "") -> str:
    """GitHub's escapes: % CR LF in a message; also : and , in a property."""
    table = {"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"}
    return "".join(table[c] if c in "%\r\n" + extra else c for c in text)
