"""The ring-group flow on a real Asterisk: several callees dialled at once or in order, the
first to answer (and accept, pressing 1) bridged with the caller, every other one hung up.

The callees are the sandbox's [callees] extensions, and one of our own: Local/<app>@stasis puts
its far half into a Stasis app this test drives, which answers and presses a key. The sandbox
is shared, so this file touches only what it made: its own Stasis apps (the caller's half of
each call lands in one of ours, not in `probe`) and the channels of its own calls.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import websocket
from conftest import ARI, AUTH, SECRETS, Runner, ari, flow_copy, lines_of, transitions, wait_until

RUN = uuid.uuid4().hex[:6]
TEAM = "  team: [PJSIP/alice, PJSIP/bob, PJSIP/carol]\n"
ON_CALL = "  on_call: [PJSIP/dave, PJSIP/erin]\n"
ACCEPT = (
    '          accept: {prompt: [sound:followme/call-from, sound:followme/options], digit: "1",\n'
    "                   timeout: 10s}\n"
)
GREETING = ["(start) -> greeting", "greeting -> team"]


class App:
    """A Stasis app of this test, on its own websocket: it keeps the events it gets, and as a
    callee (`press`) answers each channel that enters it and presses the key a second later."""

    def __init__(self, name: str, press: str = "") -> None:
        self.name, self.press = name, press
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:8088/ari/events?app={name}",
            header=["Authorization: Basic " + SECRETS[1]],
            timeout=1,
        )
        self.events: list[dict[str, Any]] = []
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self.running:
            try:
                event = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError):
                return
            self.events.append(event)
            if self.press and event.get("type") == "StasisStart":
                channel = event["channel"]["id"]
                threading.Thread(target=self._answer, args=(channel,), daemon=True).start()

    def _answer(self, channel: str) -> None:
        """Ring, answer after 1 s, press the key 1 s later; the channel may be gone by then."""
        for delay, action, params in [
            (0.0, "ring", {}),
            (1.0, "answer", {}),
            (1.0, "dtmf", {"dtmf": self.press}),
        ]:
            time.sleep(delay)
            url = f"{ARI}/channels/{channel}/{action}"
            if requests.post(url, params=params, auth=AUTH, timeout=10).status_code >= 400:
                return

    def entered(self, channel: str) -> bool:
        return any(
            e.get("type") == "StasisStart" and e["channel"]["id"] == channel for e in self.events
        )

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=3)
        self.ws.close()


@dataclass
class Call:
    """A call placed as a Local channel: `phone` (;1) in our app, `flow` (;2) in the flow's.
    `seen` keeps the names of its callees' Local channels, to find both halves of each."""

    phone: str
    flow: str
    name: str
    seen: set[str] = field(default_factory=set)

    def channels(self) -> list[dict[str, Any]]:
        """This call's channels still in Asterisk: the caller's, and its callees' (both
        halves: the one flowrunner made, `<flow>-dial-N`, and its far end)."""
        everything = ari("GET", "channels")
        for channel in everything:
            if channel["id"].startswith(f"{self.flow}-dial-"):
                self.seen.add(channel["name"][:-2])  # Local/answer@callees-0000001a
        return [
            c
            for c in everything
            if c["id"] in (self.phone, self.flow) or c["name"][:-2] in self.seen
        ]

    def callees(self) -> list[str]:
        """The names of the callee channels flowrunner made that are still there (their far
        halves, `<id>;2`, aside)."""
        return [
            c["name"]
            for c in self.channels()
            if c["id"].startswith(f"{self.flow}-dial-") and not c["id"].endswith(";2")
        ]

    def bridged_with(self) -> list[str]:
        """The names of the channels in a bridge with the caller."""
        for bridge in ari("GET", "bridges"):
            if self.flow in bridge["channels"]:
                others = set(bridge["channels"]) - {self.flow}
                return sorted(ari("GET", f"channels/{c}")["name"] for c in others)
        return []


@pytest.fixture(scope="module")
def sandbox_up() -> None:
    """The shared sandbox must be running: this file never starts or restarts it."""
    wait_until(lambda: ari("GET", "asterisk/info"), 10, "the sandbox Asterisk's ARI")


@pytest.fixture(scope="module")
def phone(sandbox_up: None) -> Iterator[App]:
    app = App(f"rgphone{RUN}")
    yield app
    app.close()


