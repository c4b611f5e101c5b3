"""Load a flow test file into typed cases, with `path:line:col` errors like flow files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..flow import schema, yamltree
from ..flow.durations import parse_duration
from ..flow.errors import FlowError, Problem, did_you_mean
from ..sim.asterisk import Callee, SimChannel
from ..sim.run import CallerStep
from ..sim.web import CannedReply
from ..steps import request_names


@dataclass(frozen=True)
class Expected:
    actions: tuple[tuple[float, str], ...] | None = None  # (seconds, action), in order
    within: float = 0.0
    state: str | None = None
    ended: bool | None = None
    vars: dict[str, Any] | None = None


@dataclass(frozen=True)
class Case:
    name: str
    line: int
    channel: SimChannel
    caller: tuple[CallerStep, ...] = ()
    failures: dict[str, int] = field(default_factory=dict)
    callee: Callee = field(default_factory=Callee)
    replies: tuple[CannedReply, ...] = ()
    expect: Expected = Expected()


@dataclass(frozen=True)
class TestFile:
    path: str
    flow_path: str
    cases: tuple[Case, ...]


def load_test_file(path: str) -> TestFile:
    tree = yamltree.read(path)
    if not isinstance(tree.data, dict):
        raise FlowError([Problem(path, 1, 1, "a test file must be a mapping with 'tests'")])
    problems = schema.check(tree, path, "flow-test")
    if problems:
        raise FlowError(problems)
    data = tree.data
    problems = list(_unknown_requests(tree, path))
    if problems:
        raise FlowError(problems)
    default_flow = Path(path).name.replace(".test.", ".")
    flow_path = str(Path(path).parent / data.get("flow", default_flow))
    cases = tuple(_case(item, tree.where(("tests", i))[0]) for i, item in enumerate(data["tests"]))
    return TestFile(path, flow_path, cases)


def _case(item: dict[str, Any], line: int) -> Case:
    call = item.get("call", {})
    channel = SimChannel(
        name=call.get("channel", SimChannel.name),
        caller_number=call.get("caller_number", ""),
        caller_name=call.get("caller_name", ""),
        exten=call.get("extension", SimChannel.exten),
        args=list(call.get("args", [])),
        variables=dict(call.get("variables", {})),
    )
    expect = item["expect"]
    actions = expect.get("actions")
    return Case(
        name=item["name"],
        line=line,
        channel=channel,
        caller=tuple(caller_step(text) for text in item.get("caller", [])),
        failures=dict(item.get("ari", {})),
        callee=_callee(item.get("dial", {})),
        replies=tuple(_reply(reply) for reply in item.get("http", [])),
        expect=Expected(
            actions=None if actions is None else tuple(_timed(text) for text in actions),
            within=parse_duration(expect["within"]) if "within" in expect else 0.0,
            state=expect.get("state"),
            ended=expect.get("ended"),
            vars=expect.get("vars"),
        ),
    )


def _unknown_requests(tree: yamltree.Tree, path: str) -> Iterator[Problem]:
    """`ari:` fails requests by name: each must be a request some step makes."""
    known = sorted(request_names())
    for i, item in enumerate(tree.data["tests"]):
        for name in item.get("ari", {}):
            if name not in known:
                trail = ("tests", i, "ari", name)
                line, col = tree.where(trail, key=True)
                hint = did_you_mean(name, known, listed="known")
                yield Problem(path, line, col, f"no request is called '{name}'{hint}", trail)


def unknown_request(name: str) -> str:
    """The sentence for a `--fail` naming no request, or '' when it names one."""
    known = sorted(request_names())
    return (
        ""
        if name in known
        else f"no request is called '{name}'{did_you_mean(name, known, listed='known')}"
    )


def _callee(spec: dict[str, Any]) -> Callee:
    after, hangup = spec.get("after"), spec.get("hangup_after")
    return Callee(
        outcome=spec.get("outcome", "answer"),
        after=None if after is None else _seconds(after),
        hangup_after=None if hangup is None else _seconds(hangup),
    )


def _reply(spec: dict[str, Any]) -> CannedReply:
    return CannedReply(
        url=spec["url"],
        method=spec.get("method", ""),
        status=spec.get("status", 200),
        json=spec.get("json"),
        after=_seconds(spec.get("after", "100ms")),
        timeout=spec.get("timeout", False),
    )


def caller_step(text: str) -> CallerStep:
    """'1s hangup' or '3.2s dtmf 1' (the schema has checked the shape)."""
    at, what, *digit = text.split()
    return CallerStep(_seconds(at), what, digit[0] if digit else "")


def _timed(text: str) -> tuple[float, str]:
    at, action = text.split()
    return _seconds(at), action


def _seconds(text: str) -> float:
    return parse_duration(text, allow_zero=True)
