"""The observation server of `serve --metrics HOST:PORT`: on one small HTTP server thread,
`/metrics` (Prometheus' text format), `/healthz` (200 while the process serves) and `/readyz`
(200 when ready, else 503 and why, one reason a line). Nothing else is served."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Problems = Callable[[], list[str]]


class ObserveServer:
    def __init__(
        self, registry: CollectorRegistry, readiness: Problems, host: str, port: int
    ) -> None:
        self.server = ThreadingHTTPServer((host, port), _handler(registry, readiness))
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="observe-server", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(registry: CollectorRegistry, readiness: Problems) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "flowrunner-observe"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send(200, b"ok\n")
            elif path == "/readyz":
                problems = readiness()
                text = "".join(f"not ready: {p}\n" for p in problems) or "ready\n"
                self._send(503 if problems else 200, text.encode())
            else:
                self._send(404, b"not found: /metrics, /healthz and /readyz are served\n")

        def _send(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds: no line each

    return Handler
