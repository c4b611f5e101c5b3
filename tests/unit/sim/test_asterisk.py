"""The simulated Asterisk answers as the sandbox's Asterisk 22 does: it reads what a request is
from the request itself, a stopped playback ends once, and a hangup reports its reason's cause."""

from __future__ import annotations

from typing import Any

from flowrunner.ports import Request, Response
from flowrunner.sim.asterisk import Callee, Recordings, SimChannel, SimulatedAsterisk
from flowrunner.sim.clock import VirtualClock


def asterisk() -> tuple[SimulatedAsterisk, VirtualClock, list[Response]]:
    clock = VirtualClock()
    return SimulatedAsterisk(clock, SimChannel(id="c"), "app"), clock, []


def events(sim: SimulatedAsterisk, until: float) -> list[tuple[str, Any]]:
    found = []
    for at in (0.0, 0.5, 1.0, 2.0, until):
        for event in sim.take_due(at):
            found.append((event["type"], event.get("playback") or event.get("cause")))
    return found


def test_a_request_is_reported_as_the_action_it_says_it_is() -> None:
    sim, _, replies = asterisk()
    sim.submit(Request("POST", "channels/c/answer", action="ari"), replies.append)
    sim.submit(Request("POST", "channels/c/answer", action="answer"), replies.append)
    assert [s.action for s in sim.sent] == ["ari", "answer"]
    # what it does follows its route, as Asterisk's would: the channel is up either way
    assert sim.state == "Up"


def test_a_stopped_playback_finishes_once_not_again_at_its_natural_end() -> None:
    sim, clock, replies = asterisk()
    sim.submit(
        Request("POST", "channels/c/play/p1", {"media": "sound:x"}, action="play"), replies.append
    )
    clock.advance_to(0.5)
    sim.submit(Request("DELETE", "playbacks/p1", action="stop_playback"), replies.append)
    finished = [e for e in events(sim, 5.0) if e[0] == "PlaybackFinished"]
    assert len(finished) == 1
    sim.submit(Request("DELETE", "playbacks/p1", action="stop_playback"), replies.append)
    assert replies[-1].status == 404  # it is over: nothing to stop


def test_a_hangup_reason_becomes_the_cause_asterisk_reports() -> None:
    for reason, cause in [("busy", 17), ("congestion", 34), ("normal", 16), ("no_answer", 19)]:
        sim, _, replies = asterisk()
        sim.submit(
            Request("DELETE", "channels/c", {"reason": reason}, action="hangup"), replies.append
        )
        assert ("ChannelHangupRequest", cause) in events(sim, 1.0)


def test_a_hangup_without_a_reason_is_normal_clearing() -> None:
    sim, _, replies = asterisk()
    sim.submit(Request("DELETE", "channels/c", action="hangup"), replies.append)
    assert ("ChannelHangupRequest", 16) in events(sim, 1.0)


def test_each_callee_does_what_its_endpoint_is_given_to_do() -> None:
    clock = VirtualClock()
    callees = {"PJSIP/bob": Callee("busy"), "PJSIP/carol": Callee("answer", press="1")}
    sim = SimulatedAsterisk(clock, SimChannel(id="c"), "app", callees=callees)
    for n, endpoint in enumerate(["PJSIP/alice", "PJSIP/bob", "PJSIP/carol"]):
        create = {"endpoint": endpoint, "channelId": f"p{n}"}
        sim.submit(Request("POST", "channels/create", create, action="dial_create"), [].append)
        sim.submit(Request("POST", f"channels/p{n}/dial", action="dial_start"), [].append)
    seen = [
        (
            e["type"],
            (e.get("channel") or e.get("peer"))["id"],
            e.get("dialstatus") or e.get("digit"),
        )
        for at in (0.0, 1.0, 2.0, 60.0)
        for e in sim.take_due(at)
    ]
    assert [s for s in seen if s[0] != "StasisStart"] == [
        ("Dial", "p0", "ANSWER"),  # the default callee
        ("Dial", "p1", "BUSY"),
        ("Dial", "p2", "ANSWER"),
        ("ChannelDtmfReceived", "p2", "1"),  # 1 s after answering
    ]


