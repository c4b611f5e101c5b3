"""The live `Speech` port: renders on a small pool of worker threads, never on the runtime's.

A request is looked up in the cache by its hash; if absent, its engine renders it and sox
converts it (both killed at `timeout`), and the file joins the cache. The answer names the
media Asterisk plays: `sound:<url>/HASH.wav` when `url` is HTTP (the media server, or any that
serves the cache directory), else `sound:<url>/HASH` where `url` is the cache directory as
Asterisk sees it (a shared directory: Asterisk adds the extension). Log lines name the hash,
never the text.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..ports import MAX_SPEECH_TEXT, VOICE_NAME, Done, Response, SpeechRequest
from . import convert
from .cache import SpeechCache, speech_key
from .engines import Engine, SpeechError

log = logging.getLogger("flowrunner.speech")
NAME = re.compile(VOICE_NAME)


class LocalSpeech:
    def __init__(
        self,
        engine: Engine,
        cache: SpeechCache,
        url: str,
        *,
        workers: int = 2,
        timeout: float = 10.0,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine, self.cache, self.timeout, self.wake = engine, cache, timeout, wake
        self.url = url.rstrip("/")
        self.extension = ".wav" if url.startswith(("http://", "https://")) else ""
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="speech")

    def submit(self, request: SpeechRequest, done: Done) -> None:
        self.pool.submit(self._answer, request, done)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _answer(self, request: SpeechRequest, done: Done) -> None:
        try:
            response = self.render(request)
        except SpeechError as error:
            response = Response(0, error=str(error))
        except Exception as error:  # a bug must fail one say, not a worker
            log.exception("speech: unexpected error")
            response = Response(0, error=type(error).__name__)
        done(response)
        self.wake()  # after done, so the loop finds the answer waiting

    def render(self, request: SpeechRequest) -> Response:
        """The media for a request, rendered now unless cached (blocking: workers only)."""
        check(request)
        key = speech_key(self.engine.name, request)
        path = self.cache.find(key) or self._rendered(key, request)
        body = {"media": f"sound:{self.url}/{key}{self.extension}", "seconds": _seconds(path)}
        return Response(200, body)

    def _rendered(self, key: str, request: SpeechRequest) -> Path:
        started = time.monotonic()
        with self.cache.workspace() as work:
            spoken, telephone = Path(work, "spoken.wav"), Path(work, "telephone.wav")
            self.engine.render(request, spoken, self.timeout)
            convert.to_telephone(spoken, telephone, self.timeout)
            path = self.cache.add(key, telephone)
        took = (time.monotonic() - started) * 1000
        log.info("speech %s rendered in %.0f ms", key[:12], took, extra={"speech": key})
        return path


def check(request: SpeechRequest) -> None:
    """What the flow schema already says, again: the text may come from a caller."""
    if not request.text.strip():
        raise SpeechError("no text to say")
    if len(request.text) > MAX_SPEECH_TEXT:
        raise SpeechError(f"text longer than {MAX_SPEECH_TEXT} characters")
    for value in (request.voice, request.lang):
        if value and not (len(value) <= 64 and NAME.fullmatch(value)):
            raise SpeechError("not a voice or language name")


def _seconds(path: Path) -> float:
    return round(convert.seconds(path), 3)
