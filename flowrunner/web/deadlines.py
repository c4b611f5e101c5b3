"""Deadlines the socket obeys: every web exchange is answered by its deadline, and its worker
is free again, whatever the server does.

A socket timeout bounds each wait, not their sum: a server sending one byte a second never trips
a 2 s read timeout and could hold a worker for as long as it liked. So every exchange is watched
from the moment it is submitted. At its deadline the `Watchdog` answers it: "timed out" if it
was being sent, "timed out before it was sent" if it was still queued (it never will be). And it
shuts down the socket of the connection carrying it, which at once wakes the worker blocked in
recv or send on it; the worker finds the socket dead, gives up, and takes the next request.

The watchdog finds that socket because urllib3 is given connection classes (`CuttableAdapter`)
that tell the exchange running on their thread which connection carries it: a worker runs one
exchange at a time, and a kept-alive connection serves one exchange after another.

The engine arms its own timer for the same timeout when it submits a request, and says
HttpTimedOut when it fires. So the deadline here is that timeout plus GRACE: the engine's timer
fires first, and the client's "timed out" comes a moment later, to a step that has moved on and
drops it. (At the same instant the answer would win the race, and the flow would see HttpFailed.)
A request is not sent after the timeout itself, though: nobody would read its answer.

Not cut, only bounded by the time left on each wait: the DNS lookup (the resolver's own
timeouts), the TCP connect to each address, and a TLS handshake, all before urllib3 hands over
the socket. Their exchange is still answered at its deadline; only the worker is late.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from ..ports import Done, Response, WebRequest

TIMED_OUT = "timed out"
NOT_SENT = "timed out before it was sent"
MAX_TIMEOUT = 3600.0  # seconds: longer ones are cut to this, which every timer can hold
GRACE = 0.1  # seconds after the timeout: the engine's own timer speaks first (see above)


class Exchange:
    """One request, from submit to its one answer: whoever comes first gives it (the worker with
    the reply, the watchdog at the deadline, or close) and the others' answers are dropped."""

    def __init__(self, request: WebRequest, on_answer: Done) -> None:
        self.request = request
        timeout = request.timeout if request.timeout > 0 else 0.0  # NaN too: due at once
        self.send_by = time.monotonic() + min(timeout, MAX_TIMEOUT)  # not sent after this
        self.deadline = self.send_by + GRACE  # answered, and its socket cut, by this
        self._on_answer = on_answer
        self._lock = threading.Lock()
        self._sending = False
        self._answered = False
        self._connection: HTTPConnection | None = None

    @property
    def answered(self) -> bool:
        return self._answered

    def start(self) -> bool:
        """On the worker, before sending: False if it must not be sent (answered already, or
        too late: the watchdog answers it at the deadline, after the engine's timer)."""
        with self._lock:
            if self._answered or time.monotonic() >= self.send_by:
                return False
            self._sending = True
            return True

    def answer(self, response: Response) -> None:
        with self._lock:
            if self._answered:
                return
            self._answered = True
            self._connection = None  # the worker may reuse it now: no longer ours to cut
        self._on_answer(response)

    def expire(self) -> None:
        """At the deadline (on the watchdog): answer it, and cut its connection if it has one.
        Answered under the same lock as the cut, so the worker's answer (the error it gets
        from the dead socket) comes second and is dropped."""
        with self._lock:
            if self._answered:
                return
            self._answered = True
            if self._connection is not None:
                _cut(self._connection)  # under the lock: the worker cannot have moved on yet
                self._connection = None
            response = Response(0, error=TIMED_OUT if self._sending else NOT_SENT)
        self._on_answer(response)

    def detach(self) -> None:
        """The reply is read: its connection may go back to the pool, to carry another."""
        with self._lock:
            self._connection = None

    def attach(self, connection: HTTPConnection) -> None:
        """The connection now carrying this exchange (called on the worker's thread)."""
        with self._lock:
            if self._answered:  # expired while it connected: stop it now
                _cut(connection)
            else:
                self._connection = connection


class Watchdog:
    """A thread that expires every exchange still unanswered at its deadline. It runs while
    there is something to watch and stops by itself, so there is nothing to close."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Exchange]] = []  # a heap, earliest deadline first
        self._order = itertools.count()  # breaks ties: exchanges do not compare
        self._changed = threading.Condition()
        self._running = False

    @property
    def active(self) -> bool:
        """Whether its thread runs (while some exchange watched has a deadline ahead)."""
        return self._running

    def watch(self, exchange: Exchange) -> None:
        with self._changed:
            heapq.heappush(self._due, (exchange.deadline, next(self._order), exchange))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="web-watchdog", daemon=True).start()
            elif self._due[0][2] is exchange:  # the earliest deadline now: wake up sooner
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                due = self._pop_due()
                if not due and not self._due:
                    self._running = False
                    return
                if not due:
                    self._changed.wait(self._due[0][0] - time.monotonic())
                    continue
            for exchange in due:  # outside the lock: answering runs the caller's callback
                exchange.expire()

    def _pop_due(self) -> list[Exchange]:
        """The exchanges past their deadline and unanswered; the answered ones are dropped."""
        now, due = time.monotonic(), []
        while self._due and (self._due[0][0] <= now or self._due[0][2].answered):
            exchange = heapq.heappop(self._due)[2]
            if not exchange.answered:
                due.append(exchange)
        return due


@contextlib.contextmanager
def running(exchange: Exchange) -> Iterator[None]:
    """Run `exchange` on this thread: the connections it uses attach themselves to it."""
    _running.exchange = exchange
    try:
        yield
    finally:
        _running.exchange = None


_running = threading.local()


class CuttableAdapter(HTTPAdapter):
    """requests' adapter, with urllib3 pools of connections that attach to their exchange."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # not SOCKS: its pools have classes of their own
            manager.pool_classes_by_scheme = POOLS
        return manager


class _Connection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)  # a new connection: its socket can be cut from now on

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _TlsConnection(_Connection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _Pool, "https": _TlsPool}


def _attach(connection: HTTPConnection) -> None:
    exchange: Exchange | None = getattr(_running, "exchange", None)
    if exchange is not None:
        exchange.attach(connection)


def _cut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if not isinstance(sock, socket.socket):  # not connected, or TLS inside TLS (no fd of its own)
        return
    # shutdown, not close: it wakes a recv or send blocked on another thread at once (close would
    # not, and would free the fd for reuse under it). The plain socket's shutdown, not SSLSocket's:
    # that one drops the TLS state the worker is still reading through.
    with contextlib.suppress(OSError):  # closed meanwhile: nothing left to cut
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