def test_a_callee_hung_up_does_nothing_it_was_to_do_later() -> None:
    clock = VirtualClock()
    sim = SimulatedAsterisk(clock, SimChannel(id="c"), "app", callee=Callee("no_answer"))
    create = {"endpoint": "PJSIP/alice", "channelId": "p0"}
    sim.submit(Request("POST", "channels/create", create, action="dial_create"), [].append)
    sim.submit(
        Request("POST", "channels/p0/dial", {"timeout": "20"}, action="dial_start"), [].append
    )
    clock.advance_to(5.0)
    sim.submit(Request("DELETE", "channels/p0", action="peer_hangup"), [].append)
    kinds = [e["type"] for at in (5.0, 30.0) for e in sim.take_due(at)]
    # its dial timeout at 20 s would have ended it again
    assert kinds == ["StasisStart", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"]


def test_a_prompt_played_to_a_callee_is_the_callees_and_ends_once_when_stopped() -> None:
    clock = VirtualClock()
    sim = SimulatedAsterisk(clock, SimChannel(id="c"), "app")
    play = Request("POST", "channels/p0/play/x1", {"media": "sound:hi"}, action="dial_prompt")
    sim.submit(play, [].append)
    sim.submit(Request("DELETE", "playbacks/x1", action="stop_playback"), [].append)
    events = [e for at in (0.0, 5.0) for e in sim.take_due(at)]
    assert [(e["type"], e["channel"]["id"], e["playback"]["target_uri"]) for e in events] == [
        ("PlaybackStarted", "p0", "channel:p0"),
        ("PlaybackFinished", "p0", "channel:p0"),
    ]


def test_a_list_of_statuses_fails_the_requests_of_that_name_in_order() -> None:
    clock = VirtualClock()
    failures = {"play": [None, 500], "answer": 404}
    sim = SimulatedAsterisk(clock, SimChannel(id="c"), "app", failures)
    for n in range(3):
        play = Request("POST", f"channels/c/play/p{n}", {"media": "sound:x"}, action="play")
        sim.submit(play, [].append)
    for _ in range(2):
        sim.submit(Request("POST", "channels/c/answer", action="answer"), [].append)
    assert [(s.action, s.status) for s in sim.sent] == [
        ("play", 201),  # None: answered as usual
        ("play", 500),
        ("play", 201),  # the list is used up: as usual again
        ("answer", 404),  # a status alone is the first request's
        ("answer", 204),
    ]


def record(sim: SimulatedAsterisk, name: str, longest: str = "30") -> None:
    params = {"name": name, "maxDurationSeconds": longest}
    sim.submit(Request("POST", "channels/c/record", params, action="record"), [].append)


def recording_events(sim: SimulatedAsterisk) -> list[tuple[float, str, str]]:
    found = []
    while (at := sim.events.next_due()) is not None:
        for event in sim.take_due(at):
            found.append((at, event["type"], event["recording"]["state"]))
    return found


def test_a_recording_made_to_fail_ends_in_recording_failed_when_told() -> None:
    clock = VirtualClock()
    failing = Recordings("failed", after=2.0)
    sim = SimulatedAsterisk(clock, SimChannel(id="c"), "app", recordings=failing)
    record(sim, "vm-1")
    assert recording_events(sim) == [
        (0.0, "RecordingStarted", "recording"),
        (2.0, "RecordingFailed", "failed"),
    ]


def test_a_recording_finishes_at_its_longest_or_when_told_whichever_is_first() -> None:
    for recordings, end in [(Recordings(), 30.0), (Recordings(after=5.0), 5.0)]:
        sim = SimulatedAsterisk(VirtualClock(), SimChannel(id="c"), "app", recordings=recordings)
        record(sim, "vm-1")
        assert recording_events(sim)[-1] == (end, "RecordingFinished", "done")
    sim = SimulatedAsterisk(VirtualClock(), SimChannel(id="c"), "app", recordings=Recordings())
    record(sim, "vm-1", longest="0")  # no longest: the caller hangs up at 10 s
    assert recording_events(sim)[-1] == (10.0, "RecordingFinished", "done")


def test_a_recording_stopped_before_it_would_fail_ends_once_and_is_over() -> None:
    clock = VirtualClock()
    sim = SimulatedAsterisk(clock, SimChannel(id="c"), "app", recordings=Recordings("failed", 5.0))
    record(sim, "vm-1")
    clock.advance_to(1.0)
    stop = Request("POST", "recordings/live/vm-1/stop", action="stop_recording")
    sim.submit(stop, [].append)
    assert [kind for _, kind, _ in recording_events(sim)] == [
        "RecordingStarted",
        "RecordingFinished",
    ]
    replies: list[Response] = []
    sim.submit(stop, replies.append)
    assert replies[-1].status == 404  # over: nothing to stop
