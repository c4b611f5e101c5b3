"""`flowrunner simulate FLOW`: print the timeline of one simulated call, on virtual time."""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ..engine.machine import compile_flow
from ..flow import FlowError, load_flow
from ..flow.errors import did_you_mean, printable
from ..flowtest.cases import Case, caller_step, load_test_file, parse_moment, unknown_request
from ..flowtest.runner import run_case
from ..sim.run import simulate


def main(args: argparse.Namespace) -> int:
    try:
        compiled = compile_flow(load_flow(args.flow))
        case = _case(args.case) if args.case else None
        caller = [caller_step(text) for text in args.event]
        failures = dict(_failure(text) for text in args.fail)
        at = _moment(args.at) if args.at else time.time()
    except FlowError as error:
        print(printable(str(error)))
        return 1
    except ValueError as error:
        print(printable(f"flowrunner simulate: {error}"))
        return 2
    if case is not None:  # the case's call, with what the options add
        at = at if args.at or case.at is None else case.at
        caller, failures = [*case.caller, *caller], {**case.failures, **failures}
        case = dataclasses.replace(case, caller=tuple(caller), failures=failures, at=at)
        ran = run_case(compiled, case)
        result, verdict = ran.result, ["case: PASSED"] if ran.passed else ["case: FAILED"]
        verdict += [f"    {line}" for line in ran.failures]
    else:
        result, verdict = simulate(compiled, caller, failures=failures, at=at), []
    if compiled.flow.uses_time:
        moment = datetime.fromtimestamp(at, ZoneInfo(compiled.flow.timezone))
        print(f"the call is placed at {moment.isoformat(timespec='seconds')}")
    for happening in result.timeline:
        print(f"{happening.at:9.3f}s  {happening.kind:<10}  {printable(happening.message)}")
    ended = "ended" if result.ended else "still running"
    print(f"call {ended} in state {result.final_state} after {result.duration:g}s")
    for line in verdict:
        print(printable(line))
    return 0


def _case(text: str) -> Case:
    """`FILE::NAME`, as `flowrunner test` names a case: its call, caller, replies and time."""
    path, separator, name = text.partition("::")
    if not separator:
        raise ValueError(f"--case wants FILE::NAME, as flowrunner test prints it; got '{text}'")
    cases = {case.name: case for case in load_test_file(path).cases}
    if name not in cases:
        hint = did_you_mean(name, sorted(cases), listed="its cases are")
        raise ValueError(f"--case: {path} has no case '{name}'{hint}")
    return cases[name]


def _failure(text: str) -> tuple[str, int]:
    action, _, status = text.partition("=")
    if not status.isdigit():
        raise ValueError(f"--fail wants ACTION=STATUS, e.g. answer=404; got '{text}'")
    unknown = unknown_request(action)
    if unknown:
        raise ValueError(f"--fail: {unknown}")
    return action, int(status)


def _moment(text: str) -> float:
    try:
        return parse_moment(text)
    except ValueError as error:
        raise ValueError(f"--at: {error}") from None
