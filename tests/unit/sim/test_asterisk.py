"""The simulated Asterisk answers as the sandbox's Asterisk 22 does: it reads what a request is
from the request itself, a stopped playback ends once, and a hangup reports its reason's cause."""

from __future__ import annotations

from typing import Any

from flowrunner.ports import Request, Response
from flowrunner.sim.asterisk import SimChannel, SimulatedAsterisk
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
