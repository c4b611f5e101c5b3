"""The observation server of `serve --metrics HOST:PORT`: on one small HTTP server thread,
`/metrics` (Prometheus' text format), `/healthz` (200 while the process serves) and `/readyz`
(200 when ready, else 503 and why, one reason a line). Nothing else is served."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ..http_thread import HttpThread

Problems = Callable[[], list[str]]


class ObserveServer(HttpThread):
    def __init__(
        self, registry: CollectorRegistry, readiness: Problems, host: str, port: int
    ) -> None:
        super().__init__(_handler(registry, readiness), host, port, "observe-server")


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
