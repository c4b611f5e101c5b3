"""ARI REST over HTTP (any Asterisk 18+): a keep-alive session and a small, fixed worker pool.

The pool bounds the number of HTTP connections (Asterisk refuses past 100 sessions by default),
so a burst of calls queues here instead of failing there.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..ports import Done, Request, Response

WORKERS = 4
TIMEOUT = 10.0


class HttpTransport:
    name = "http"

    def __init__(self, base_url: str, user: str, password: str, workers: int = WORKERS) -> None:
        self.base = base_url.rstrip("/") + "/ari/"
        self.session = requests.Session()
        self.session.auth = (user, password)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=workers, pool_block=True)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="ari-http")

    def submit(self, request: Request, done: Done) -> None:
        self.pool.submit(lambda: done(self.call(request)))

    def call(self, request: Request) -> Response:
        """Send one request and wait for its answer (from a worker, or at start-up)."""
        try:
            reply = self.session.request(
                request.method,
                self.base + request.path,
                params=dict(request.params),
                json=request.body,
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            return Response(0, error=_reason(error))
        return response_from(reply.status_code, reply.text)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()


def response_from(status: int, text: str) -> Response:
    """A Response from a status and a JSON body, keeping Asterisk's error message."""
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    error = body.get("message", "") if isinstance(body, dict) and status >= 400 else ""
    return Response(status, body, str(error))


def _reason(error: requests.RequestException) -> str:
    # The exception text may hold the URL; ours carries no credentials, but keep it short.
    return type(error).__name__
