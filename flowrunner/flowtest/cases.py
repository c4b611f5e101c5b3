"""Load a flow test file into typed cases, with `path:line:col` errors like flow files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..flow import schema, yamltree
from ..flow.durations import parse_duration
from ..flow.errors import FlowError, Hints, Problem, Trail, did_you_mean, excerpt
from ..sim.asterisk import AriReply, Callee, Recordings, Room, SimChannel
from ..sim.run import CallerStep
from ..sim.web import CannedReply
from ..steps import request_names
from ..steps.ari_operations import find_operation, no_such_operation
from .expectations import ExpectedLine


@dataclass(frozen=True)
class Expected:
    actions: tuple[ExpectedLine, ...] | None = None  # every ARI request, timed, in order
    within: float = 0.0
    state: str | None = None
    ended: bool | None = None
    vars: dict[str, Any] | None = None
    http: tuple[ExpectedLine, ...] | None = None  # every web request (`METHOD URL`), in order
    ended_by: str | None = None  # flow, caller, loop_guard, failure


@dataclass(frozen=True)
class Case:
    name: str
    line: int
    channel: SimChannel
    at: float | None = None  # the wall-clock time the call starts, in epoch seconds
    caller: tuple[CallerStep, ...] = ()
    media: dict[str, float] = field(default_factory=dict)  # media -> seconds it plays
    failures: dict[str, int | tuple[int | None, ...]] = field(default_factory=dict)
    callee: Callee = field(default_factory=Callee)  # what every callee does, unless
    callees: dict[str, Callee] = field(default_factory=dict)  # by endpoint, says otherwise
    room: Room = field(default_factory=Room)
    recordings: Recordings = field(default_factory=Recordings)
    replies: tuple[CannedReply, ...] = ()
    ari_replies: tuple[AriReply, ...] = ()
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
    if "states" in tree.data and "tests" not in tree.data:
        tests = Path(path).with_name(Path(path).stem + ".test.yaml")
        message = f"this is a flow, not a flow test file: its tests go in {tests.name}"
        raise FlowError([Problem(path, 1, 1, f"{message}; flowrunner validate checks the flow")])
    problems, spots = schema.findings(tree, path, "flow-test")
    # One pass: the cases (and keys) the schema refused are left out, the rest are read.
    broken = {spot[:2] if spot[:1] == ("tests",) else spot[:1] for spot in spots}
    if broken & {(), ("tests",)}:
        raise FlowError(problems)
    data = tree.data
    cases_read = [(i, item) for i, item in enumerate(data["tests"]) if ("tests", i) not in broken]
    problems += _unknown_requests(tree, path, cases_read)
    reader = _Reader(tree, path)
    if "at" in data and ("at",) not in broken:
        reader.at = reader.moment(data["at"], ("at",))
    cases = tuple(reader.case(item, i) for i, item in cases_read)
    problems += reader.problems
    if problems:
        raise FlowError(problems)
    default_flow = Path(path).name.replace(".test.", ".")
    flow_path = str(Path(path).parent / data.get("flow", default_flow))
    return TestFile(path, flow_path, cases)


class _Reader:
    """Turns schema-valid cases into `Case`s, noting the durations out of bounds (`1500m`) at
    their position: the schema checks only their shape."""

    def __init__(self, tree: yamltree.Tree, path: str) -> None:
        self.tree, self.path = tree, path
        self.problems: list[Problem] = []
        self.at: float | None = None  # the file's `at:`, for cases without their own

    def case(self, item: dict[str, Any], i: int) -> Case:
        at: Trail = ("tests", i)
        expect, dial = item["expect"], item.get("dial", {})
        actions, http = expect.get("actions"), expect.get("http")
        return Case(
            name=item["name"],
            line=self.tree.where(at)[0],
            channel=channel_of(item.get("call", {})),
            at=self.moment(item["at"], (*at, "at")) if "at" in item else self.at,
            caller=tuple(
                self.caller_step(text, (*at, "caller", n))
                for n, text in enumerate(item.get("caller", []))
            ),
            media={
                name: self.seconds(text, (*at, "media", name))
                for name, text in item.get("media", {}).items()
            },
            failures={name: _statuses(fails) for name, fails in item.get("ari", {}).items()},
            callee=self.callee(dial if isinstance(dial, dict) else {}, (*at, "dial")),
            callees={
                spec["endpoint"]: self.callee(spec, (*at, "dial", n))
                for n, spec in enumerate(dial if isinstance(dial, list) else [])
            },
            room=self.room(item.get("conference", {}), (*at, "conference")),
            recordings=self.recordings(item.get("record", {}), (*at, "record")),
            replies=tuple(
                self.reply(reply, (*at, "http", n)) for n, reply in enumerate(item.get("http", []))
            ),
            ari_replies=tuple(
                self.ari_reply(reply, (*at, "ari_replies", n))
                for n, reply in enumerate(item.get("ari_replies", []))
            ),
            expect=Expected(
                actions=None if actions is None else self.timeline(actions, (*at, "expect")),
                within=self.seconds(expect.get("within", "0s"), (*at, "expect", "within")),
                state=expect.get("state"),
                ended=expect.get("ended"),
                vars=expect.get("vars"),
                http=None if http is None else tuple(_expected_line(text) for text in http),
                ended_by=expect.get("ended_by"),
            ),
        )

    def seconds(self, text: str, trail: Trail) -> float:
        """A duration from 0 (at once; `within: 0s` is exact) to 24 h; 0 if out of bounds."""
        try:
            return parse_duration(text, allow_zero=True)
        except ValueError as error:
            line, col = self.tree.where(trail)
            self.problems.append(Problem(self.path, line, col, str(error), trail))
            return 0.0

    def moment(self, text: str, trail: Trail) -> float | None:
        """`2026-12-24T16:00:00+01:00` as epoch seconds; None (noted) if it is no such time."""
        try:
            return parse_moment(text)
        except ValueError as error:
            line, col = self.tree.where(trail)
            self.problems.append(Problem(self.path, line, col, str(error), trail))
            return None

    def caller_step(self, text: str, trail: Trail) -> CallerStep:
        """'1s hangup' or '3.2s dtmf 1' (the schema has checked the shape)."""
        at, what, *digit = text.split()
        return CallerStep(self.seconds(at, trail), what, digit[0] if digit else "")

    def timeline(self, actions: list[Any], trail: Trail) -> tuple[ExpectedLine, ...]:
        """`2s answer`, or `2s play: {media: …}`, for each action, in order."""
        lines = []
        for n, item in enumerate(actions):
            line = _expected_line(item)
            at, name = line.name.split(" ", 1)
            lines.append(ExpectedLine(name, line.params, self.seconds(at, (*trail, "actions", n))))
        return tuple(lines)

    def callee(self, spec: dict[str, Any], trail: Trail) -> Callee:
        after, hangup = spec.get("after"), spec.get("hangup_after")
        return Callee(
            outcome=spec.get("outcome", "answer"),
            after=None if after is None else self.seconds(after, (*trail, "after")),
            hangup_after=None if hangup is None else self.seconds(hangup, (*trail, "hangup_after")),
            press=spec.get("press", ""),
            press_after=self.seconds(spec.get("press_after", "1s"), (*trail, "press_after")),
        )

    def room(self, spec: dict[str, Any], trail: Trail) -> Room:
        def times(key: str) -> tuple[float, ...]:
            return tuple(
                self.seconds(text, (*trail, key, n)) for n, text in enumerate(spec.get(key, []))
            )

        return Room(others=spec.get("others", 0), joins=times("joins"), leaves=times("leaves"))

    def ari_reply(self, spec: dict[str, Any], trail: Trail) -> AriReply:
        """An `ari` request's reply: the path must name an ARI operation (unless it has a `*`);
        written with `{…}` placeholders, it is that operation, whatever the values."""
        method, path = spec["method"], spec["path"].removeprefix("/")
        operation = None if "*" in path else find_operation(method, path)
        if operation is None and "*" not in path:
            line, col = self.tree.where((*trail, "path"))
            message = no_such_operation(method, path)
            self.problems.append(Problem(self.path, line, col, message, (*trail, "path")))
        templated = operation is not None and "{" in path
        return AriReply(
            path=operation.path if operation is not None and templated else path,
            method=method,
            status=spec.get("status", 200),
            json=spec.get("json"),
            operation=templated,
        )

    def recordings(self, spec: dict[str, Any], trail: Trail) -> Recordings:
        after = spec.get("after")
        return Recordings(
            outcome=spec.get("outcome", "finished"),
            after=None if after is None else self.seconds(after, (*trail, "after")),
        )

    def reply(self, spec: dict[str, Any], trail: Trail) -> CannedReply:
        return CannedReply(
            url=spec["url"],
            method=spec.get("method", ""),
            status=spec.get("status", 200),
            json=spec.get("json"),
            after=self.seconds(spec.get("after", "100ms"), (*trail, "after")),
            timeout=spec.get("timeout", False),
        )


def _expected_line(item: str | dict[str, Any]) -> ExpectedLine:
    """`NAME` alone, or `NAME: {parameters}` (the schema has checked the shape)."""
    if isinstance(item, str):
        return ExpectedLine(item)
    ((name, params),) = item.items()
    return ExpectedLine(name, params or None)


def _statuses(fails: int | list[int | str]) -> int | tuple[int | None, ...]:
    """`ari: {play: 500}` fails the first play; `[ok, 500]` the second (`ok`: as usual)."""
    if isinstance(fails, int):
        return fails
    return tuple(None if status == "ok" else int(status) for status in fails)


def channel_of(call: dict[str, Any]) -> SimChannel:
    """The simulated channel a case's `call` describes."""
    return SimChannel(
        name=call.get("channel", SimChannel.name),
        caller_number=call.get("caller_number", ""),
        caller_name=call.get("caller_name", ""),
        exten=call.get("extension", SimChannel.exten),
        args=list(call.get("args", [])),
        variables=dict(call.get("variables", {})),
    )


