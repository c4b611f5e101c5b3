"""Run flow test cases on the simulator and compare what happened with what was expected."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..engine.machine import CompiledFlow
from ..flow.errors import excerpt
from ..sim.run import SimResult, simulate
from .cases import Case, Expected


@dataclass(frozen=True)
class CaseResult:
    case: Case
    failures: tuple[str, ...]  # empty when the case passed; else lines explaining why
    result: SimResult

    @property
    def passed(self) -> bool:
        return not self.failures


NEEDS_TIME = (
    "this flow reads the time (now, hours): give the case the time of the call, "
    "e.g. at: 2026-12-24T16:00:00+01:00"
)


def run_case(compiled: CompiledFlow, case: Case) -> CaseResult:
    result = simulate(
        compiled,
        list(case.caller),
        channel=case.channel,
        failures=case.failures,
        callee=case.callee,
        callees=case.callees,
        room=case.room,
        replies=list(case.replies),
        at=case.at or 0.0,
        media=case.media,
    )
    if compiled.flow.uses_time and case.at is None:
        return CaseResult(case, (NEEDS_TIME,), result)
    return CaseResult(case, tuple(_compare(case.expect, result)), result)


def _compare(expect: Expected, result: SimResult) -> list[str]:
    problems = []
    actual = [(sent.at, sent.action) for sent in result.sent]
    if expect.actions is not None and not _same(expect.actions, actual, expect.within):
        timelines = [_line(e) for e in expect.actions], [_line(a) for a in actual]
        problems += ["actions differ (- expected, + actual):", *_diff(*timelines)]
    if expect.state is not None and expect.state != result.final_state:
        problems.append(f"state: expected {excerpt(expect.state)}, got {result.final_state}")
    if expect.ended is not None and expect.ended != result.ended:
        problems.append(f"ended: expected {_shown(expect.ended)}, got {_shown(result.ended)}")
    if expect.ended_by is not None and expect.ended_by != result.ended_by:
        got = result.ended_by or "nobody: it had not ended"
        problems.append(f"ended_by: expected {expect.ended_by}, got {got}")
    sent = [f"{web.request.method} {web.request.url}" for web in result.web]
    if expect.http is not None and list(expect.http) != sent:
        problems += ["http requests differ (- expected, + actual):", *_diff(expect.http, sent)]
    for name, value in (expect.vars or {}).items():
        wanted, got = _shown(value), _shown(result.vars.get(name))
        if wanted != got:  # as written: "1" is not 1, true is not 1
            problems.append(f"vars.{excerpt(name)}: expected {excerpt(wanted)}, got {excerpt(got)}")
    return problems


def _shown(value: object) -> str:
    """A value as a flow test writes it (JSON: null, true, "1"), not as Python prints it."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _same(
    expected: tuple[tuple[float, str], ...], actual: list[tuple[float, str]], within: float
) -> bool:
    return len(expected) == len(actual) and all(
        e_name == a_name and abs(e_at - a_at) <= within + 1e-9
        for (e_at, e_name), (a_at, a_name) in zip(expected, actual, strict=True)
    )


def _diff(expected: Sequence[str], actual: Sequence[str]) -> list[str]:
    """Line up both lists by position, marking the lines that differ."""
    lines = []
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else None
        a = actual[i] if i < len(actual) else None
        if e == a:
            lines.append(f"    {e}")
            continue
        lines += [f"  - {e}"] if e else []
        lines += [f"  + {a}"] if a else []
    return [excerpt(line, 300) for line in lines]


def _line(entry: tuple[float, str]) -> str:
    return f"{entry[0]:g}s {entry[1]}"
