"""`flowrunner simulate FLOW`: print the timeline of one simulated call, on virtual time."""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ..engine.machine import compile_flow
from ..flow import FlowError, load_flow
from ..flow.errors import did_you_mean, excerpt, printable
from ..flowtest.cases import Case, caller_step, failure, load_test_file, parse_moment
from ..flowtest.runner import run_case
from ..flowtest.shown import Shown, shown_requests, shown_web
from ..sim.run import CallerStep, SimResult, simulate


def main(args: argparse.Namespace) -> int:
    try:
        compiled = compile_flow(load_flow(args.flow))
        case = _case(args.case) if args.case else None
        caller = [_event(text) for text in args.event]
        failures: dict[str, int | tuple[int | None, ...]] = dict(map(_failure, args.fail))
        at = _moment(args.at) if args.at else time.time()
    except FlowError as error:
        print(printable(str(error)))
        return 1
    except ValueError as error:
        print(printable(f"flowrunner simulate: {error}"))
        return 1
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
    for line in timeline(result):
        print(printable(line))
    ended = "ended" if result.ended else "still running"
    print(f"call {ended} in state {result.final_state} after {result.duration:g}s")
    for line in verdict:
        print(printable(line))
    return 0


TRACE_ONLY = ("step", "vars")  # a step's parameters, variables set: the request lines show them


def timeline(result: SimResult) -> list[str]:
    """The call's happenings and requests, in the order they came; a request as a flow test
    expects it (`- 2s play: {media: …}`, to copy into `expect.actions`), with the channel it
    is about when the call has several (a dial's callees, a bridge)."""
    status = {sent.seq: sent.status for sent in result.sent}
    requests = shown_requests(result)
    rows = [
        (h.at, h.seq, h.kind, str(h.fields.get("callee", "")), h.message)
        for h in result.timeline
        if h.kind not in TRACE_ONLY
    ]
    rows += [(r.at, r.seq, "request", r.channel, _request(r, status[r.seq])) for r in requests]
    rows += [(w.at, w.seq, "http", "", "- " + w.line(timed=False)) for w in shown_web(result)]
    rows.sort(key=lambda row: (row[0], row[1]))
    channels = {r.channel for r in requests if r.channel}
    width = max(map(len, channels)) if len(channels) > 1 else 0
    return [
        f"{at:9.3f}s  {kind:<10}  " + (f"{who:<{width}}  " if width else "") + message
        for at, _, kind, who, message in rows
    ]


def _request(shown: Shown, status: int) -> str:
    """A YAML list item, with the status Asterisk refused it with as a comment."""
    return f"- {shown.line()}" + (f"  # {status}" if status >= 400 else "")


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


def _event(text: str) -> CallerStep:
    """As a test file's `caller:` line, with its messages."""
    try:
        return caller_step(text)
    except ValueError as error:
        raise ValueError(f"--event: {error}") from None


def _failure(text: str) -> tuple[str, int]:
    """As a test file's `ari: {NAME: STATUS}`, with its messages."""
    action, _, status = text.partition("=")
    if not status.isdigit():
        raise ValueError(f"--fail wants ACTION=STATUS, e.g. answer=404; got '{excerpt(text)}'")
    wrong = failure(action, int(status))
    if wrong:
        raise ValueError(f"--fail: {wrong}")
    return action, int(status)


def _moment(text: str) -> float:
    try:
        return parse_moment(text)
    except ValueError as error:
        raise ValueError(f"--at: {error}") from None
