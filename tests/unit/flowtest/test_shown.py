"""What a simulated call's requests show of themselves: what a test writes, and no secret."""

from __future__ import annotations

from pathlib import Path

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import load_flow
from flowrunner.flowtest.shown import ari_params, shown_requests, shown_web
from flowrunner.ports import Request
from flowrunner.sim.asterisk import Callee
from flowrunner.sim.run import simulate

REPO = Path(__file__).parents[3]


def run(name: str, **options: object) -> object:
    return simulate(compile_flow(load_flow(str(REPO / "flows" / f"{name}.yaml"))), **options)  # type: ignore[arg-type]


def lines(result: object) -> list[tuple[str, str]]:
    return [(s.channel, s.line()) for s in shown_requests(result)]  # type: ignore[arg-type]


def test_a_request_shows_the_flows_parameters_not_the_engines_ids() -> None:
    assert lines(run("voicemail")) == [
        ("caller", "0s answer"),
        ("caller", "0s play: {media: sound:vm-intro}"),
        (
            "caller",
            "1s record: {name: vm-sim-0001, format: wav, maxDurationSeconds: '30', "
            "maxSilenceSeconds: '5', beep: 'true', terminateOn: '#', ifExists: overwrite}",
        ),
        ("caller", "31s play: {media: [sound:vm-msgsaved, recording:vm-sim-0001]}"),
        ("caller", "32s play: {media: sound:vm-goodbye}"),
        ("caller", "33s hangup"),
    ]


def test_a_says_play_shows_its_text() -> None:
    assert lines(run("tts-greeting"))[1] == (
        "caller",
        "0s play: {text: 'Hello, and thank you for calling.'}",
    )


def test_a_dials_requests_name_the_callee_or_the_bridge() -> None:
    result = run("forward-call", callee=Callee(hangup_after=1.0))
    assert lines(result)[2:] == [
        ("Local/answer@callees", "1s dial_create: {endpoint: Local/answer@callees}"),
        ("Local/answer@callees", "1s dial_start: {timeout: '20'}"),
        ("bridge", "2s bridge_create: {type: mixing}"),
        ("bridge", "2s bridge_add: {channel: 'sim-0001,sim-0001-dial-1'}"),
        ("bridge", "3s bridge_destroy"),
        ("caller", "3s hangup"),
    ]


def test_a_web_request_shows_its_body_and_its_headers_names_never_their_values() -> None:
    web = [s.line(timed=False) for s in shown_web(run("caller-lookup"))]  # type: ignore[arg-type]
    assert web == [
        "GET http://127.0.0.1:8099/customers?number=: {headers: [Authorization]}",
        "POST http://127.0.0.1:8099/calls: {body: {number: '', tier: prospect, "
        "last_state: route, end_reason: flow ended it, seconds: 0.0}, headers: [Authorization]}",
    ]
    assert "demo-token" not in " ".join(web)


def test_only_the_requests_the_engine_makes_for_a_step_lose_their_ids() -> None:
    move = Request("POST", "channels/c/move", {"app": "elsewhere", "appArgs": "x"}, action="move")
    assert ari_params(move, {}) == {"app": "elsewhere", "appArgs": "x"}
    create = Request(
        "POST",
        "channels/create",
        {"endpoint": "PJSIP/a", "app": "x", "appArgs": "y", "channelId": "c-1", "originator": "c"},
        action="dial_create",
    )
    assert ari_params(create, {}) == {"endpoint": "PJSIP/a"}
