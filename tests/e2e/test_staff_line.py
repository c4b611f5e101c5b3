"""The staff-line flow on a real Asterisk: two pieces (PIN entry, goodbye) run as its own states,
the PIN entered with real DTMF; the PIN never reaches the log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Call, Runner, ari, place_call, probing, serving, transitions, wait_until
from test_local_channel import Probe

PIN = "4321"  # the flow's staff_pin


@pytest.fixture(scope="module")
def staff_runner(asterisk: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    log = tmp_path_factory.mktemp("staff-line") / "serve.log"
    with serving(log, "flows/staff-line.yaml") as runner:
        yield runner
    assert PIN not in runner.text()


@pytest.fixture
def probe(staff_runner: Runner) -> Iterator[Probe]:
    with probing(staff_runner) as probe:
        yield probe


def enter(call: Call, keys: str) -> None:
    ari("POST", f"channels/{call.phone}/dtmf", dtmf=keys, between=100)


def asked(runner: Runner, call: Call, times: int) -> None:
    flow = lambda: transitions(runner, call.name)  # noqa: E731
    wait_until(
        lambda: flow().count("pin -> pin__ask") + flow().count("pin__wrong -> pin__ask") >= times,
        10,
        f"PIN prompt {times}",
    )


def test_the_right_pin_reaches_the_desk(staff_runner: Runner, probe: Probe) -> None:
    call = place_call("staff-line", probe)
    asked(staff_runner, call, 1)
    enter(call, PIN + "#")
    wait_until(lambda: "desk -> ended" in transitions(staff_runner, call.name), 10, "the desk")
    desk = ari("GET", f"channels/{call.flow}/variable", variable="STAFF_DESK")["value"]
    ari("DELETE", f"channels/{call.phone}")
    assert desk == "yes"
    assert transitions(staff_runner, call.name) == [
        "(start) -> welcome",
        "welcome -> pin",
        "pin -> pin__ask",
        "pin__ask -> desk",
        "desk -> ended",
    ]


def test_two_wrong_pins_say_goodbye_and_hang_up(staff_runner: Runner, probe: Probe) -> None:
    call = place_call("staff-line", probe)
    asked(staff_runner, call, 1)
    enter(call, "1111#")
    asked(staff_runner, call, 2)
    enter(call, "2222#")
    wait_until(lambda: probe.first("StasisEnd"), 20, "the flow to hang up")
    flow = lambda: transitions(staff_runner, call.name)  # noqa: E731
    wait_until(lambda: flow()[-1:] == ["goodbye__hanging_up -> ended"], 5, "the flow to end")
    assert flow() == [
        "(start) -> welcome",
        "welcome -> pin",
        "pin -> pin__ask",
        "pin__ask -> pin__wrong",
        "pin__wrong -> pin__ask",
        "pin__ask -> goodbye",
        "goodbye -> goodbye__saying",
        "goodbye__saying -> goodbye__hanging_up",
        "goodbye__hanging_up -> ended",
    ]
