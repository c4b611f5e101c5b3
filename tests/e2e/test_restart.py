"""A runner killed in the middle of a call, then started again, on a real Asterisk: the call's
channel is still in the app (Asterisk keeps it in Stasis), owned by nobody. The new runner finds
it when it connects and hangs it up, so its caller is not left in silence. (Taking the call over
where it was is issue 11's work: this is what happens with no saved state.)"""

from __future__ import annotations

import signal
from pathlib import Path

import requests
from conftest import (
    ARI,
    AUTH,
    Runner,
    ari,
    assert_clean,
    channels_left,
    flow_copy,
    transitions,
    wait_until,
)
from test_local_channel import Probe


def test_a_call_left_in_the_app_by_a_killed_runner_is_hung_up_by_the_next(
    asterisk: None, tmp_path: Path
) -> None:
    first = Runner(tmp_path / "first.log", "flows/channel-state.yaml")
    first.wait_connected()
    caller = ari("POST", "channels", endpoint="Local/1000@from-trunk", app="probe", timeout=30)
    wait_until(lambda: any("ringing" in m for m in first.messages()), 5, "the call to ring")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    first.log_file.close()
    assert len(channels_left()) == 2  # the call stays, in Stasis, with nobody to drive it

    second = Runner(tmp_path / "second.log", "flows/channel-state.yaml")
    try:
        second.wait_connected()
        wait_until(lambda: not channels_left(), 10, "the orphaned call to be hung up")
        (line,) = [m for m in second.messages() if "no call of this runner owns it" in m]
        assert line.endswith("channel in the app, but no call of this runner owns it: hung up")
        assert caller["id"] not in [c["id"] for c in ari("GET", "channels")]
    finally:
        for channel in ari("GET", "channels"):  # so that a failure here fails only this test
            requests.delete(f"{ARI}/channels/{channel['id']}", auth=AUTH, timeout=10)
        assert second.stop() == 0, second.text()
    assert_clean(second)


def test_a_call_nothing_was_kept_of_starts_over_where_the_flow_says(
    asterisk: None, tmp_path: Path
) -> None:
    probe = Probe()  # where the caller's half lands once answered
    flow = flow_copy(
        tmp_path,
        "channel-state",
        "recovering",
        {"\ninitial: ringing\n": ("\ninitial: ringing\nrecovery: {goto: answered}\n")},
    )
    first = Runner(tmp_path / "first.log", flow, state=str(tmp_path / "first.db"))
    first.wait_connected()
    ari("POST", "channels", endpoint="Local/recovering@stasis", app="probe", timeout=30)
    wait_until(lambda: any("ringing" in m for m in first.messages()), 5, "the call to ring")
    first.kill()  # and its state is lost: the next runner keeps its calls elsewhere

    second = Runner(tmp_path / "second.log", flow, state=str(tmp_path / "second.db"))
    try:
        second.wait_connected()
        wait_until(lambda: not channels_left(), 15, "the call to be answered, then hung up")
        started = [line for line in second.lines() if line.get("kind") == "start"]
        assert [line["message"].split(" ", 1)[1] for line in started] == [
            "started over in answered: nothing was kept of this call (its flow's recovery)"
        ]
        assert transitions(second, started[0]["channel"])[:2] == [
            "(start) -> answered",
            "answered -> hanging_up",
        ]
    finally:
        for channel in ari("GET", "channels"):
            requests.delete(f"{ARI}/channels/{channel['id']}", auth=AUTH, timeout=10)
        probe.close()
        assert second.stop() == 0, second.text()
