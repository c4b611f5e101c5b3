"""Flow test results as JUnit XML, the format CI systems read (GitHub, GitLab, Jenkins)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from itertools import groupby

from ..flow.errors import Problem, printable
from .cases import TestFile
from .runner import CaseResult


def write_junit(
    path: str,
    results: Sequence[tuple[TestFile, CaseResult]],
    problems: Sequence[Problem],
    seconds: float,
) -> None:
    """One testsuite per test file, one testcase per case; a file that could not be loaded is
    a testsuite with an error."""
    suites = ET.Element("testsuites", name="flowrunner test", time=f"{seconds:.3f}")
    for test_file, group in groupby(results, key=lambda item: item[0]):
        cases = [result for _, result in group]
        failures = sum(not result.passed for result in cases)
        suite = ET.SubElement(
            suites, "testsuite", name=test_file.path, tests=str(len(cases)), failures=str(failures)
        )
        for result in cases:
            case = ET.SubElement(
                suite, "testcase", classname=test_file.path, name=printable(result.case.name)
            )
            if not result.passed:
                lines = [printable(line) for line in result.failures]
                ET.SubElement(case, "failure", message=lines[0]).text = "\n".join(lines)
    for path_of, group_problems in groupby(problems, key=lambda problem: problem.path):
        suite = ET.SubElement(suites, "testsuite", name=path_of, tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname=path_of, name="(load)")
        text = "\n".join(printable(str(problem)) for problem in group_problems)
        ET.SubElement(case, "error", message="the file could not be loaded").text = text
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
