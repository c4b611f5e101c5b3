"""The ivr-menu flow on a real Asterisk: DTMF sent over ARI to the caller's half of a Local
channel arrives at the flow as ChannelDtmfReceived. The menu is a `collect` step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    Call,
    Runner,
    ari,
    clean_call,
    lines_of,
    place_call,
    serving,
    transitions,
    wait_until,
)
from test_local_channel import Probe


@pytest.fixture(scope="module")
def ivr_runner(asterisk: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with serving(tmp_path_factory.mktemp("ivr-menu") / "serve.log", "flows/ivr-menu.yaml") as r:
        yield r


@pytest.fixture
def ivr(ivr_runner: Runner) -> Iterator[Runner]:
    """The module's `flowrunner serve`; each test leaves no channel and no error line."""
    with clean_call(ivr_runner):
        yield ivr_runner


@pytest.fixture
def probe(ivr: Runner) -> Iterator[Probe]:
    probe = Probe()
    yield probe
    probe.close()


def press(call: Call, key: str) -> None:
    ari("POST", f"channels/{call.phone}/dtmf", dtmf=key)


def wait_for_the_menu(ivr: Runner, call: Call) -> None:
    wait_until(lambda: transitions(ivr, call.name)[-1:] == ["greeting -> menu"], 10, "the menu")


def continued_as(call: Call) -> tuple[str, str]:
    """IVR_CHOICE and the extension of the flow's half, once it continued in the dialplan."""
    choice = ari("GET", f"channels/{call.flow}/variable", variable="IVR_CHOICE")["value"]
    return choice, ari("GET", f"channels/{call.flow}")["dialplan"]["exten"]


def statuses(ivr: Runner, call: Call, action: str) -> list[Any]:
    return [line["status"] for line in lines_of(ivr, call.name, kind="action", action=action)]


def test_pressing_1_in_the_menu_continues_in_the_dialplan_as_sales(
    ivr: Runner, probe: Probe
) -> None:
    call = place_call("ivr-menu", probe)
    wait_for_the_menu(ivr, call)
    press(call, "1")
    wait_until(lambda: "sales -> ended" in transitions(ivr, call.name), 5, "sales")
    assert continued_as(call) == ("sales", "2000")  # continued in the dialplan
    ari("DELETE", f"channels/{call.phone}")
    assert transitions(ivr, call.name) == [
        "(start) -> greeting",
        "greeting -> menu",
        "menu -> sales",
        "sales -> ended",
    ]


def test_star_during_the_greeting_reaches_the_operator_then_goodbye(
    ivr: Runner, probe: Probe
) -> None:
    call = place_call("ivr-menu", probe)
    press(call, "*")
    wait_until(lambda: probe.first("StasisEnd"), 20, "the IVR to hang up")
    wait_until(lambda: "hang_up -> ended" in transitions(ivr, call.name), 2, "the flow to end")
    assert transitions(ivr, call.name) == [
        "(start) -> greeting",
        "greeting -> operator",
        "operator -> goodbye",
        "goodbye -> hang_up",
        "hang_up -> ended",
    ]
    # hello-world, transfer, goodbye: each answered 201 by Asterisk
    assert statuses(ivr, call, "play") == [201, 201, 201]


def test_a_wrong_key_gets_the_retry_prompt_then_2_goes_to_support(
    ivr: Runner, probe: Probe
) -> None:
    call = place_call("ivr-menu", probe)
    wait_for_the_menu(ivr, call)
    press(call, "7")

    def retrying() -> list[dict[str, Any]]:
        return lines_of(ivr, call.name, message=f"{call.name} collect: no match, retrying")

    wait_until(retrying, 3, "the menu to retry")
    since = retrying()[0]["time"]

    def retry_prompt_moved_on() -> bool:
        # The retry prompt is one playback of two sounds, pbx-invalid then the menu: it moves
        # on to the menu (PlaybackContinuing) once pbx-invalid has played.
        events = lines_of(ivr, call.name, kind="event", event="PlaybackContinuing")
        return any(line["time"] >= since for line in events)

    wait_until(retry_prompt_moved_on, 5, "the retry prompt to be played")
    press(call, "2")
    wait_until(lambda: "support -> ended" in transitions(ivr, call.name), 5, "support")
    assert continued_as(call) == ("support", "2000")
    ari("DELETE", f"channels/{call.phone}")
    assert transitions(ivr, call.name) == [
        "(start) -> greeting",
        "greeting -> menu",
        "menu -> support",
        "support -> ended",
    ]
    assert statuses(ivr, call, "play") == [201, 201, 201]  # hello-world, menu, retry prompt
    assert statuses(ivr, call, "stop_playback") == [204, 204]  # each key stopped a prompt
