"""Simulated speech for flow tests and `simulate`: no engine, an answer at once.

Each text gets a media URI named by its hash, as the live service's are, and a length estimated
from the text as espeak-ng speaks it at its default speed (measured: 24 characters 1.8 s, 63
characters 4.1 s): 0.5 s plus 0.06 s a character, to 0.1 s. The simulated Asterisk plays that
media for that long. A flow test's `ari: {speech: STATUS}` fails the first rendering, and
`ari: {speech: [ok, STATUS]}` the second.
"""

from __future__ import annotations

from ..ports import Done, Response, SpeechRequest
from ..speech.cache import speech_key
from .asterisk import SimulatedAsterisk

URL = "http://speech.invalid/speech"  # never fetched: the simulated Asterisk only times it


def spoken_seconds(text: str) -> float:
    return round(0.5 + 0.06 * len(text), 1)


class SimulatedSpeech:
    def __init__(self, asterisk: SimulatedAsterisk) -> None:
        self.asterisk = asterisk
        self.said: list[SpeechRequest] = []
        self.spoken: dict[str, SpeechRequest] = {}  # the media made -> what it says

    def submit(self, request: SpeechRequest, done: Done) -> None:
        self.said.append(request)
        status = self.asterisk.next_failure("speech")
        if status:
            done(Response(status, error="simulated failure"))
            return
        media = f"sound:{URL}/{speech_key('simulated', request)}.wav"
        seconds = spoken_seconds(request.text)
        self.spoken[media] = request
        self.asterisk.media_seconds[media] = seconds
        done(Response(200, {"media": media, "seconds": seconds}))
