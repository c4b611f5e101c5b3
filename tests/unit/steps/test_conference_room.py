"""`conference` on the real runtime, with two calls in one room: the bridge's events reach the
step of every call that owns the bridge (the core rule), and the step's counts are the bridge's
channel list as Asterisk gives it. Requests are answered by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakes import FakeContext
from test_runtime_steps import StepRig, rig_for

from flowrunner.engine.snapshot import restore, snapshot
from flowrunner.ports import Event, Response
from flowrunner.steps.conference import ConferenceStep, bridge_id

ROOM = bridge_id("r-7")
STATES = """\
  start:
    do: [{conference: {room: "r-{{ caller.number }}", max: 2, leave_on: "#"}}]
    on:
      ConferenceJoined: {goto: in_room}
      ConferenceFull: full
  in_room:
    on:
      ParticipantJoined: {when: "event.count == 2", goto: two}
      ConferenceLeft: {goto: out, when: "event.reason == 'key'"}
  two:
    on:
      ParticipantLeft: {when: "event.count == 1", goto: alone_again}
  alone_again: {}
  full: {}
  out: {}
"""


def rig(tmp_path: Path) -> StepRig:
    return rig_for(tmp_path, STATES)


def start(rig: StepRig, channel: str) -> None:
    caller = {"id": channel, "name": f"PJSIP/{channel}", "caller": {"number": "7"}}
    rig.post(type="StasisStart", application="channel-state", channel=caller)


def bridge_event(rig: StepRig, kind: str, channel: str, members: list[str]) -> None:
    who = {"id": channel, "name": f"PJSIP/{channel}", "caller": {"number": "7"}}
    rig.post(
        type=kind,
        application="channel-state",
        channel=who,
        bridge={"id": ROOM, "channels": members},
    )


def join(rig: StepRig, channel: str, members: list[str], created: int = 200) -> None:
    """The call starts, finds or creates the room, is added, and enters it."""
    start(rig, channel)
    assert rig.reply(created).path == f"bridges/{ROOM}"
    assert rig.reply(204).path == f"bridges/{ROOM}/addChannel"
    bridge_event(rig, "ChannelEnteredBridge", channel, members)


def state(rig: StepRig, channel: str) -> str:
    return rig.runtime.calls[channel].current


def counts(rig: StepRig, channel: str) -> list[Any]:
    return [
        f["count"]
        for ch, kind, _, f in rig.journal.records
        if ch == f"PJSIP/{channel}" and "count" in f
    ]


def test_the_room_is_found_or_created_by_a_hashed_id_and_the_caller_added(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    assert r.sent()[:2] == [
        f"POST bridges/{ROOM}?type=mixing&name=r-7",
        f"POST bridges/{ROOM}/addChannel?channel=c1&mute=false",
    ]
    assert ROOM.startswith("flowrunner-room-")
    assert "r-7" not in ROOM
    assert state(r, "c1") == "in_room"
    assert r.sent()[-1] == "POST channels/c1/moh?mohClass=default"  # alone: music


def test_a_participant_hears_of_the_others_with_the_bridges_count(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.reply(204)  # moh
    join(r, "c2", ["c1", "c2"], created=409)  # the room exists: c2 joins it
    assert r.reply(204).path == "channels/c1/moh"  # c1 is not alone: no more music
    assert r.transport.sent[-1].method == "DELETE"
    assert state(r, "c1") == "two"  # the bridge event of c2's channel reached c1's step
    assert state(r, "c2") == "in_room"
    bridge_event(r, "ChannelEnteredBridge", "c2", ["c1", "c2"])  # said again (another app)
    assert counts(r, "c1") == [1, 2]
    r.event("ChannelHangupRequest", "c2")
    bridge_event(r, "ChannelLeftBridge", "c2", ["c1"])
    assert state(r, "c1") == "alone_again"
    assert counts(r, "c1") == [1, 2, 1]
    assert r.sent()[-1] == "POST channels/c1/moh?mohClass=default"  # left alone: music


def test_bridge_events_reach_only_the_calls_owning_that_bridge(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.post(
        type="ChannelEnteredBridge",
        application="channel-state",
        channel={"id": "x9", "name": "PJSIP/x9"},
        bridge={"id": "another-bridge", "channels": ["c1", "x9"]},
    )
    assert state(r, "c1") == "in_room"
    assert r.runtime.bridges == {ROOM: {"c1": "conference-1"}}


def test_one_over_the_limit_leaves_again_and_gets_conference_full(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.reply(204)  # moh
    join(r, "c2", ["c1", "c2"], created=409)
    r.reply(204)  # no moh
    join(r, "c3", ["c1", "c2", "c3"], created=409)
    assert r.sent()[-1] == f"POST bridges/{ROOM}/removeChannel?channel=c3"
    bridge_event(r, "ChannelLeftBridge", "c3", ["c1", "c2"])
    assert state(r, "c3") == "full"
    assert (state(r, "c1"), state(r, "c2")) == ("two", "in_room")


def test_the_leave_key_takes_the_caller_out_and_the_last_one_out_destroys_the_room(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.reply(204)  # moh
    r.event("ChannelDtmfReceived", "c1", digit="#")
    assert r.reply(204).path == "channels/c1/moh"  # out of the room: no more music
    assert r.reply(204).path == f"bridges/{ROOM}/removeChannel"
    bridge_event(r, "ChannelLeftBridge", "c1", [])
    assert state(r, "c1") == "out"
    assert r.reply(204).method == "DELETE"
    assert r.sent()[-1] == f"DELETE bridges/{ROOM}"
    assert r.runtime.bridges == {}  # the step is over


def test_hanging_up_alone_destroys_the_room_even_if_the_call_ends_first(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])  # its moh request is in flight
    r.event("ChannelHangupRequest", "c1")
    bridge_event(r, "ChannelLeftBridge", "c1", [])
    r.event("StasisEnd", "c1")  # before the destroy was sent: it goes at once
    assert f"DELETE bridges/{ROOM}" in r.sent()
    assert r.runtime.bridges == {}
    assert not r.runtime.calls


def test_put_out_of_a_room_being_destroyed_the_caller_joins_it_again(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.reply(204)  # moh
    bridge_event(r, "ChannelLeftBridge", "c1", [])  # someone destroyed it (the last one out)
    r.reply(204)  # no more music
    assert f"DELETE bridges/{ROOM}" not in r.sent()  # it is going: not ours to destroy
    r.post(type="BridgeDestroyed", application="channel-state", bridge={"id": ROOM})
    assert r.sent()[-1] == f"POST bridges/{ROOM}?type=mixing&name=r-7"
    r.reply(200)
    assert r.sent()[-1] == f"POST bridges/{ROOM}/addChannel?channel=c1&mute=false"


def test_a_room_gone_as_the_caller_is_added_is_joined_again(tmp_path: Path) -> None:
    r = rig(tmp_path)
    start(r, "c1")
    r.reply(409)
    r.reply(404)  # destroyed between our create and our add
    assert r.sent()[-1] == f"POST bridges/{ROOM}?type=mixing&name=r-7"
    r.reply(200)
    assert r.sent()[-1] == f"POST bridges/{ROOM}/addChannel?channel=c1&mute=false"


def test_a_restored_call_still_hears_its_room(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.reply(204)
    call = r.runtime.calls.pop("c1")
    r.runtime.bridges.clear()
    data = json.loads(json.dumps(snapshot(call, r.clock)))
    r.runtime.adopt(restore(data, call.compiled, r.clock))
    bridge_event(r, "ChannelEnteredBridge", "c2", ["c1", "c2"])
    assert state(r, "c1") == "two"


def test_a_bug_in_one_participants_step_ends_that_call_only(tmp_path: Path) -> None:
    r = rig(tmp_path)
    join(r, "c1", ["c1"])
    r.reply(204)  # moh
    join(r, "c2", ["c1", "c2"], created=409)
    step = r.runtime.calls["c1"].running["conference-1"].step

    def broken(*_: Any) -> bool:
        raise RuntimeError("boom")

    step.on_event = broken  # type: ignore[method-assign]
    bridge_event(r, "ChannelLeftBridge", "c3", ["c1", "c2"])
    assert "c1" not in r.runtime.calls
    assert "c2" in r.runtime.calls


def test_hanging_up_while_joining_a_room_it_made_destroys_it_but_not_one_it_found(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    start(r, "c1")
    r.reply(200)  # made it; the add is in flight
    r.event("StasisEnd", "c1")
    assert r.sent()[-1] == f"DELETE bridges/{ROOM}"
    r = rig(tmp_path)
    start(r, "c2")
    r.reply(409)  # found it
    r.event("StasisEnd", "c2")
    assert r.sent()[-1] == f"POST bridges/{ROOM}/addChannel?channel=c2&mute=false"


def test_a_muted_join_is_added_muted_and_music_false_plays_none(tmp_path: Path) -> None:
    states = """\
  start:
    do: [{conference: {room: "r-{{ caller.number }}", muted: true, music: false}}]
    on:
      ConferenceJoined: in_room
  in_room: {}
