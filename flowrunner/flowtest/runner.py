"""Run flow test cases on the simulator and compare what happened with what was expected."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..engine.machine import CompiledFlow
from ..flow.errors import excerpt
from ..sim.run import SimResult, simulate
from .cases import Case, Expected
from .expectations import all_fit, diff
from .shown import shown_requests, shown_web
from .yamltext import yaml_text


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
        recordings=case.recordings,
        replies=list(case.replies),
        ari_replies=list(case.ari_replies),
        at=case.at or 0.0,
        media=case.media,
    )
    if compiled.flow.uses_time and case.at is None:
        return CaseResult(case, (NEEDS_TIME,), result)
    return CaseResult(case, tuple(_compare(case.expect, result)), result)


def _compare(expect: Expected, result: SimResult) -> list[str]:
    problems = []
    actions = shown_requests(result)
    if expect.actions is not None and not all_fit(expect.actions, actions, expect.within):
        problems += ["actions differ (- expected, + actual):"]
        problems += diff(expect.actions, actions, expect.within)
    web = shown_web(result)
    if expect.http is not None and not all_fit(expect.http, web, 0.0):
        problems += ["http requests differ (- expected, + actual):", *diff(expect.http, web, 0.0)]
    if expect.state is not None and expect.state != result.final_state:
        problems.append(f"state: expected {excerpt(expect.state)}, got {result.final_state}")
    if expect.ended is not None and expect.ended != result.ended:
        wanted, actual = yaml_text(expect.ended), yaml_text(result.ended)
        problems.append(f"ended: expected {wanted}, got {actual}")
    if expect.ended_by is not None and expect.ended_by != result.ended_by:
        who = result.ended_by or "nobody: it had not ended"
        problems.append(f"ended_by: expected {expect.ended_by}, got {who}")
    for name, value in (expect.vars or {}).items():
        held = result.vars.get(name)
        if _json(value) != _json(held):  # as written: "1" is not 1, true is not 1
            wanted, actual = excerpt(yaml_text(value)), excerpt(yaml_text(held))
            problems.append(f"vars.{excerpt(name)}: expected {wanted}, got {actual}")
    return problems


def _json(value: object) -> str:
    """A value as JSON, to compare: `"1"` is not `1`, `true` is not `1`."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
