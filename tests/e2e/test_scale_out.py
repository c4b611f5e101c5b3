"""`serve --listen` on a real Asterisk: Asterisk connects out to the runners (ARI outbound
WebSockets, scripts/asterisk/etc/ari.conf and websocket_client.conf): one persistent connection,
or one per call; two runners behind HAProxy share the calls, and when one is killed (`kill -9`)
under 10 calls/s, no call is lost: each finishes its flow (another runner adopts it, through the
shared Redis) or continues in the dialplan (the documented fallback).

The calls enter through the context `scaleout`, which this module adds to the sandbox's dialplan
at run time (`dialplan add extension`, so that the shared sandbox is never restarted for it):
Stasis(app), then, if the app gives the channel back (STASISSTATUS FAILED: no runner took its
connection), Stasis(scaleout-probe,fallback,...), where the test sees it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    SANDBOX_DIR,
    Runner,
    ari,
    assert_clean,
    asterisk_may_crash,
    flow_copy,
    sandbox,
    wait_until,
)
from haproxy_server import haproxy
from redis_server import redis_server
from test_local_channel import Probe

PERSISTENT, PER_CALL = "scaleout-persistent", "scaleout-per-call"  # ari.conf's apps
PERSISTENT_PORT, PER_CALL_PORT = 18095, 18096  # websocket_client.conf's URIs
RUNNER_PORTS = [18097, 18098]  # behind HAProxy on PER_CALL_PORT
PROBE = "scaleout-probe"
# Seen once in 24 runs of the kill test (2026-12-07): a segfault at address 8 in
# ast_iostream_set_timeout_sequence, a NULL stream, as the killed runner's connections dropped
DROP_CRASH = (
    "Asterisk 22.10.1 can segfault as per-call outbound WebSockets drop (a NULL stream in "
    "ast_iostream_set_timeout_sequence; docs/scale-out.md)"
)
DIALPLAN = (
    "_[a-z].,1,Stasis(${EXTEN})",
    f"_[a-z].,2,Stasis({PROBE},fallback,${{STASISSTATUS}})",
    "_[a-z].,3,Hangup()",
)


@pytest.fixture
def dialplan(asterisk: None) -> None:
    """Each test (a dialplan reload or a restart of the shared sandbox drops it)."""
    assert SANDBOX_DIR.exists()
    for line in DIALPLAN:
        sandbox("cli", f"dialplan add extension {line} into scaleout replace")


@pytest.fixture
def probe(dialplan: None) -> Iterator[Probe]:
    probe = Probe(PROBE)
    yield probe
    probe.close()


@pytest.fixture
def runners() -> Iterator[list[Runner]]:
    started: list[Runner] = []
    yield started
    for runner in started:
        if runner.process.poll() is None:
            runner.stop()


def listen(runners: list[Runner], log: Path, flow: str, port: int, state: str = "") -> Runner:
    runner = Runner(log, flow, state=state, options=("--listen", f"127.0.0.1:{port}"))
    runners.append(runner)

    def listening() -> bool:
        assert runner.process.poll() is None, "flowrunner serve exited:\n" + runner.text()
        return any(m.startswith("listening on ") for m in runner.messages())

    wait_until(listening, 30, "flowrunner to listen")
    return runner


def call(app: str) -> dict[str, Any]:
    """A Local channel into `app` through the scaleout context; its ;1 half (the phone) lands in
    the probe's app when the flow answers."""
    tag = uuid.uuid4().hex[:8]
    return dict(
        ari(
            "POST",
            "channels",
            endpoint=f"Local/{app}@scaleout",
            app=PROBE,
            timeout=30,
            channelId=f"so-{tag}-phone",
            otherChannelId=f"so-{tag}-flow",
        )
    )


def flow_half(phone: dict[str, Any]) -> str:
    return str(phone["name"][:-1] + "2")


def finished(runner: Runner, channel: str) -> bool:
    """The call reached its flow's final state (the hangup's answer, or StasisEnd, first)."""
    return any(
        line.get("channel") == channel
        and line.get("kind") == "end"
        and " in ended: " in line["message"]
        for line in runner.lines()
    )


def fell_back(probe: Probe, channel: str) -> bool:
    return any(
        event.get("type") == "StasisStart"
        and event["channel"]["name"] == channel
        and event.get("args", [])[:1] == ["fallback"]
        for _, event in list(probe.events)
    )


def hung_up(probe: Probe, phone: dict[str, Any]) -> bool:
    return any(
        event.get("type") == "StasisEnd" and event["channel"]["id"] == phone["id"]
        for _, event in list(probe.events)
    )


def left_over() -> list[str]:
    return [c["name"] for c in ari("GET", "channels") if c["name"].startswith("Local/scaleout")]


