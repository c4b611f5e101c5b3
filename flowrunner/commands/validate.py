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
        if Path(path).is_dir():
            for child in sorted(Path(path).rglob("*")):
                if child.suffix in (".yaml", ".yml") and not child.name.endswith(
                    (".test.yaml", ".test.yml")
                ):
                    yield str(child)
        else:
            yield path


def main(args: argparse.Namespace) -> int:
    files = list(flow_files(args.paths))
    problems: list[Problem] = []
    for path in files:
        try:
            load_flow(path)
        except FlowError as error:
            problems.extend(error.problems)
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
    message = str(problem).split(": ", 1)[1].replace("%", "%25").replace("\n", "%0A")
    return f"::error file={problem.path},line={problem.line},col={problem.col}::{message}"
