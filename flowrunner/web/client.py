"""The live web client: sends a flow's `http` requests from a small pool of worker threads.

The engine runs on one thread and never waits on the network, so `submit` only queues the
request; a worker sends it, calls `done` with the answer, then `wake` to rouse the live loop.

A slow or hostile service can neither hold a worker past a request's timeout nor starve the
calls to other services:

- Deadline. The timeout counts from `submit` and bounds the whole exchange: time queued,
  connect, send, headers, body. Each socket wait is bounded by the time left, and at the
  deadline the request is answered "timed out" and its socket shut down, which frees its worker
  at once. One still queued at its timeout is never sent, and is answered "timed out before it
  was sent". Both answers come GRACE (0.1 s) after the timeout, so that the engine's own timer
  speaks first and the flow sees HttpTimedOut (deadlines.py).
- Per-host share. At most `per_host` requests (half the workers by default) are in flight to
  one host:port; the others wait in that host's queue, in order, holding no worker, until one
  of its requests ends (or their deadline passes). So a host that hangs keeps half the workers
  at most, and requests to every other host find the other half.
- Size. A reply over `max_bytes` is refused: on its Content-Length before reading any of it,
  or as soon as the bytes read pass the cap (counted after decompression).

Error texts are fixed words or exception class names: the URL, headers and body may carry
secrets (an API key in the query, an Authorization header) and never appear in them, nor in
any log (urllib3's own, which quote URLs and header lines, are turned off).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import HTTPError, LocationParseError, ReadTimeoutError

from ..ports import Done, Response, WebRequest
from .deadlines import TIMED_OUT, CuttableAdapter, Exchange, Watchdog, running

log = logging.getLogger("flowrunner.web")

# urllib3 logs whole URLs, query included, and raw header lines ("Failed to parse headers
# (url=...): ... unparsed data: ...", a warning any server can trigger): none of it may reach a
# log, whatever handlers the process sets up. Its loggers inherit this level: they are off.
logging.getLogger("urllib3").setLevel(logging.CRITICAL + 1)

SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 16_384  # bytes per read: the size cap is checked between reads
CLOSED = Response(0, error="client closed")
BAD_URL = "bad URL"
BAD_URL_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    LocationParseError,  # a bad host name, which requests lets through unwrapped
)


class _NoNetrc(requests.auth.AuthBase):
    """With no auth of its own, requests would add credentials from ~/.netrc for the URL's
    host: a flow's URL (templated, perhaps from a caller's data) must not pick those up."""

    def __call__(self, request: Any) -> Any:
        return request


class _Stop(Exception):
    """Reading the reply stopped early; the message is the (secret-free) error text."""


class RequestsWebClient:
    def __init__(
        self,
        wake: Callable[[], None] = lambda: None,
        workers: int = 8,
        max_bytes: int = 1_000_000,
        per_host: int = 0,  # requests in flight to one host:port; 0: half the workers
    ) -> None:
        self.wake = wake
        self.max_bytes = max_bytes
        self.session = requests.Session()
        self.session.auth = _NoNetrc()  # the flow's own headers are all the credentials sent
        adapter = CuttableAdapter(pool_maxsize=workers)  # one kept-alive connection per worker
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="web")
        self.hosts = _HostShares(per_host or max(1, workers // 2))
        self.watchdog = Watchdog()
        self.closed = False

    def submit(self, request: WebRequest, done: Done) -> None:
        """Queue the request; `done` gets exactly one answer, by the request's deadline (give or
        take a thread's wake-up), even if the client closes first."""
        exchange = Exchange(request, lambda response: self._answer(done, response))
        if self.closed:
            exchange.answer(CLOSED)
            return
        self.watchdog.watch(exchange)
        host = _host_of(request.url)
        if self.hosts.take(host, exchange):
            self._dispatch(exchange, host)

    def call(self, request: WebRequest) -> Response:
        """Send one request on this thread and wait for its answer, by its deadline as well
        (outside the pool and the per-host shares)."""
        answers: queue.SimpleQueue[Response] = queue.SimpleQueue()
        exchange = Exchange(request, answers.put)
        self.watchdog.watch(exchange)
        self._exchange(exchange)
        return answers.get()  # the watchdog's answer may still be on its way

    def close(self) -> None:
        """Stop: requests not yet sent are answered "client closed"; those in flight still get
        their own answer, by their deadline; the session's sockets close."""
        self.closed = True
        self.pool.shutdown(wait=False, cancel_futures=True)
        for exchange in self.hosts.drain():
            exchange.answer(CLOSED)
        self.session.close()

    def _dispatch(self, exchange: Exchange | None, host: str) -> None:
        """Hand an exchange holding one of its host's slots to a worker."""
        while exchange is not None:
            try:
                future = self.pool.submit(self._run, exchange, host)
            except RuntimeError:  # the pool is shut down: answer now rather than never
                exchange.answer(CLOSED)
                exchange = self.hosts.hand_on(host)
            else:
                future.add_done_callback(_answer_if_cancelled(exchange))
                return

    def _run(self, exchange: Exchange, host: str) -> None:
        try:
            self._exchange(exchange)
        finally:
            self._dispatch(self.hosts.hand_on(host), host)

    def _exchange(self, exchange: Exchange) -> None:
        if not exchange.start():  # too late to send, or the client closed: already answered
            return  # or to be, by the watchdog
        request = exchange.request
        try:
            with running(exchange):
                response = self._call(exchange)
        except Exception as error:  # a bug here must still answer, and be seen
            log.error("web: %s on %s %s", type(error).__name__, request.method, request.safe_url)
            response = Response(0, error=type(error).__name__)
        exchange.answer(response)  # dropped if the deadline passed: "timed out" was answered

    def _call(self, exchange: Exchange) -> Response:
        request, deadline = exchange.request, exchange.deadline
        if not _allowed(request.url):
            return Response(0, error=BAD_URL)
        try:
            with self._send(request, deadline) as reply:
                try:
                    data = self._read(reply, deadline)
                finally:
                    exchange.detach()  # before `with` puts the connection back in the pool
                return Response(reply.status_code, _json_or_none(data))
        except _Stop as stop:
            return Response(0, error=str(stop))
        except (requests.RequestException, HTTPError) as error:  # urllib3's may slip through
            return Response(0, error=_reason(error))

    def _send(self, request: WebRequest, deadline: float) -> requests.Response:
        _check(deadline)
        left = deadline - time.monotonic()  # each socket wait; the watchdog bounds their sum
        return self.session.request(
            request.method,
            request.url,
            headers=dict(request.headers),
            json=request.body,
            timeout=(left, left),
            stream=True,  # read by hand, to stop at the size cap
            allow_redirects=False,  # a redirect is the flow's to see, not ours to follow
        )

    def _read(self, reply: requests.Response, deadline: float) -> bytes:
        too_large = f"reply larger than {self.max_bytes} bytes"
        declared = reply.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise _Stop(too_large)  # refuse before reading any of it
        data = bytearray()
        for chunk in reply.iter_content(CHUNK):
            data += chunk
            if len(data) > self.max_bytes:
                raise _Stop(too_large)
            _check(deadline)  # where the watchdog cannot cut (a SOCKS proxy): between reads
        _check(deadline)  # a body that "ended" when the watchdog shut the socket is no body
        return bytes(data)

    def _answer(self, done: Done, response: Response) -> None:
        try:
            done(response)
        except Exception:  # on a worker nobody else would ever see it
            log.exception("web: the done callback failed")
        finally:
            self.wake()  # after done, so the loop finds the answer waiting