"""
    r = rig_for(tmp_path, states)
    join(r, "c1", ["c1"])
    assert r.sent() == [
        f"POST bridges/{ROOM}?type=mixing&name=r-7",
        f"POST bridges/{ROOM}/addChannel?channel=c1&mute=true",
    ]
    assert state(r, "c1") == "in_room"


def test_an_event_names_the_bridge_it_concerns() -> None:
    event = Event.from_ari({"type": "BridgeDestroyed", "bridge": {"id": "b1", "channels": []}})
    assert event is not None
    assert (event.bridge, event.channel) == ("b1", "")
    odd = Event.from_ari({"type": "ChannelEnteredBridge", "bridge": "b1"})
    assert odd is not None
    assert odd.bridge == ""


def test_a_runner_back_after_a_while_asks_who_is_in_the_room_and_joins_a_room_gone() -> None:
    ctx = FakeContext(channel="c1")
    step = ConferenceStep("conference", "r-7", bridge=ROOM, phase="in", members=["c1", "c2"])
    step.on_resume(ctx)
    assert [(r.method, r.path, tag) for r, tag in ctx.sent] == [("GET", f"bridges/{ROOM}", "check")]
    step.on_reply(ctx, "check", Response(200, {"channels": ["c1", "c2", "c3"]}))
    assert step.count == 3
    step.on_reply(ctx, "check", Response(404))
    assert [r.action for r, _ in ctx.sent[1:]] == ["room_create", "room_add"]
