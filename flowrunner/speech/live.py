"""Speech for `serve`: the cache, the rendering service and the media server, set up from the
command line. The server starts only once a flow served says something (so runners with no
`say` open no port), and each load of the flows renders their plain texts ahead."""

from __future__ import annotations

import argparse
import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from ..engine.machine import CompiledFlow
from ..ports import Response
from .cache import SpeechCache
from .engines import engine_for
from .plain import plain_texts, says
from .server import MediaServer, parse_listen
from .service import LocalSpeech

log = logging.getLogger("flowrunner.speech")


class LiveSpeech:
    def __init__(self, args: argparse.Namespace, wake: Callable[[], None]) -> None:
        self.cache = SpeechCache(Path(args.speech_dir), args.speech_cache_mb * 1_000_000)
        self.cache.clear_work()
        self.listen = None if args.speech_listen == "none" else parse_listen(args.speech_listen)
        host, port = self.listen or ("", 0)
        url = args.speech_url or (
            f"http://{host}:{port}/speech" if self.listen else str(self.cache.directory)
        )
        engine = engine_for(args.speech_engine)
        self.service = LocalSpeech(engine, self.cache, url, wake=wake)
        self.programs = (engine.program, "sox")
        self.server: MediaServer | None = None

    def loaded(self, flows: Iterable[CompiledFlow]) -> None:
        """Flows were loaded (at start, on reload): serve the cache if one of them says
        something (OSError if the port is taken), and render their plain texts."""
        flows = list(flows)
        if not any(True for _ in says(flows)):
            return
        for program in missing(self.programs):
            log.error("speech: %s is not installed: every say will fail", program)
        if self.listen and self.server is None:
            self.server = MediaServer(self.cache, *self.listen)
            self.server.start()
            log.info("speech served on http://%s:%d/speech", *self.server.address)
        for request in plain_texts(flows):
            self.service.submit(request, _rendered_ahead)

    def close(self) -> None:
        self.service.close()
        if self.server is not None:
            self.server.close()


def missing(programs: Iterable[str]) -> list[str]:
    return [program for program in programs if program and shutil.which(program) is None]


def _rendered_ahead(response: Response) -> None:
    if not response.ok:
        log.warning("speech could not be rendered ahead: %s", response.describe())
