"""A call's whole state is data: saved as JSON after every message and restored into a fresh
runtime, a call does exactly what it would have done without (the requests it sends, when, the
journal, where it ends, its variables). Checked on every shipped flow test case, and on random
calls (key presses, hang-ups, failing requests, callees, web replies) on every example flow."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import REPO, FakeTransport, Journal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.engine.snapshot import _request, _unrequest, restore, snapshot
from flowrunner.flow import load_flow
from flowrunner.flowtest.cases import load_test_file
from flowrunner.ports import Request
from flowrunner.sim.asterisk import Callee, Failures, Recordings, SimChannel
from flowrunner.sim.clock import VirtualClock
from flowrunner.sim.run import CallerStep, SimResult, simulate
from flowrunner.sim.web import CannedReply
from flowrunner.steps import request_names

FLOWS = sorted((REPO / "flows").glob("*.yaml"))
EVERY_STEP = Path(__file__).parent / "flows" / "every-step.yaml"  # multi-key PIN, dial, record …
EXAMPLES = [path for path in FLOWS if not path.name.endswith(".test.yaml")] + [EVERY_STEP]
CASES = [
    pytest.param(test_file, case, id=f"{Path(test_file.path).name}::{case.name}")
    for path in FLOWS
    if path.name.endswith(".test.yaml")
    for test_file in [load_test_file(str(path))]
    for case in test_file.cases
]
COMPILED = {str(path): compile_flow(load_flow(str(path))) for path in EXAMPLES}


def run(compiled: CompiledFlow, reload: bool, **options: Any) -> tuple[Any, ...]:
    result: SimResult = simulate(compiled, reload=reload, **options)
    sent = [(s.at, s.action, s.request, s.status) for s in result.sent]
    timeline = [(h.at, h.kind, h.message) for h in result.timeline]
    web = [(w.at, w.request) for w in result.web]
    return sent, timeline, web, result.final_state, result.ended, result.vars


@pytest.mark.parametrize(("test_file", "case"), CASES)
def test_every_flow_test_case_runs_the_same_restored_after_every_message(
    test_file: Any, case: Any
) -> None:
    compiled = COMPILED[str(Path(test_file.flow_path).resolve())]
    options = {
        "channel": case.channel,
        "callee": case.callee,
        "callees": case.callees,
        "room": case.room,
        "recordings": case.recordings,
        "replies": list(case.replies),
    }
    plain = run(compiled, False, caller=list(case.caller), failures=case.failures, **options)
    reloaded = run(compiled, True, caller=list(case.caller), failures=case.failures, **options)
    assert reloaded == plain


def caller_steps() -> st.SearchStrategy[list[CallerStep]]:
    at = st.integers(0, 400).map(lambda tenths: tenths / 10)
    key = st.builds(CallerStep, at, st.just("dtmf"), st.sampled_from("0123456789*#"))
    hangup = st.builds(CallerStep, at, st.just("hangup"))
    pin = st.just([CallerStep(1.2 + i / 10, "dtmf", d) for i, d in enumerate("1234")])
    return st.tuples(st.lists(key | hangup, max_size=12), st.just([]) | pin).map(
        lambda parts: parts[0] + parts[1]
    )


CALLEES = st.builds(
    Callee,
    st.sampled_from(["answer", "busy", "no_answer", "failed"]),
    st.none() | st.floats(0, 5),
    st.none() | st.floats(0, 15),
    st.sampled_from(["", "1", "2"]),  # a key pressed once answered (a dial's accept)
)
STATUSES = st.sampled_from([404, 409, 500])
FAILURES = st.dictionaries(
    st.sampled_from(sorted(request_names())),
    STATUSES | st.lists(st.none() | STATUSES, min_size=1, max_size=3),  # the first, or in order
    max_size=3,
)
RECORDINGS = st.builds(
    Recordings, st.sampled_from(["finished", "failed"]), st.none() | st.floats(0, 20)
)
REPLIES = st.lists(
    st.builds(
        CannedReply,
        st.just("*"),
        st.just(""),
        st.sampled_from([200, 404, 500]),
        st.sampled_from([None, {"tier": "vip"}, {"tier": "gold", "name": "Ada"}]),
        st.floats(0, 3),
        st.booleans(),
    ),
    max_size=1,
)


@pytest.mark.parametrize("path", [str(p) for p in EXAMPLES], ids=[p.stem for p in EXAMPLES])
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same calls in every run: CI must not flake
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    caller=caller_steps(),
    callee=CALLEES,
    failures=FAILURES,
    recordings=RECORDINGS,
    replies=REPLIES,
)
def test_random_calls_run_the_same_restored_after_every_message(
    path: str,
    caller: list[CallerStep],
    callee: Callee,
    failures: Failures,
    recordings: Recordings,
    replies: list[CannedReply],
) -> None:
    compiled = COMPILED[path]
    channel = SimChannel(caller_number="100", variables={"CUSTOMER_TIER": "vip"})
    options = {
        "channel": channel,
        "callee": callee,
        "recordings": recordings,
        "replies": replies,
        "caller": caller,
    }
    plain = run(compiled, False, failures=dict(failures), **options)
    reloaded = run(compiled, True, failures=dict(failures), **options)
    assert reloaded == plain


def test_a_snapshot_is_plain_json_naming_the_flow_version_state_steps_and_deadlines() -> None:
    compiled = COMPILED[str(REPO / "flows" / "forward-call.yaml")]
    transport, clock = FakeTransport(), VirtualClock(epoch=1_000.0)
    runtime = Runtime([compiled], transport, clock, Journal())
    runtime.post(
        {
            "type": "StasisStart",
            "application": "forward-call",
            "args": ["PJSIP/bob"],
            "channel": {"id": "c1", "name": "PJSIP/c1", "caller": {"number": "100"}},
        }
    )
    runtime.drain()
    while transport.waiting:  # answer, play: the greeting is playing
        transport.reply(201)
        runtime.drain()
    clock.advance_to(2.5)
    data = json.loads(json.dumps(snapshot(runtime.calls["c1"], clock)))
    assert (data["flow"], data["version"], data["state"]) == (
        "forward-call",
        compiled.flow.version,
        "greeting",
    )
    assert data["vars"] == {"forward_to": "PJSIP/bob"}
    assert data["resources"] == {"playback:c1-play-1": "play-3"}
    assert [r["action"] for r in data["running"]] == ["play"]
    assert data["started"] == 1_000.0

    fresh = Runtime([compiled], transport, clock, Journal())
    fresh.adopt(restore(data, compiled, clock))
    fresh.post(
        {"type": "PlaybackFinished", "playback": {"id": "c1-play-1", "target_uri": "channel:c1"}}
    )
    fresh.drain()
    assert fresh.calls["c1"].current == "dialing"
    assert transport.sent[-1].path == "channels/create"


def test_a_request_is_written_with_every_field_of_it() -> None:
    request = Request(
        "POST",
        "channels/c1/play",
        {"media": "sound:hello"},
        body={"variables": {"A": "1"}},
        action="play",
        step="say",
        harmless_twice=False,
    )
    assert _request(request) == dataclasses.asdict(request)
    assert _unrequest(_request(request)) == request