def test_one_persistent_connection_serves_the_calls(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = flow_copy(tmp_path, "channel-state", PERSISTENT)
    runner = listen(runners, tmp_path / "serve.log", flow, PERSISTENT_PORT, "none")
    wait_until(
        lambda: any(m.startswith("Asterisk connected from ") for m in runner.messages()),
        15,
        "Asterisk to connect (it retries every second)",
    )
    phones = [call(PERSISTENT) for _ in range(3)]
    wait_until(lambda: all(finished(runner, flow_half(p)) for p in phones), 15, "the flows")
    wait_until(lambda: all(hung_up(probe, p) for p in phones), 5, "the callers to be hung up")
    assert runner.stop() == 0
    assert_clean(runner)


def test_each_call_brings_its_own_connection(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = flow_copy(tmp_path, "channel-state", PER_CALL)
    runner = listen(runners, tmp_path / "serve.log", flow, PER_CALL_PORT, "none")
    phones = [call(PER_CALL) for _ in range(3)]
    wait_until(lambda: all(finished(runner, flow_half(p)) for p in phones), 15, "the flows")
    wait_until(lambda: all(hung_up(probe, p) for p in phones), 5, "the callers to be hung up")
    assert not any(fell_back(probe, flow_half(p)) for p in phones)
    assert runner.stop() == 0
    assert_clean(runner)


def test_with_no_runner_a_per_call_call_continues_in_the_dialplan(probe: Probe) -> None:
    phone = call(PER_CALL)
    wait_until(lambda: fell_back(probe, flow_half(phone)), 15, "the dialplan's fallback")
    event = next(e for _, e in probe.events if e.get("args", [])[:1] == ["fallback"])
    assert event["args"] == ["fallback", "FAILED"]
    ari("DELETE", f"channels/{phone['id']}")  # both halves of the Local channel go
    wait_until(lambda: not left_over(), 10, "the channels to go")


def test_two_runners_behind_haproxy_share_the_calls(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = flow_copy(tmp_path, "channel-state", PER_CALL)
    first, second = (
        listen(runners, tmp_path / f"serve-{port}.log", flow, port, "none") for port in RUNNER_PORTS
    )
    with haproxy(tmp_path, PER_CALL_PORT, RUNNER_PORTS):  # once they listen: both are up
        phones = [call(PER_CALL) for _ in range(6)]
        wait_until(lambda: all(hung_up(probe, p) for p in phones), 20, "the calls to end")

    def served() -> list[int]:
        return [sum(finished(r, flow_half(p)) for p in phones) for r in (first, second)]

    wait_until(lambda: sum(served()) == 6, 5, "each flow to finish")
    assert all(served()), f"both runners serve calls: {served()}"
    for runner in (first, second):
        assert runner.stop() == 0
        assert_clean(runner)


def test_a_runner_killed_under_10_calls_a_second_loses_no_call(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = flow_copy(tmp_path, "channel-state", PER_CALL)
    with redis_server(tmp_path) as url:
        doomed, survivor = (
            listen(runners, tmp_path / f"serve-{port}.log", flow, port, url)
            for port in RUNNER_PORTS
        )
        with haproxy(tmp_path, PER_CALL_PORT, RUNNER_PORTS), asterisk_may_crash(DROP_CRASH):
            killed_under_load(probe, doomed, survivor)
    adopted = [m for m in survivor.messages() if " taken over in " in m]
    print(f"{len(adopted)} calls adopted")
    assert adopted, "the survivor adopted the killed runner's calls"
    assert survivor.stop() == 0
    assert_clean(survivor)


def killed_under_load(probe: Probe, doomed: Runner, survivor: Runner) -> None:
    """50 calls at 10 calls/s, each a 6 s flow; `doomed` killed after the 25th: each call
    finishes its flow on one of them, or continues in the dialplan."""
    phones, started = [], time.monotonic()
    for n in range(50):  # 10 calls/s for 5 s, each a 6 s flow
        wait = started + n / 10 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if n == 25:
            doomed.kill()
        phones.append(call(PER_CALL))
    channels = [flow_half(p) for p in phones]

    def over(channel: str) -> bool:
        return finished(survivor, channel) or finished(doomed, channel) or fell_back(probe, channel)

    wait_until(lambda: all(over(ch) for ch in channels), 60, "every call to end")
    for phone in phones:  # the dialplan gave these back: hang them up
        if fell_back(probe, flow_half(phone)):
            ari("DELETE", f"channels/{phone['id']}")
    wait_until(lambda: not left_over(), 20, "no channel left")
    fallbacks = [ch for ch in channels if fell_back(probe, ch)]
    print(f"{len(fallbacks)} of {len(phones)} calls back in the dialplan")