def _unknown_requests(
    tree: yamltree.Tree, path: str, cases: list[tuple[int, dict[str, Any]]]
) -> Iterator[Problem]:
    """`ari:` fails requests by name, and `expect.actions` names them: each must be a request
    some step makes (in the cases the schema let through)."""
    known = tuple(sorted(request_names()))
    hints = Hints()
    for i, item in cases:
        named = [(("ari", name), name, True) for name in item.get("ari", {})]
        for n, line_item in enumerate(item["expect"].get("actions", [])):
            head = line_item if isinstance(line_item, str) else next(iter(line_item))
            where = ("expect", "actions", n) + (() if isinstance(line_item, str) else (head,))
            named.append((where, head.split(" ", 1)[1], not isinstance(line_item, str)))
        for where, name, is_key in named:
            if name not in known:
                trail = ("tests", i, *where)
                line, col = tree.where(trail, key=is_key)
                hint = hints.did_you_mean(name, known, listed="known")
                yield Problem(path, line, col, f"no request is called '{name}'{hint}", trail)


def unknown_request(name: str) -> str:
    """The sentence for a `--fail` naming no request, or '' when it names one."""
    known = sorted(request_names())
    return (
        ""
        if name in known
        else f"no request is called '{name}'{did_you_mean(name, known, listed='known')}"
    )


def parse_moment(text: str) -> float:
    """An ISO 8601 date and time with its UTC offset, as epoch seconds: ValueError if not."""
    example = "e.g. 2026-12-24T16:00:00+01:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{excerpt(text)}' is not a date and time: write one as {example}"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"'{excerpt(text)}' has no UTC offset: add one, {example} (or Z for UTC)")
    return moment.timestamp()


_CASE = ("$defs", "case", "properties")


def caller_step(text: str) -> CallerStep:
    """'1s hangup' or '3.2s dtmf 1', as `simulate --event` takes it: ValueError, with the
    sentence a test file's `caller:` line gets, if it is not."""
    problems = schema.value_problems("flow-test", (*_CASE, "caller", "items"), text)
    if problems:
        raise ValueError(problems[0])
    at, what, *digit = text.split()
    return CallerStep(parse_duration(at, allow_zero=True), what, digit[0] if digit else "")


def failure(name: str, status: int) -> str:
    """The sentence a test file's `ari: {NAME: STATUS}` gets when it is wrong, or ''."""
    problems = schema.value_problems("flow-test", (*_CASE, "ari"), {name: status})
    return problems[0] if problems else unknown_request(name)
