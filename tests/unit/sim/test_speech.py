"""Simulated speech: ready at once, played for as long as espeak-ng would take to say it."""

from __future__ import annotations

from flowrunner.ports import Request, Response, SpeechRequest
from flowrunner.sim.asterisk import Failures, SimChannel, SimulatedAsterisk
from flowrunner.sim.clock import VirtualClock
from flowrunner.sim.speech import SimulatedSpeech, spoken_seconds


def rig(failures: Failures | None = None) -> tuple[SimulatedAsterisk, SimulatedSpeech]:
    asterisk = SimulatedAsterisk(VirtualClock(), SimChannel(), "app", failures)
    return asterisk, SimulatedSpeech(asterisk)


def test_the_length_grows_with_the_text_as_espeak_ngs_does() -> None:
    # measured with espeak-ng 1.51 at its default speed: 2 chars 0.63 s, 24 1.83 s, 63 4.05 s
    assert [spoken_seconds("x" * n) for n in (2, 24, 63)] == [0.6, 1.9, 4.3]


def test_its_media_plays_for_that_long_and_other_media_for_a_second() -> None:
    asterisk, speech = rig()
    replies: list[Response] = []
    speech.submit(SpeechRequest("x" * 50), replies.append)
    (reply,) = replies
    assert reply.ok
    assert reply.body["seconds"] == 3.5
    for playback, media in (("p1", reply.body["media"]), ("p2", "sound:hello-world")):
        path = f"channels/sim-0001/play/{playback}"
        asterisk.submit(Request("POST", path, {"media": media}, action="play"), lambda r: None)
    finished = {}
    while (at := asterisk.events.next_due()) is not None:
        for event in asterisk.events.pop_due(at):
            if event["type"] == "PlaybackFinished":
                finished[event["playback"]["id"]] = at
    assert finished == {"p1": 3.5, "p2": 1.0}


def test_a_flow_test_can_fail_the_next_rendering() -> None:
    _, speech = rig({"speech": 503})
    replies: list[Response] = []
    speech.submit(SpeechRequest("a"), replies.append)
    speech.submit(SpeechRequest("a"), replies.append)
    assert [r.status for r in replies] == [503, 200]


def test_a_flow_test_can_fail_a_later_rendering() -> None:
    _, speech = rig({"speech": [None, 503]})
    replies: list[Response] = []
    for _ in range(3):
        speech.submit(SpeechRequest("a"), replies.append)
    assert [r.status for r in replies] == [200, 503, 200]
