"""`flowrunner simulate FLOW`: print the timeline of one simulated call, on virtual time."""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ..engine.machine import compile_flow
from ..flow import load_flow
from ..flow.errors import printable
from ..flowtest.cases import caller_step, parse_moment, unknown_request
from ..sim.run import simulate


def main(args: argparse.Namespace) -> int:
    try:
        compiled = compile_flow(load_flow(args.flow))
        caller = [caller_step(text) for text in args.event]
        failures = dict(_failure(text) for text in args.fail)
        at = _moment(args.at) if args.at else time.time()
    except ValueError as error:
        print(printable(f"flowrunner simulate: {error}"))
        return 2
    if compiled.flow.uses_time:
        moment = datetime.fromtimestamp(at, ZoneInfo(compiled.flow.timezone))
        print(f"the call is placed at {moment.isoformat(timespec='seconds')}")
    result = simulate(compiled, caller, failures=failures, at=at)
    for happening in result.timeline:
        print(f"{happening.at:9.3f}s  {happening.kind:<10}  {printable(happening.message)}")
    ended = "ended" if result.ended else "still running"
    print(f"call {ended} in state {result.final_state} after {result.duration:g}s")
    return 0


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