@pytest.fixture(scope="module")
def presser(sandbox_up: None) -> Iterator[App]:
    app = App(f"rgpress{RUN}", press="1")
    yield app
    app.close()


@pytest.fixture(scope="module")
def wrong_key(sandbox_up: None) -> Iterator[App]:
    app = App(f"rgwrong{RUN}", press="2")
    yield app
    app.close()


COPIES = {  # app -> (team, on_call, other changes)
    "all": (
        "[Local/noanswer@callees, Local/answer@callees, Local/busy@callees]",
        "[Local/busy@callees]",
        {ACCEPT: ""},
    ),
    "in-order": (
        "[Local/busy@callees]",
        "[Local/noanswer@callees, Local/answer@callees]",
        {"timeout: 15s": "timeout: 3s"},
    ),
    "accept": (
        f"[Local/answer@callees, Local/rgpress{RUN}@stasis]",
        "[Local/busy@callees]",
        {},
    ),
    "no-accept": (
        f"[Local/answer@callees, Local/rgwrong{RUN}@stasis]",
        "[Local/answer@callees]",
        {"timeout: 10s}": "timeout: 3s}"},
    ),
    "nobody": (
        "[Local/busy@callees, Local/congestion@callees]",
        "[Local/noanswer@callees]",
        {"timeout: 15s": "timeout: 2s"},
    ),
}


