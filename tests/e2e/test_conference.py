"""The conference flow on a real Asterisk: three callers enter one PIN at once and race to
create its room; they end in one bridge, each flow hears the others come and go with the
bridge's count, # takes one out, and the last one out destroys the room. The third caller runs
another flow (another app) naming the same room: rooms are not a flow's own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Call, Runner, ari, flow_copy, lines_of, place_call, serving, wait_until
from test_local_channel import Probe

from flowrunner.steps.conference import bridge_id

TAG = uuid.uuid4().hex[:8]
APP = f"conf-e2e-{TAG}"  # apps and a room of this run only: the sandbox is shared
OTHER_APP = f"conf-e2e-{TAG}-other"
ROOM = f"e2e-{TAG}-"


@pytest.fixture(scope="module")
def runner(asterisk: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    directory = tmp_path_factory.mktemp("conference")
    room = {'room: "pin-{{': f'room: "{ROOM}{{{{'}
    flows = [flow_copy(directory, "conference", app, room) for app in (APP, OTHER_APP)]
    with serving(directory / "serve.log", *flows) as served:
        yield served


@pytest.fixture
def probe(runner: Runner) -> Iterator[Probe]:
    probe = Probe(f"{APP}-phone")
    yield probe
    probe.close()


def heard(runner: Runner, call: Call) -> list[tuple[str, int]]:
    """What the call's flow was told, with the count: (ConferenceJoined, 1) …"""
    lines = lines_of(runner, call.name, kind="action")
    return [(line["event"], line["count"]) for line in lines if "count" in line]


def transitions_of(runner: Runner, call: Call) -> list[str]:
    lines = lines_of(runner, call.name, kind="transition")
    return [f"{line['source']} -> {line['target']}" for line in lines]


def press(call: Call, keys: str) -> None:
    ari("POST", f"channels/{call.phone}/dtmf", dtmf=keys, between=150)


def statuses(runner: Runner, call: Call, action: str) -> list[Any]:
    return [line["status"] for line in lines_of(runner, call.name, kind="action", action=action)]


def room_members(bridge: str) -> list[str] | None:
    """The channels in the bridge, or None when there is no such bridge."""
    for found in ari("GET", "bridges"):
        if found["id"] == bridge:
            return list(found["channels"])
    return None


def test_three_callers_race_into_one_room_hear_each_other_and_the_last_out_ends_it(
    runner: Runner, probe: Probe
) -> None:
    calls = [place_call(APP, probe), place_call(APP, probe), place_call(OTHER_APP, probe)]
    for call in calls:
        wait_until(lambda c=call: "start -> pin" in transitions_of(runner, c), 10, "the PIN")
    pressing = [threading.Thread(target=press, args=(call, "4711")) for call in calls]
    for thread in pressing:
        thread.start()
    for thread in pressing:
        thread.join()

    def all_joined() -> bool:
        return all(any(e == "ConferenceJoined" for e, _ in heard(runner, c)) for c in calls)

    wait_until(all_joined, 20, "the three to join")
    created = [s for c in calls for s in statuses(runner, c, "room_create")]
    assert sorted(created) == [200, 409, 409]  # one made the room, the others found it
    bridge = bridge_id(f"{ROOM}4711")
    assert sorted(room_members(bridge) or []) == sorted(c.flow for c in calls)
    # each joined at a different count, and heard of everyone who came after it
    joined_at = {c.name: dict(heard(runner, c))["ConferenceJoined"] for c in calls}
    assert sorted(joined_at.values()) == [1, 2, 3]
    wait_until(
        lambda: all(len(heard(runner, c)) == 4 - joined_at[c.name] for c in calls), 5, "news"
    )
    for call in calls:
        later = [("ParticipantJoined", n) for n in range(joined_at[call.name] + 1, 4)]
        assert heard(runner, call) == [("ConferenceJoined", joined_at[call.name]), *later]

    first, second, third = sorted(calls, key=lambda c: joined_at[c.name])
    press(second, "#")  # leaves by key: goodbye, and hung up
    wait_until(lambda: "goodbye -> hang_up" in transitions_of(runner, second), 10, "goodbye")
    wait_until(
        lambda: sorted(room_members(bridge) or []) == sorted([first.flow, third.flow]), 5, "2"
    )
    ari("DELETE", f"channels/{first.phone}")  # hangs up
    wait_until(lambda: room_members(bridge) == [third.flow], 5, "the third alone")
    wait_until(lambda: heard(runner, third)[-1:] == [("ParticipantLeft", 1)], 5, "the news")
    assert heard(runner, third)[1:] == [("ParticipantLeft", 2), ("ParticipantLeft", 1)]
    assert heard(runner, first)[-1] == ("ParticipantLeft", 2)  # second's going, then it went
    press(third, "#")  # the last one out
    wait_until(lambda: room_members(bridge) is None, 10, "the room to be destroyed")
    wait_until(lambda: "goodbye -> hang_up" in transitions_of(runner, third), 10, "goodbye")
    # the third, the last out, destroyed the room; music only for who was alone, while alone
    assert [statuses(runner, c, "room_destroy") for c in (first, second, third)] == [[], [], [204]]
    assert statuses(runner, first, "room_music") == statuses(runner, first, "room_silence") == [204]
    assert statuses(runner, second, "room_music") == []
    assert statuses(runner, third, "room_music") == statuses(runner, third, "room_silence") == [204]