class _HostShares:
    """At most `limit` exchanges in flight per host:port; the others wait here, in order,
    holding no worker, until `hand_on` gives them a slot."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()
        self._waiting: dict[str, deque[Exchange]] = {}

    def take(self, host: str, exchange: Exchange) -> bool:
        """True: the exchange holds a slot now; False: it waits for one."""
        with self._lock:
            if self._busy[host] < self.limit:
                self._busy[host] += 1
                return True
            self._waiting.setdefault(host, deque()).append(exchange)
            return False

    def hand_on(self, host: str) -> Exchange | None:
        """A slot of `host` is free: the next exchange waiting that still needs it takes it
        (returned), or the slot is given back (None)."""
        with self._lock:
            waiting = self._waiting.get(host)
            while waiting:
                exchange = waiting.popleft()
                if not exchange.answered:  # one that expired while waiting needs no slot
                    return exchange
            self._waiting.pop(host, None)
            self._busy[host] -= 1
            if self._busy[host] <= 0:
                del self._busy[host]  # URLs are templates: keep only the hosts in use
            return None

    def drain(self) -> list[Exchange]:
        """Every exchange still waiting, taken out (at close)."""
        with self._lock:
            waiting = [exchange for line in self._waiting.values() for exchange in line]
            self._waiting.clear()
        return waiting


def _answer_if_cancelled(exchange: Exchange) -> Callable[[Future[None]], None]:
    def answer(future: Future[None]) -> None:
        if future.cancelled():  # dropped by close() before a worker took it
            exchange.answer(CLOSED)

    return answer


def _allowed(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc)


def _host_of(url: str) -> str:
    """host:port, what a share is counted by ("" for a URL too bad to name one)."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:  # refused as a bad URL by the worker, at once
        return ""
    return f"{parts.hostname or ''}:{port}"


def _check(deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise _Stop(TIMED_OUT)


def _json_or_none(data: bytes) -> Any:
    # Whatever the Content-Type says: services label JSON text/plain, and a JSON type with a
    # body that does not parse leaves nothing to use either.
    if not data.strip():
        return None
    try:
        value = json.loads(data)  # bytes: UTF-8/16/32 detected as RFC 8259 allows
        # A lone surrogate, escaped ("\ud800") or encoded (json lets both through), is not a
        # character: text holding one fails in every log, template or ARI request it reaches.
        json.dumps(value, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # also Unicode errors; RecursionError: nested too deep
        return None
    return value


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
