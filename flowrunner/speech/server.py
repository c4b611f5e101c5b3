"""The media server: Asterisk fetches rendered speech from it (`sound:http://…/speech/HASH.wav`).

It serves GET and HEAD of `/speech/<sha256>.wav` from the cache directory and nothing else:
no listing, no other name, no path that is not exactly a hash. It listens on loopback unless
told otherwise. Each fetch is logged with the hash it asked for.
"""

from __future__ import annotations

import logging
import re
import shutil
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from ..http_thread import HttpThread
from .cache import SpeechCache

log = logging.getLogger("flowrunner.speech")
PATH = re.compile(r"/speech/([0-9a-f]{64})\.wav")
DEFAULT_LISTEN = ("127.0.0.1", 8077)


class MediaServer(HttpThread):
    def __init__(self, cache: SpeechCache, host: str, port: int) -> None:
        super().__init__(_handler(cache), host, port, "speech-server")


def _handler(cache: SpeechCache) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "flowrunner-speech"

        def do_GET(self) -> None:
            self._send(body=True)

        def do_HEAD(self) -> None:
            self._send(body=False)

        def _send(self, body: bool) -> None:
            found = PATH.fullmatch(urlsplit(self.path).path)
            path = cache.find(found.group(1)) if found else None
            if found is None or path is None:
                self.send_error(404)
                return
            key = found.group(1)
            log.info(
                "speech %s fetched by %s", key[:12], self.client_address[0], extra={"speech": key}
            )
            with path.open("rb") as audio:
                size = path.stat().st_size
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", str(size))
                self.send_header("Cache-Control", "max-age=86400, immutable")  # a hash's content
                self.end_headers()
                if body:
                    shutil.copyfileobj(audio, self.wfile)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # http.server's own lines would go to stderr, unformatted

    return Handler


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, as `--speech-listen` takes it."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"not HOST:PORT: {text!r}")
    return host, int(port)
