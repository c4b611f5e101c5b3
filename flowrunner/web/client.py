"""The live web client: sends a flow's `http` requests from a small pool of worker threads.

The engine runs on one thread and never waits on the network, so `submit` only queues the
request; a worker sends it, calls `done` with the answer, then `wake` to rouse the live loop.
The pool is bounded so a slow or hung service queues work here instead of eating threads, and
each exchange is capped in time (the whole exchange, not only each socket read) and in size, so
a service that stalls or floods cannot hold a worker or the memory for long. The deadline is
checked between reads of up to CHUNK bytes: a server dripping bytes slower than that can still
overrun it by one read (each socket wait is bounded by the timeout itself).

Error texts are fixed words or exception class names: the URL, headers and body may carry
secrets (an API key in the query, an Authorization header) and never appear in them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError, LocationParseError, ReadTimeoutError

from ..ports import Done, Response, WebRequest

log = logging.getLogger("flowrunner.web")

SCHEMES = frozenset({"http", "https"})
CHUNK = 16_384  # bytes per read: the deadline and the size cap are checked between reads
CLOSED = Response(0, error="client closed")
TIMED_OUT = "timed out"
BAD_URL = "bad URL"
BAD_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    LocationParseError,  # a bad host name, which requests lets through unwrapped
)


class _Stop(Exception):
    """Reading the reply stopped early; the message is the (secret-free) error text."""


class RequestsWebClient:
    def __init__(
        self,
        wake: Callable[[], None] = lambda: None,
        workers: int = 8,
        max_bytes: int = 1_000_000,
    ) -> None:
        self.wake = wake
        self.max_bytes = max_bytes
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_maxsize=workers)  # one kept-alive connection per worker
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="web")

    def submit(self, request: WebRequest, done: Done) -> None:
        """Queue the request; `done` gets exactly one answer, even if the client closes first."""
        try:
            future = self.pool.submit(self._run, request, done)
        except RuntimeError:  # the pool is shut down: answer now rather than never
            self._answer(done, CLOSED)
            return
        future.add_done_callback(self._on_cancel(done))

    def call(self, request: WebRequest) -> Response:
        """Send one request and wait for its answer (on a worker)."""
        if not _allowed(request.url):
            return Response(0, error=BAD_URL)
        if not request.timeout > 0:  # also refuses NaN, which requests would reject later
            return Response(0, error=TIMED_OUT)
        deadline = time.monotonic() + request.timeout
        try:
            with self._send(request) as reply:
                data = self._read(reply, deadline)
                return Response(reply.status_code, _json_or_none(data))
        except _Stop as stop:
            return Response(0, error=str(stop))
        except (requests.RequestException, HTTPError) as error:  # urllib3's may slip through
            return Response(0, error=_reason(error))

    def close(self) -> None:
        """Stop: queued requests are answered "client closed"; the session's sockets close."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    def _send(self, request: WebRequest) -> requests.Response:
        # Each socket wait is bounded by the whole timeout; `_read` bounds their sum.
        return self.session.request(
            request.method,
            request.url,
            headers=dict(request.headers),
            json=request.body,
            timeout=(request.timeout, request.timeout),
            stream=True,  # read by hand, to stop at the deadline or the size cap
            allow_redirects=False,  # a redirect is the flow's to see, not ours to follow
        )

    def _read(self, reply: requests.Response, deadline: float) -> bytes:
        too_large = f"reply larger than {self.max_bytes} bytes"
        declared = reply.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise _Stop(too_large)  # refuse before reading any of it
        data = bytearray()
        _check(deadline)
        for chunk in reply.iter_content(CHUNK):
            data += chunk
            if len(data) > self.max_bytes:
                raise _Stop(too_large)
            _check(deadline)
        return bytes(data)

    def _run(self, request: WebRequest, done: Done) -> None:
        try:
            response = self.call(request)
        except Exception as error:  # a bug here must still answer, or the call waits forever
            log.error("web: %s on %s %s", type(error).__name__, request.method, request.safe_url)
            response = Response(0, error=type(error).__name__)
        self._answer(done, response)

    def _answer(self, done: Done, response: Response) -> None:
        try:
            done(response)
        except Exception:  # on a worker nobody else would ever see it
            log.exception("web: the done callback failed")
        finally:
            self.wake()  # after done, so the loop finds the answer waiting

    def _on_cancel(self, done: Done) -> Callable[[Future[None]], None]:
        def answer_if_cancelled(future: Future[None]) -> None:
            if future.cancelled():  # dropped by close() before a worker took it
                self._answer(done, CLOSED)

        return answer_if_cancelled


def _allowed(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc)


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise _Stop(TIMED_OUT)


def _json_or_none(data: bytes) -> Any:
    # Whatever the Content-Type says: services label JSON text/plain, and a JSON type with a
    # body that does not parse leaves nothing to use either.
    if not data.strip():
        return None
    try:
        return json.loads(data)  # bytes: UTF-8/16/32 detected as RFC 8259 allows
    except ValueError:  # also UnicodeDecodeError
        return None


def _reason(error: Exception) -> str:
    """A short cause; the exception's own text may hold the URL, so it is never used."""
    if isinstance(error, requests.Timeout) or _read_timed_out(error):
        return TIMED_OUT
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    if isinstance(error, BAD_URL_ERRORS):
        return BAD_URL
    return type(error).__name__


def _read_timed_out(error: Exception) -> bool:
    # requests re-raises a read timeout inside the body as ConnectionError(ReadTimeoutError).
    return isinstance(error, requests.ConnectionError) and any(
        isinstance(arg, ReadTimeoutError) for arg in error.args
    )
