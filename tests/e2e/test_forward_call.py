"""The forward-call flow on a real Asterisk: a second channel is dialled and bridged with the
caller, or the caller hears why not. The callees are the sandbox's [callees] extensions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    Call,
    Runner,
    ari,
    channels_left,
    clean_call,
    flow_copy,
    lines_of,
    place_call,
    serving,
    transitions,
    wait_until,
)
from test_local_channel import Probe

CALLEES = ["answer-hangup", "busy", "noanswer", "congestion"]  # one flow copy each
START = ["(start) -> greeting", "greeting -> dialing"]
HUNG_UP = ["hang_up -> ended"]


@pytest.fixture(scope="module")
def forward(asterisk: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """forward-call as shipped (it dials Local/answer@callees), and one copy per other callee,
    as app fwd-<callee>; the no-answer copy gives up after 3 s instead of 20."""
    directory = tmp_path_factory.mktemp("forward-call")
    copies = []
    for callee in CALLEES:
        changes = {"forward_to: Local/answer@callees": f"forward_to: Local/{callee}@callees"}
        if callee == "noanswer":
            changes["timeout: 20s"] = "timeout: 3s"
        copies.append(flow_copy(directory, "forward-call", f"fwd-{callee}", changes))
    with serving(directory / "serve.log", "flows/forward-call.yaml", *copies) as runner:
        yield runner


@pytest.fixture
def probe(forward: Runner) -> Iterator[Probe]:
    with clean_call(forward):
        probe = Probe()
        try:
            yield probe
        finally:
            probe.close()
        wait_until(lambda: not ari("GET", "bridges"), 5, "no bridge left in Asterisk")


def callees(kind: str) -> list[dict[str, Any]]:
    """The callee channels (both halves) of Local/<kind>@callees."""
    return [c for c in ari("GET", "channels") if c["name"].startswith(f"Local/{kind}@callees-")]


def run_to_the_end(runner: Runner, call: Call, timeout: float) -> list[str]:
    wait_until(lambda: HUNG_UP[0] in transitions(runner, call.name), timeout, "the flow to end")
    return transitions(runner, call.name)


def peer_actions(runner: Runner, call: Call) -> list[tuple[str, int]]:
    return [
        (line["action"], line["status"])
        for line in lines_of(runner, call.name, kind="action")
        if line.get("action", "").startswith(("dial_", "bridge_", "peer_"))
    ]


def test_an_answering_callee_is_bridged_until_the_caller_hangs_up(
    forward: Runner, probe: Probe
) -> None:
    call = place_call("forward-call", probe)
    flow = lambda: transitions(forward, call.name)  # noqa: E731
    wait_until(lambda: "dialing -> connected" in flow(), 10, "the callee to answer")
    (bridge,) = ari("GET", "bridges")
    assert call.flow in bridge["channels"]
    (callee,) = set(bridge["channels"]) - {call.flow}
    callee_channel = ari("GET", f"channels/{callee}")
    assert callee_channel["name"].startswith("Local/answer@callees-")
    assert callee_channel["state"] == "Up"
    assert peer_actions(forward, call) == [
        ("dial_create", 200),
        ("dial_start", 204),
        ("bridge_create", 200),
        ("bridge_add", 204),
    ]

    ari("DELETE", f"channels/{call.phone}")  # the caller hangs up
    wait_until(lambda: not ari("GET", "bridges"), 3, "the bridge to be destroyed")
    wait_until(lambda: not callees("answer"), 3, "the callee to be hung up")
    wait_until(lambda: "connected -> ended" in flow(), 3, "the flow to end")
    assert flow() == [*START, "dialing -> connected", "connected -> ended"]


def test_the_caller_is_hung_up_when_the_callee_hangs_up(forward: Runner, probe: Probe) -> None:
    call = place_call("fwd-answer-hangup", probe)
    wait_until(lambda: "dialing -> connected" in transitions(forward, call.name), 10, "answer")
    assert len(ari("GET", "bridges")) == 1
    # the callee hangs up 2 s after answering
    assert run_to_the_end(forward, call, 5) == [
        *START,
        "dialing -> connected",
        "connected -> hang_up",
        *HUNG_UP,
    ]
    (hung_up,) = lines_of(forward, call.name, kind="transition", target="hang_up")
    assert hung_up["reason"] == "callee hung up"
    wait_until(lambda: not channels_left(), 3, "both calls to be gone")


def test_a_busy_callee_is_hung_up_at_once_and_the_caller_hears_it(
    forward: Runner, probe: Probe
) -> None:
    call = place_call("fwd-busy", probe)
    wait_until(lambda: "dialing -> busy" in transitions(forward, call.name), 10, "busy")
    # Busy(5) would keep the callee 5 s: the flow hangs it up now
    wait_until(lambda: not callees("busy"), 1, "the busy callee to be hung up")
    assert run_to_the_end(forward, call, 10) == [
        *START,
        "dialing -> busy",
        "busy -> hang_up",
        *HUNG_UP,
    ]
    assert ("peer_hangup", 204) in peer_actions(forward, call)


def test_a_callee_that_does_not_answer_within_the_timeout_is_no_answer(
    forward: Runner, probe: Probe
) -> None:
    call = place_call("fwd-noanswer", probe)
    flow = lambda: transitions(forward, call.name)  # noqa: E731
    wait_until(lambda: "greeting -> dialing" in flow(), 10, "the dial")
    wait_until(lambda: len(flow()) > 2, 4.5, "the dial's outcome (timeout: 3s)")
    assert not callees("noanswer")
    outcome = flow()[2]
    run_to_the_end(forward, call, 10)
    assert outcome == "dialing -> no_answer"  # the bug: "dialing -> failed (dial failed)"
    assert flow() == [*START, "dialing -> no_answer", "no_answer -> hang_up", *HUNG_UP]


def test_a_congested_callee_is_a_failed_dial(forward: Runner, probe: Probe) -> None:
    call = place_call("fwd-congestion", probe)
    wait_until(lambda: "dialing -> failed" in transitions(forward, call.name), 10, "failed")
    wait_until(lambda: not callees("congestion"), 1, "the callee to be hung up")
    assert run_to_the_end(forward, call, 10) == [
        *START,
        "dialing -> failed",
        "failed -> hang_up",
        *HUNG_UP,
    ]
