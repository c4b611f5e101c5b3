"""The live speech port: renders on its workers (never in `submit`), converts to 8 kHz mono
16-bit with sox, answers the media to play, and renders each text once. The engine is a fake
that writes a 22,050 Hz WAV of silence as long as the text says."""

from __future__ import annotations

import queue
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowrunner.ports import Response, SpeechRequest
from flowrunner.speech.cache import SpeechCache, speech_key
from flowrunner.speech.engines import SpeechError
from flowrunner.speech.service import LocalSpeech

URL = "http://192.0.2.7:8077/speech"


class FakeEngine:
    name = program = "fake"

    def __init__(self) -> None:
        self.rendered: list[SpeechRequest] = []
        self.gate = threading.Event()
        self.gate.set()

    def render(self, request: SpeechRequest, out: Path, timeout: float) -> None:
        self.gate.wait(5)
        if request.text == "fail":
            raise SpeechError("fake failed (exit 1)")
        self.rendered.append(request)
        with wave.open(str(out), "wb") as audio:
            audio.setnchannels(2)
            audio.setsampwidth(2)
            audio.setframerate(22050)
            audio.writeframes(b"\0\0\0\0" * int(22050 * 0.01 * len(request.text)))


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def speech(engine: FakeEngine, tmp_path: Path) -> Iterator[LocalSpeech]:
    woken = threading.Event()
    service = LocalSpeech(engine, SpeechCache(tmp_path, 10_000_000), URL, wake=woken.set)
    yield service
    service.close()


def answer(speech: LocalSpeech, request: SpeechRequest) -> Response:
    replies: queue.SimpleQueue[Response] = queue.SimpleQueue()
    speech.submit(request, replies.put)
    return replies.get(timeout=10)


def test_the_answer_names_the_hash_and_the_file_is_8khz_mono_16bit(
    speech: LocalSpeech, tmp_path: Path
) -> None:
    request = SpeechRequest("x" * 100, "en-us", "en")  # 1 s
    reply = answer(speech, request)
    key = speech_key("fake", request)
    assert reply == Response(200, {"media": f"sound:{URL}/{key}.wav", "seconds": 1.0})
    with wave.open(str(tmp_path / f"{key}.wav"), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)


def test_each_text_is_rendered_once(speech: LocalSpeech, engine: FakeEngine) -> None:
    first, again = (answer(speech, SpeechRequest("Hello")) for _ in range(2))
    assert first == again
    assert engine.rendered == [SpeechRequest("Hello")]


def test_submit_never_waits_for_the_engine(speech: LocalSpeech, engine: FakeEngine) -> None:
    engine.gate.clear()
    replies: queue.SimpleQueue[Response] = queue.SimpleQueue()
    speech.submit(SpeechRequest("slow"), replies.put)  # returns while the engine is stuck
    assert replies.empty()
    engine.gate.set()
    assert replies.get(timeout=10).ok


def test_a_shared_directory_names_the_file_without_its_extension(
    engine: FakeEngine, tmp_path: Path
) -> None:
    service = LocalSpeech(engine, SpeechCache(tmp_path, 10_000_000), "/var/lib/fr/speech/")
    try:
        reply = answer(service, SpeechRequest("Hello"))
    finally:
        service.close()
    assert (
        reply.body["media"]
        == f"sound:/var/lib/fr/speech/{speech_key('fake', SpeechRequest('Hello'))}"
    )


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (SpeechRequest("fail"), "fake failed (exit 1)"),
        (SpeechRequest("   "), "no text to say"),
        (SpeechRequest("x" * 2001), "text longer than 2000 characters"),
        (SpeechRequest("hi", voice="-w/etc/passwd"), "not a voice or language name"),
        (SpeechRequest("hi", lang="en us"), "not a voice or language name"),
        (SpeechRequest("hi", voice="../../x"), "not a voice or language name"),
    ],
    ids=["engine fails", "blank", "too long", "an option", "a space", "a path"],
)
def test_what_cannot_be_rendered_is_answered_as_a_failure(
    speech: LocalSpeech, engine: FakeEngine, tmp_path: Path, request_: SpeechRequest, error: str
) -> None:
    assert answer(speech, request_) == Response(0, error=error)
    assert not list(tmp_path.glob("*.wav"))
    assert not list((tmp_path / ".work").iterdir())


def test_the_live_loop_is_woken_once_the_answer_is_there(
    engine: FakeEngine, tmp_path: Path
) -> None:
    replies: queue.SimpleQueue[Response] = queue.SimpleQueue()
    seen: queue.SimpleQueue[bool] = queue.SimpleQueue()
    service = LocalSpeech(
        engine, SpeechCache(tmp_path, 10**7), URL, wake=lambda: seen.put(not replies.empty())
    )
    try:
        service.submit(SpeechRequest("Hello"), replies.put)
        assert seen.get(timeout=10) is True
    finally:
        service.close()
