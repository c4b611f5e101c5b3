from __future__ import annotations

from pathlib import Path

import pytest

from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.flow import load_flow
from flowrunner.sim.asterisk import SimChannel
from flowrunner.sim.run import CallerStep, simulate

REPO = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def channel_state() -> CompiledFlow:
    return compile_flow(load_flow(str(REPO / "flows" / "channel-state.yaml")))


def actions(result: object) -> list[tuple[float, str, int]]:
    return [(s.at, s.action, s.status) for s in result.sent]  # type: ignore[attr-defined]


def test_the_reference_call_on_virtual_time(channel_state: CompiledFlow) -> None:
    result = simulate(channel_state)
    assert actions(result) == [
        (0.0, "ring", 204),
        (2.0, "answer", 204),
        (2.0, "start_silence", 204),
        (6.0, "hangup", 204),
    ]
    assert (result.final_state, result.ended, result.duration) == ("ended", True, 6.0)


def test_the_caller_hangs_up_while_ringing(channel_state: CompiledFlow) -> None:
    result = simulate(channel_state, [CallerStep(1.0, "hangup")])
    assert actions(result) == [(0.0, "ring", 204)]
    assert (result.final_state, result.duration) == ("ended", 1.0)
    kinds = [(h.at, h.kind) for h in result.timeline]
    assert (1.0, "caller") in kinds
    assert kinds[-1] == (1.0, "end")


def test_a_failed_answer_ends_the_call(channel_state: CompiledFlow) -> None:
    result = simulate(channel_state, failures={"answer": 404})
    assert actions(result) == [(0.0, "ring", 204), (2.0, "answer", 404)]
    assert result.final_state == "answered"
    assert result.ended


def test_get_variable_reads_the_channel_variables_a_test_gives_the_call(tmp_path: Path) -> None:
    flow = tmp_path / "account.yaml"
    flow.write_text(
        "version: 1\napp: account\ninitial: start\nstates:\n"
        "  start:\n"
        "    do:\n"
        "      - get_variable: {variable: 'SIP_HEADER(X-Account)', into: account}\n"
        "      - get_variable: {variable: UNSET, into: missing}\n"
        "      - hangup\n"
        "    on: {StasisEnd: done}\n"
        "  done: {final: true}\n"
    )
    channel = SimChannel(variables={"SIP_HEADER(X-Account)": "42"})
    result = simulate(compile_flow(load_flow(str(flow))), channel=channel)
    assert actions(result) == [
        (0.0, "get_variable", 200),
        (0.0, "get_variable", 404),
        (0.0, "hangup", 204),
    ]
    assert result.vars == {"account": "42", "missing": None}  # a 404 there: no such variable
