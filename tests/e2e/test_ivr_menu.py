"""The ivr-menu flow on a real Asterisk: DTMF sent over ARI to the caller's half of a Local
channel arrives at the flow as ChannelDtmfReceived."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Runner, ari, channels_left, transitions, wait_until
from test_local_channel import Probe


@pytest.fixture
def ivr(asterisk: None, tmp_path: Path) -> Iterator[Runner]:
    runner = Runner(tmp_path / "serve.log", "flows/ivr-menu.yaml")
    runner.wait_connected()
    yield runner
    assert runner.stop() == 0, runner.text()
    wait_until(lambda: not channels_left(), 15, "no channel left in Asterisk")


def call_ivr(probe: Probe) -> str:
    """Originate into the ivr-menu app; return the caller half's channel id once answered."""
    caller = ari("POST", "channels", endpoint="Local/ivr-menu@stasis", app="probe", timeout=30)
    wait_until(lambda: probe.first("StasisStart"), 5, "the IVR to answer")
    return str(caller["id"])


def test_pressing_1_in_the_menu_continues_in_the_dialplan_as_sales(ivr: Runner) -> None:
    probe = Probe()
    try:
        caller = call_ivr(probe)
        wait_until(
            lambda: transitions(ivr, "Local/ivr-menu")[-1:] == ["greeting -> menu"], 10, "the menu"
        )
        ari("POST", f"channels/{caller}/dtmf", dtmf="1")
        wait_until(lambda: "sales -> ended" in transitions(ivr, "Local/ivr-menu"), 5, "sales")
        ivr_side = next(c for c in ari("GET", "channels") if c["name"].endswith(";2"))
        choice = ari("GET", f"channels/{ivr_side['id']}/variable", variable="IVR_CHOICE")
        assert choice["value"] == "sales"
        assert ivr_side["dialplan"]["exten"] == "2000"  # continued in the dialplan
        ari("DELETE", f"channels/{caller}")
    finally:
        probe.close()
    assert transitions(ivr, "Local/ivr-menu") == [
        "(start) -> greeting",
        "greeting -> menu",
        "menu -> sales",
        "sales -> ended",
    ]


def test_star_during_the_greeting_reaches_the_operator_then_goodbye(ivr: Runner) -> None:
    probe = Probe()
    try:
        caller = call_ivr(probe)
        ari("POST", f"channels/{caller}/dtmf", dtmf="*")
        wait_until(lambda: probe.first("StasisEnd"), 20, "the IVR to hang up")
    finally:
        probe.close()
    assert transitions(ivr, "Local/ivr-menu") == [
        "(start) -> greeting",
        "greeting -> operator",
        "operator -> goodbye",
        "goodbye -> hang_up",
        "hang_up -> ended",
    ]
    plays = [line for line in ivr.lines() if line.get("action") == "play"]
    assert len(plays) == 3  # hello-world, transfer, goodbye: each answered 201 by Asterisk
    assert all(line["status"] == 201 for line in plays)
