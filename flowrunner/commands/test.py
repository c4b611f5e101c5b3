"""`flowrunner test [PATH...]`: run flow tests (NAME.test.yaml) on simulated calls."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

from ..engine.machine import CompiledFlow, compile_flow
from ..flow import FlowError, Problem, load_flow
from ..flow.errors import printable
from ..flowtest.cases import TestFile, load_test_file
from ..flowtest.coverage import Coverage, percent
from ..flowtest.junit import write_junit
from ..flowtest.runner import CaseResult, run_case
from .validate import annotation, report


def test_files(paths: list[str]) -> Iterator[str]:
    for path in paths:
        if Path(path).is_dir():
            for pattern in ("*.test.yaml", "*.test.yml"):
                yield from (str(p) for p in sorted(Path(path).rglob(pattern)))
        else:
            yield path


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    results: list[tuple[TestFile, CaseResult]] = []
    problems: list[Problem] = []
    coverage: dict[str, Coverage] = {}  # by flow file
    if args.paths == ["flows"] and not Path("flows").is_dir():
        print(
            "there is no flows/ folder here: give the test files or folders to run, e.g. "
            "flowrunner test path/to/flows"
        )
        return 1
    files = list(test_files(args.paths))
    if not files:
        print(printable("no flow test files (*.test.yaml) found in: " + " ".join(args.paths)))
        return 1
    for path in files:
        try:
            test_file = load_test_file(path)
            compiled = compile_flow(load_flow(test_file.flow_path))
        except FlowError as error:
            problems.extend(error.problems)
            continue
        ran = list(_run(test_file, compiled, args.format))
        results += [(test_file, r) for r in ran]
        covered = coverage.setdefault(compiled.flow.path, Coverage(compiled.flow))
        for result in ran:
            covered.add(result.result)
    report(problems, "github" if args.format == "github" else "text")
    passed = sum(r.passed for _, r in results)
    failed = len(results) - passed
    seconds = time.perf_counter() - started
    errors = f", {len(problems)} error(s)" if problems else ""
    print(f"{passed} passed, {failed} failed{errors} in {seconds:.3f}s")
    if args.junit_xml:
        write_junit(args.junit_xml, results, problems, seconds)
    short = False
    if args.coverage or args.fail_under is not None:
        short = _report_coverage(coverage) < (args.fail_under or 0.0)
    return 1 if failed or problems or not results or short else 0


def _report_coverage(coverage: dict[str, Coverage]) -> float:
    """Print what the cases never reached, per flow; return the total, in percent."""
    reached = total = 0
    for covered in coverage.values():
        lines, flow_reached, flow_total = covered.report()
        for line in lines:
            print(printable(line))
        reached, total = reached + flow_reached, total + flow_total
    print(f"coverage: {percent(reached, total)} of states and transitions reached")
    return 100.0 * reached / total if total else 100.0


def _run(test_file: TestFile, compiled: CompiledFlow, fmt: str) -> Iterator[CaseResult]:
    """Run each case, printing its outcome; the case name and the failures are printable (a
    newline in a name would forge a line, or a workflow command under GitHub Actions)."""
    for case in test_file.cases:
        result = run_case(compiled, case)
        name = printable(case.name)
        print(f"{printable(test_file.path)}::{name} {'PASSED' if result.passed else 'FAILED'}")
        failures = [printable(line) for line in result.failures]
        for line in failures:
            print(f"    {line}")
        if fmt == "github" and not result.passed:
            message = f"{name}: " + "\n".join(failures)  # escaped: one line per failure
            print(annotation(test_file.path, case.line, 0, message))
        yield result
