"""One runner, two Asterisk servers (repeatable `--ari-url`): each call's requests go to the
server its channel came from, and one server's restart never ends the other's calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    ARI,
    SANDBOX_DIR,
    Runner,
    ari,
    assert_clean,
    channels_left,
    transitions,
    wait_until,
)
from second_asterisk import ARI as SECOND_ARI
from second_asterisk import SecondAsterisk

FIRST, SECOND = ARI, SECOND_ARI
# Both dialplans send either extension to the flow. Each server numbers its Local channels from
# 0, and the log names a call by its channel's name: a different extension on each server keeps
# the names apart.
ON_FIRST, ON_SECOND = "Local/channel-state@stasis", "Local/1000@from-trunk"
FINISHED = [
    "(start) -> ringing",
    "ringing -> answered",
    "answered -> hanging_up",
    "hanging_up -> ended",
]


@pytest.fixture(scope="module")
def second(asterisk: None) -> Iterator[SecondAsterisk]:
    server = SecondAsterisk(SANDBOX_DIR)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def both(second: SecondAsterisk, tmp_path: Path) -> Iterator[Runner]:
    urls = ("--ari-url", FIRST.removesuffix("/ari"), "--ari-url", SECOND.removesuffix("/ari"))
    runner = Runner(tmp_path / "serve.log", "flows/channel-state.yaml", options=urls)
    try:
        runner.wait_connected(times=2)
        yield runner
    finally:
        code = runner.stop()
    assert code == 0, runner.text()
    assert_clean(runner)
    for server in (FIRST, SECOND):
        wait_until(lambda s=server: not channels_left(s), 15, f"no channels left at {server}")


def call(server: str, endpoint: str) -> str:
    """A Local channel whose ;2 half enters the flow's app on `server`, and whose ;1 half waits
    in the dialplan; returns the ;2 half's name."""
    tag = f"call-{uuid.uuid4().hex[:8]}"
    phone = ari(
        "POST",
        "channels",
        server,
        endpoint=endpoint,
        context="callees",
        extension="answer",
        channelId=f"{tag}-phone",
        otherChannelId=f"{tag}-flow",
        timeout=30,
    )
    return str(phone["name"][:-1] + "2")


def finished(runner: Runner, channel: str) -> bool:
    return transitions(runner, channel) == FINISHED


def test_each_server_runs_its_own_calls(both: Runner) -> None:
    first, second = call(FIRST, ON_FIRST), call(SECOND, ON_SECOND)
    for channel in (first, second):
        wait_until(lambda c=channel: finished(both, c), 30, f"{channel} to run its flow")
    # Each request went to the server that has the channel: on the other one, a request for
    # it would have failed ("Channel not found"), and `both` finds no error in the log.


def test_a_server_restart_leaves_the_other_servers_calls_alone(
    both: Runner, second: SecondAsterisk
) -> None:
    first = call(FIRST, ON_FIRST)
    wait_until(lambda: "ringing -> answered" in transitions(both, first), 30, "the call answered")
    second.stop()
    second.start()
    wait_until(lambda: finished(both, first), 30, f"{first} to run its flow")
    both.wait_connected(times=3)  # the runner is back on the second server
    again = call(SECOND, ON_SECOND)
    wait_until(lambda: finished(both, again), 30, f"{again} to run its flow")
