"""ARI REST over HTTP (any Asterisk 18+): a keep-alive session and a small, fixed worker pool.

The pool bounds the number of HTTP connections (Asterisk refuses past 100 sessions by default),
so a burst of calls queues here instead of failing there. Every `submit` calls its `done` exactly
once, whatever happens: a request that cannot even be written (a lone surrogate in a parameter)
is answered with why, never left waiting forever.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..ports import Done, Request, Response

log = logging.getLogger("flowrunner.ari")

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
        try:
            self.pool.submit(self._send, request, done)
        except RuntimeError:  # the pool is shut down: the session is closing
            done(Response(0, error="transport closed"))

    def _send(self, request: Request, done: Done) -> None:
        response = self.call(request)
        try:
            done(response)
        except Exception:  # the future would keep it silently
            log.exception("the reply to %s %s could not be handled", request.method, request.path)

    def call(self, request: Request) -> Response:
        """Send one request and wait for its answer (from a worker, or at start-up); never
        raises."""
        try:
            reply = self.session.request(
                request.method,
                self.base + request.path,
                params=dict(request.params),
                json=request.body,
                timeout=TIMEOUT,
            )
            return response_from(reply.status_code, reply.text)
        except requests.RequestException as error:
            return Response(0, error=_reason(error))
        except Exception as error:  # not a network failure: the request cannot be written
            log.debug("%s %s not sent", request.method, request.path, exc_info=True)
            return Response(0, error=f"cannot send: {type(error).__name__}")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()


def response_from(status: int, text: str) -> Response:
    """A Response from a status and a JSON body, keeping Asterisk's error message."""
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
            body = text
    error = body.get("message", "") if isinstance(body, dict) and status >= 400 else ""
    return Response(status, body, str(error))


def _reason(error: requests.RequestException) -> str:
    # The exception text may hold the URL; ours carries no credentials, but keep it short.
    return type(error).__name__
