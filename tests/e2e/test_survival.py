"""Calls outlive the runner, on a real Asterisk: a runner killed mid-call (`kill -9`), then
started again on the same kept state, takes its calls over and they go on where they were;
with Redis, another runner does. Also: a flow reloaded on SIGHUP while calls run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Runner,
    ari,
    assert_clean,
    channels_left,
    flow_copy,
    lines_of,
    place_call,
    transitions,
    wait_until,
)
from redis_server import redis_server
from test_local_channel import Probe

from flowrunner.cli import build_parser


@pytest.fixture
def probe(asterisk: None) -> Iterator[Probe]:
    probe = Probe()
    yield probe
    probe.close()
    for channel in ari("GET", "channels"):  # a failed test leaves nothing for the next one
        ari("DELETE", f"channels/{channel['id']}")


@pytest.fixture
def runners(tmp_path: Path) -> Iterator[list[Runner]]:
    """The runners a test starts: each is stopped at the end if it is still running."""
    started: list[Runner] = []
    yield started
    for runner in started:
        if runner.process.poll() is None:
            runner.stop()


def start(runners: list[Runner], tmp_path: Path, *flows: str, state: str) -> Runner:
    runner = Runner(tmp_path / f"runner-{len(runners) + 1}.log", *flows, state=state)
    runners.append(runner)
    runner.wait_connected()
    return runner


def kill_once_kept(runner: Runner) -> None:
    """`kill -9` once what the runner logged is kept: a change is written --keep-within after
    it (a runner killed sooner loses that step, and the next one learns it from Asterisk)."""
    keep_within_ms = build_parser().parse_args(["serve", "flows"]).keep_within
    time.sleep(keep_within_ms / 1000 + 0.25)
    runner.kill()


def took_over(runner: Runner, call: str) -> list[str]:
    return [m for m in runner.messages() if m.startswith(f"{call} taken over in ")]


def test_killed_at_3s_and_started_again_at_4s_every_caller_is_hung_up_at_6s(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    state = str(tmp_path / "calls.db")
    first = start(runners, tmp_path, "flows/channel-state.yaml", state=state)
    started = time.monotonic()
    calls = [
        ari("POST", "channels", endpoint="Local/1000@from-trunk", app="probe", timeout=30)
        for _ in range(3)
    ]
    time.sleep(3.0 - (time.monotonic() - started))
    first.kill()
    time.sleep(4.0 - (time.monotonic() - started))
    second = start(runners, tmp_path, "flows/channel-state.yaml", state=state)

    def hung_up(channel: dict[str, Any]) -> float | None:
        ended = [t for t, e in probe.events if e.get("type") == "StasisEnd"]
        ids = [e["channel"]["id"] for _, e in probe.events if e.get("type") == "StasisEnd"]
        return ended[ids.index(channel["id"])] if channel["id"] in ids else None

    wait_until(lambda: all(hung_up(c) for c in calls), 10, "every caller to be hung up")
    for channel in calls:
        at = hung_up(channel)
        assert at is not None
        # the 4 s timer of `answered` ran on from its deadline: never early, and well before
        # the 8 s a timer started afresh by the second runner would give
        assert 5.95 < at - started < 7.5, at - started
    taken = [m for m in second.messages() if " taken over in answered " in m]
    assert len(taken) == 3
    wait_until(lambda: not channels_left(), 5, "no channel left")
    assert second.stop() == 0
    assert_clean(second)


def test_a_greeting_that_finished_while_no_runner_listened_still_leads_to_the_menu(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    state = str(tmp_path / "calls.db")
    first = start(runners, tmp_path, "flows/ivr-menu.yaml", state=state)
    call = place_call("ivr-menu", probe)
    wait_until(lambda: "play ok" in " ".join(first.messages()), 5, "the greeting to play")
    kill_once_kept(first)
    time.sleep(3.0)  # hello-world (about 1 s) ends while nobody listens: its event is lost
    second = start(runners, tmp_path, "flows/ivr-menu.yaml", state=state)
    wait_until(lambda: "greeting -> menu" in transitions(second, call.name), 10, "the menu")
    assert took_over(second, call.name)[0].startswith(f"{call.name} taken over in greeting")
    ari("POST", f"channels/{call.phone}/dtmf", dtmf="1")  # and the menu takes keys again
    wait_until(lambda: "menu -> sales" in transitions(second, call.name), 10, "sales")
    ari("DELETE", f"channels/{call.phone}")
    wait_until(lambda: not channels_left(), 10, "no channel left")
    assert second.stop() == 0
    assert_clean(second)


def test_a_restart_during_the_menu_prompt_keeps_the_menu_and_the_keys_after_it_count(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    state = str(tmp_path / "calls.db")
    first = start(runners, tmp_path, "flows/ivr-menu.yaml", state=state)
    call = place_call("ivr-menu", probe)
    wait_until(lambda: "greeting -> menu" in transitions(first, call.name), 10, "the menu")
    kill_once_kept(first)  # the menu's prompt (a long sound) goes on playing
    second = start(runners, tmp_path, "flows/ivr-menu.yaml", state=state)
    wait_until(lambda: took_over(second, call.name), 5, "the call to be taken over")
    assert took_over(second, call.name)[0].startswith(f"{call.name} taken over in menu")
    ari("POST", f"channels/{call.phone}/dtmf", dtmf="2")
    # support sets IVR_CHOICE, then continues in the dialplan: StasisEnd, once it is set
    wait_until(lambda: "support -> ended" in transitions(second, call.name), 10, "support")
    assert ari("GET", f"channels/{call.flow}/variable", variable="IVR_CHOICE")["value"] == (
        "support"
    )
    ari("DELETE", f"channels/{call.phone}")
    wait_until(lambda: not channels_left(), 10, "no channel left")
    assert second.stop() == 0
    assert_clean(second)


def forward(tmp_path: Path, app: str, target: str) -> str:
    return flow_copy(
        tmp_path, "forward-call", app, {"forward_to: Local/answer@callees": f"forward_to: {target}"}
    )


def test_a_restart_while_the_callee_rings_still_hears_how_the_dial_ends(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = forward(tmp_path, "forward-ringing", "Local/noanswer@callees")
    flow_text = Path(flow).read_text().replace("timeout: 20s", "timeout: 6s")
    Path(flow).write_text(flow_text)
    state = str(tmp_path / "calls.db")
    first = start(runners, tmp_path, flow, state=state)
    call = place_call("forward-ringing", probe)
    wait_until(lambda: "dial_start ok" in " ".join(first.messages()), 10, "the callee to ring")
    kill_once_kept(first)
    second = start(runners, tmp_path, flow, state=state)
    # Asterisk's dial timeout ends the ringing: the new runner hears it and says why
    wait_until(lambda: "dialing -> no_answer" in transitions(second, call.name), 15, "no answer")
    wait_until(lambda: not channels_left(), 15, "no channel left")
    assert second.stop() == 0
    assert_clean(second)


def test_a_restart_while_bridged_keeps_the_bridge_and_the_callee_hanging_up_ends_it(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = forward(tmp_path, "forward-bridged", "Local/answer@callees")
    state = str(tmp_path / "calls.db")
    first = start(runners, tmp_path, flow, state=state)
    call = place_call("forward-bridged", probe)
    wait_until(lambda: "dialing -> connected" in transitions(first, call.name), 15, "a bridge")
    (bridge,) = ari("GET", "bridges")
    kill_once_kept(first)
    second = start(runners, tmp_path, flow, state=state)
    wait_until(lambda: took_over(second, call.name), 5, "the call to be taken over")
    (still,) = ari("GET", "bridges")
    assert (still["id"], sorted(still["channels"])) == (bridge["id"], sorted(bridge["channels"]))
    callee = next(c for c in ari("GET", "channels") if c["name"].startswith("Local/answer@"))
    other_half = callee["name"][:-1] + ("2" if callee["name"].endswith("1") else "1")
    hang_up = next(c for c in ari("GET", "channels") if c["name"] == other_half)
    ari("DELETE", f"channels/{hang_up['id']}")  # the callee hangs up
    wait_until(lambda: "connected -> hang_up" in transitions(second, call.name), 10, "hang up")
    reason = lines_of(second, call.name, kind="transition", target="hang_up")[0]["reason"]
    assert reason == "callee hung up"
    wait_until(lambda: not channels_left() and not ari("GET", "bridges"), 10, "all gone")
    assert second.stop() == 0
    assert_clean(second)


def test_with_redis_another_runner_takes_over_the_calls_of_one_killed(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    with redis_server(tmp_path) as url:
        first = start(runners, tmp_path, "flows/channel-state.yaml", state=url)
        started = time.monotonic()
        caller = ari("POST", "channels", endpoint="Local/1000@from-trunk", app="probe", timeout=30)
        time.sleep(3.0)
        first.kill()
        second = start(runners, tmp_path, "flows/channel-state.yaml", state=url)
        wait_until(lambda: probe.first("StasisEnd"), 10, "the caller to be hung up")
        hung_up = probe.first("StasisEnd")
        assert hung_up is not None
        assert 5.95 < hung_up - started < 7.0
        assert [m for m in second.messages() if " taken over in answered " in m]
        assert caller["id"] not in [c["id"] for c in ari("GET", "channels")]
        assert second.stop() == 0
        assert_clean(second)


def test_sighup_reloads_the_flow_calls_in_progress_finish_on_their_version(
    probe: Probe, runners: list[Runner], tmp_path: Path
) -> None:
    flow = flow_copy(tmp_path, "channel-state", "reloaded")
    runner = start(runners, tmp_path, flow, state=str(tmp_path / "calls.db"))
    started = time.monotonic()
    first = ari("POST", "channels", endpoint="Local/reloaded@stasis", app="probe", timeout=30)
    wait_until(lambda: probe.first("StasisStart"), 5, "the first call to be answered")
    Path(flow).write_text(Path(flow).read_text().replace("4s: hanging_up", "1s: hanging_up"))
    runner.process.send_signal(1)  # SIGHUP
    wait_until(lambda: any("new calls run" in m for m in runner.messages()), 5, "the reload")
    second = ari("POST", "channels", endpoint="Local/reloaded@stasis", app="probe", timeout=30)
    second_started = time.monotonic()

    def ended(channel: dict[str, Any]) -> float | None:
        for at, event in probe.events:
            if event.get("type") == "StasisEnd" and event["channel"]["id"] == channel["id"]:
                return at
        return None

    wait_until(lambda: ended(first) and ended(second), 15, "both calls to end")
    first_end, second_end = ended(first), ended(second)
    assert first_end is not None
    assert second_end is not None
    assert 5.95 < first_end - started < 7.0  # the old version: 2 s, then 4 s
    assert 2.95 < second_end - second_started < 4.5  # the new one: 2 s, then 1 s
    versions = [line["version"] for line in runner.lines() if line.get("kind") == "start"]
    assert len(set(versions)) == 2

    Path(flow).write_text("version: 1\napp: reloaded\nstates: {broken\n")
    runner.process.send_signal(1)
    wait_until(
        lambda: any("the flows served are unchanged" in m for m in runner.messages()), 5, "refusal"
    )
    assert any(m.startswith("reload refused: ") for m in runner.messages())
    third = ari("POST", "channels", endpoint="Local/reloaded@stasis", app="probe", timeout=30)
    wait_until(lambda: ended(third), 10, "the third call to end, on the last good version")
    versions = [line["version"] for line in runner.lines() if line.get("kind") == "start"]
    assert versions[-1] == versions[-2]
    assert runner.stop() == 0
    errors = [line for line in runner.lines() if line["level"] == "error"]
    assert all(
        line["message"].startswith(("reload refused", "the flows served")) for line in errors
    )