@pytest.fixture(scope="module")
def runner(
    sandbox_up: None, presser: App, wrong_key: App, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    directory = tmp_path_factory.mktemp("ring-group")
    copies = [
        flow_copy(
            directory,
            "ring-group",
            f"rg-{name}-{RUN}",
            {TEAM: f"  team: {team}\n", ON_CALL: f"  on_call: {on_call}\n", **changes},
        )
        for name, (team, on_call, changes) in COPIES.items()
    ]
    runner = Runner(directory / "serve.log", *copies)
    runner.wait_connected()
    yield runner
    assert runner.stop() == 0, runner.text()
    errors = [line for line in runner.lines() if line["level"] == "error"]
    assert not errors, runner.text()


def place_call(runner: Runner, phone: App, copy: str) -> Call:
    """Originate Local/<flow app>@stasis, its ;1 half into our app `phone`; return once the
    flow has answered."""
    tag = f"rg-{uuid.uuid4().hex[:8]}"
    channel = ari(
        "POST",
        "channels",
        endpoint=f"Local/rg-{copy}-{RUN}@stasis",
        app=phone.name,
        timeout=30,
        channelId=f"{tag}-phone",
        otherChannelId=f"{tag}-flow",
    )
    wait_until(lambda: phone.entered(channel["id"]), 10, f"rg-{copy} to answer")
    return Call(channel["id"], f"{tag}-flow", channel["name"][:-1] + "2")


@pytest.fixture
def call_ends(runner: Runner) -> Iterator[list[Call]]:
    """The calls a test places; after it, each must have left nothing in Asterisk (else its
    channels are hung up, and the test fails)."""
    calls: list[Call] = []
    yield calls
    for call in calls:
        try:
            wait_until(lambda c=call: not c.channels(), 15, f"no channel of {call.name} left")
        except AssertionError:
            for channel in call.channels():
                requests.delete(f"{ARI}/channels/{channel['id']}", auth=AUTH, timeout=10)
            raise


def notes(runner: Runner, call: Call) -> list[str]:
    """What the call's journal says its actions did, without the channel name before it."""
    lines = lines_of(runner, call.name, kind="action")
    return [line["message"].removeprefix(f"{call.name} ") for line in lines]


def hang_up_the_caller(runner: Runner, call: Call, state: str) -> None:
    ari("DELETE", f"channels/{call.phone}")
    wait_until(lambda: f"{state} -> ended" in transitions(runner, call.name), 10, "the end")
    wait_until(lambda: not call.channels(), 10, "every channel of the call to be gone")


def test_all_at_once_the_first_to_answer_is_bridged_and_the_others_hung_up(
    runner: Runner, phone: App, call_ends: list[Call]
) -> None:
    call = place_call(runner, phone, "all")
    call_ends.append(call)
    flow = lambda: transitions(runner, call.name)  # noqa: E731
    wait_until(lambda: "team -> connected" in flow(), 15, "a callee to answer")
    (bridged,) = call.bridged_with()
    assert bridged.startswith("Local/answer@callees-")
    assert bridged.endswith(";1")
    # busy is hung up as soon as it says so, noanswer once answer has answered
    wait_until(lambda: call.callees() == [bridged], 5, "the other callees to be hung up")
    assert flow() == [*GREETING, "team -> connected"]
    said = notes(runner, call)
    assert "Local/busy@callees: dial busy" in said
    assert "Local/noanswer@callees: dial no answer" not in said  # hung up, not timed out
    hang_up_the_caller(runner, call, "connected")


def test_in_order_the_next_callee_rings_once_the_first_did_not_answer(
    runner: Runner, phone: App, call_ends: list[Call]
) -> None:
    call = place_call(runner, phone, "in-order")
    call_ends.append(call)
    flow = lambda: transitions(runner, call.name)  # noqa: E731
    wait_until(lambda: "on_call -> connected" in flow(), 20, "the second on-call to answer")
    assert flow() == [*GREETING, "team -> on_call", "on_call -> connected"]
    (bridged,) = call.bridged_with()
    assert bridged.startswith("Local/answer@callees-")
    created = [
        line["callee"]
        for line in lines_of(runner, call.name, kind="action", action="dial_create")
        if "callee" in line
    ]
    assert created == ["Local/noanswer@callees", "Local/answer@callees"]
    # answer was called only once noanswer had rung its 3 s in vain
    lines = lines_of(runner, call.name, kind="action")
    gave_up = notes(runner, call).index("Local/noanswer@callees: dial no answer")
    answer_created = next(
        n
        for n, line in enumerate(lines)
        if line.get("action") == "dial_create" and line.get("callee") == "Local/answer@callees"
    )
    assert gave_up < answer_created
    assert call.callees() == [bridged]
    hang_up_the_caller(runner, call, "connected")


def test_a_callee_who_presses_1_is_bridged_and_the_one_still_asked_is_hung_up(
    runner: Runner, phone: App, presser: App, call_ends: list[Call]
) -> None:
    call = place_call(runner, phone, "accept")
    call_ends.append(call)
    flow = lambda: transitions(runner, call.name)  # noqa: E731
    wait_until(lambda: "team -> connected" in flow(), 15, "the pressing callee to accept")
    (bridged,) = call.bridged_with()
    assert bridged.startswith(f"Local/rgpress{RUN}@stasis-")
    # answer@callees answered first, was asked, never pressed: hung up when the other won
    wait_until(lambda: call.callees() == [bridged], 5, "the other callee to be hung up")
    said = notes(runner, call)
    assert said.count("dial_prompt ok") == 2  # both answered and heard the prompt
    assert "Local/answer@callees: dial no answer" not in said  # not its accept timeout
    assert flow() == [*GREETING, "team -> connected"]
    hang_up_the_caller(runner, call, "connected")


def test_callees_who_do_not_press_1_count_as_not_answering(
    runner: Runner, phone: App, wrong_key: App, call_ends: list[Call]
) -> None:
    call = place_call(runner, phone, "no-accept")
    call_ends.append(call)
    flow = lambda: transitions(runner, call.name)  # noqa: E731
    wait_until(lambda: "on_call -> connected" in flow(), 20, "the on-call to answer")
    assert flow() == [*GREETING, "team -> on_call", "on_call -> connected"]
    said = notes(runner, call)
    assert "Local/answer@callees: dial no answer" in said  # answered, pressed nothing
    assert f"Local/rgwrong{RUN}@stasis: dial no answer" in said  # pressed 2
    (bridged,) = call.bridged_with()
    assert bridged.startswith("Local/answer@callees-")
    assert call.callees() == [bridged]
    hang_up_the_caller(runner, call, "connected")


def test_nobody_answering_ends_the_call_and_leaves_no_channel(
    runner: Runner, phone: App, call_ends: list[Call]
) -> None:
    call = place_call(runner, phone, "nobody")
    call_ends.append(call)
    flow = lambda: transitions(runner, call.name)  # noqa: E731
    wait_until(lambda: "hang_up -> ended" in flow(), 30, "the call to end")
    assert flow() == [
        *GREETING,
        "team -> on_call",
        "on_call -> nobody",
        "nobody -> hang_up",
        "hang_up -> ended",
    ]
    (to_on_call,) = lines_of(runner, call.name, kind="transition", target="on_call")
    assert to_on_call["reason"] == "dial busy"  # busy and congestion: busy is the news
    wait_until(lambda: not call.channels(), 10, "every channel of the call to be gone")
