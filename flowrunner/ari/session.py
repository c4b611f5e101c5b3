"""The ARI events WebSocket: connect, read, keep alive, reconnect forever.

`AriSession.serve` is the live loop, on one thread: it waits for the socket, a wake-up (an HTTP
reply, a stop) or the engine's next timer, whichever comes first; then it hands what arrived to
the engine and runs the engine's due timers. One thread, so no per-message hand-off between a
reader and the engine (measured: the two threads contending for the GIL cost more CPU than the
engine itself). After every (re)connect the session probes REST over the WebSocket (Asterisk
22; HTTP meanwhile, and on older ones) and tells the engine which channels are still in each
app, so calls that vanished meanwhile can be ended.

Nothing Asterisk sends can stop the loop or take the runner down: frames are read without
waiting (`frames.py`), each message is parsed and delivered in its own guard, and a malformed one
is skipped and counted (`throttle.py`), never a reason to reconnect. Only a broken stream (not
RFC 6455, a message over `frames.MAX_MESSAGE`, the end of it) or a dead link reconnects, and
the requests it had in flight then go over HTTP where they can (`rest.py`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import quote, urlsplit, urlunsplit

import websocket

from ..ports import Request
from .event_filter import Reacted, set_filter
from .frames import CLOSE, PING, TEXT, Closed, FrameReader, ProtocolError, receive
from .http import HttpTransport
from .masks import MaskKeys
from .rest import SwitchingTransport, reply_of, rest_message
from .throttle import Throttle, json_object

log = logging.getLogger("flowrunner.ari")

PING_EVERY = 10.0  # seconds without a whole frame before we ping
PONG_WITHIN = 10.0  # seconds we then wait for any whole frame before calling the link dead
REQUEST_TIMEOUT = 10.0
TICK = 1.0  # seconds between two checks of the request timeouts and the keepalive
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 30.0
RETRY_NOT_UP = (0.15, 0.35)  # seconds between tries while Asterisk is down or starting
CONNECT_TIMEOUT = 15.0  # seconds for the WebSocket handshake (each read: 5 s)
STABLE_AFTER = 10.0  # seconds a link must have lasted for the backoff to start over
PROBE = "probe"  # the request id of the REST-over-WebSocket probe

ChannelsInApp = Callable[[str, frozenset[str]], None]
Connect = Callable[["AriConfig"], websocket.WebSocket]
LINK_ERRORS = (websocket.WebSocketException, OSError, ValueError, ProtocolError, Closed)


class Engine(Protocol):
    """What the live loop drives: the runtime."""

    def post(self, message: object) -> None: ...

    def run_due(self) -> float | None:
        """Run what is due (messages, timers); return the seconds until more is due, None if
        nothing is."""
        ...


@dataclass(frozen=True)
class AriConfig:
    url: str  # http(s)://host[:port][/path], e.g. http://localhost:8088
    user: str
    password: str
    apps: tuple[str, ...]
    transport: str = "auto"  # auto | websocket | http

    @property
    def events_url(self) -> str:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        path = parts.path.rstrip("/") + "/ari/events"  # under the same prefix as HTTP's /ari/
        query = "app=" + ",".join(quote(app) for app in self.apps) + "&subscribeAll=false"
        return urlunsplit((scheme, _host(parts.netloc), path, query, ""))

    @property
    def safe_url(self) -> str:
        """The URL for logs: never any credentials."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, _host(parts.netloc), parts.path, "", ""))


def _host(netloc: str) -> str:
    """`user:password@host:port` -> `host:port`: credentials travel in a header only."""
    return netloc.rsplit("@", 1)[-1]


def not_up_yet(error: BaseException) -> bool:
    """Asterisk is down or still starting: the connection is refused, then its HTTP server
    answers 404 and 503 for a moment (seen on 22.10) before ARI is up."""
    status = getattr(error, "status_code", None)
    return isinstance(error, ConnectionRefusedError) or status in (404, 502, 503)


class Outage:
    """How long ARI has been out, and the last reason logged: each change is logged once."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.reason = ""

    def says(self, reason: str) -> bool:
        """True when `reason` is news (log it)."""
        self.since = self.since or time.monotonic()
        news, self.reason = reason != self.reason, reason
        return news

    def over(self) -> str:
        """For the connect line: how long it was out (empty after no outage)."""
        if self.since is None:
            return ""
        seconds, self.since, self.reason = time.monotonic() - self.since, None, ""
        return f" (after {seconds:.1f}s out)"


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 30 s, each ±50%."""
    ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt)
    return (rng or random).uniform(ceiling / 2, ceiling)


class AriSession:
    def __init__(
        self,
        config: AriConfig,
        connect: Connect | None = None,
        http: HttpTransport | None = None,
    ) -> None:
        """`connect` opens the events WebSocket and `http` is the HTTP transport: both are
        parameters for the tests only (the defaults talk to Asterisk)."""
        self.config = config
        self._open = connect or create_connection
        self.http = http or HttpTransport(config.safe_url, config.user, config.password)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        # Workers may still call wake() while close() runs (and a signal handler may, on the
        # thread that runs close): the lock keeps them off a closed, perhaps reused, descriptor.
        self._wake_lock = threading.RLock()
        self._closed = False
        self.transport = SwitchingTransport(self.http, self.wake)
        self.rest = self.transport.rest
        self.skipped = Throttle(log)
        self._replaced: set[str] = set()  # apps another client took over on this connection
        self.stopping = threading.Event()
        self.resubscribing = threading.Event()  # the apps changed: connect again, at once
        self.connected = False  # the events WebSocket is open, for every app (readiness)
        self.connections = 0  # how many times it was opened: reconnects are the rest
        self.reacted: Reacted | None = None  # see hear_only

    def wake(self) -> None:
        """Rouse the live loop from any thread (or a signal handler)."""
        with self._wake_lock:
            if not self._closed:
                with contextlib.suppress(BlockingIOError):  # a full pipe: the loop wakes anyway
                    os.write(self._wake_write, b"!")

    def hear_only(self, reacted: Reacted) -> None:
        """From the next connect on, and at each change of the flows, each app is sent only
        the events flowrunner reads and those `reacted(app)` names (`event_filter.py`)."""
        self.reacted = reacted

    def subscribe(self, apps: tuple[str, ...]) -> None:
        """Serve these apps from now on: the events WebSocket is opened again for them (an app
        is subscribed by connecting for it), else their flows changed and their event filters
        are set again. From the loop's thread."""
        if apps != self.config.apps:
            self.config = dataclasses.replace(self.config, apps=apps)
            self.resubscribing.set()
            self.wake()
        elif self.connected:
            self._filter_events()

    def _filter_events(self) -> None:
        if self.reacted is not None:
            for app in self.config.apps:
                set_filter(self.transport, app, self.reacted(app))

    def stop(self) -> None:
        """Ask `serve` to return; safe from a signal handler."""
        self.stopping.set()
        self.wake()

    def close(self) -> None:
        self.http.close()
        with self._wake_lock:
            self._closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    # -- the live loop -----------------------------------------------------------------------

    def serve(self, engine: Engine, channels_in_app: ChannelsInApp) -> None:
        """Run until `stop()`: connect (again and again), feed the engine, fire its timers.
        After each (re)connect, `channels_in_app(app, ids)` says which channels Asterisk still
        has in each app."""
        attempt, outage = 0, Outage()
        while not self.stopping.is_set():
            ws, opened, failure = None, float("inf"), None
            try:
                ws = self._connect(engine)
                opened = time.monotonic()
                self.connected, self.connections = True, self.connections + 1
                self._on_connected(ws, channels_in_app, outage.over())
                self._read(ws, engine)
            except LINK_ERRORS as error:
                failure = error
            finally:
                self._disconnect(ws)
            if self.stopping.is_set():
                return
            if self.resubscribing.is_set():
                self.resubscribing.clear()
                continue
            if time.monotonic() - opened >= STABLE_AFTER:
                attempt = 0  # not on open: a server that accepts and drops must not storm
            if failure is not None and outage.says(_describe(failure)):  # once per change
                log.warning("ARI at %s: %s", self.config.safe_url, _describe(failure))
            if failure is not None and not_up_yet(failure):
                delay = random.uniform(*RETRY_NOT_UP)  # it may be back any moment: try often
            else:
                delay, attempt = backoff(attempt), attempt + 1
                log.info("reconnecting to ARI in %.1fs (attempt %d)", delay, attempt)
            self._wait(engine, self._poller(None), time.monotonic() + delay)

    def _connect(self, engine: Engine) -> websocket.WebSocket:
        """Open the events WebSocket on a helper thread while the loop runs the engine: the
        handshake reads with blocking calls, and a server that answers it a byte at a time (or
        never) would hold every timer. Given up after CONNECT_TIMEOUT."""
        opening = _Opening(self._open, self.config, self.wake)
        self._wait(engine, self._poller(None), time.monotonic() + CONNECT_TIMEOUT, opening.done)
        return opening.result()

    def _poller(self, ws: websocket.WebSocket | None) -> select.poll:
        """What the loop waits on: the wake-up pipe, and the ARI socket when connected. (Two
        descriptors: poll(2) needs no epoll descriptor to open and close, and no `selectors`
        bookkeeping at each wake-up.)"""
        poller = select.poll()
        poller.register(self._wake_read, select.POLLIN)
        if ws is not None and ws.sock is not None:
            poller.register(ws.sock, select.POLLIN)
        return poller

    def _wait(
        self, engine: Engine, poller: select.poll, until: float, done: threading.Event | None = None
    ) -> bool:
        """Wait for the socket (True when it is readable, or broken), `done` (set, then a
        wake-up), the engine's next timer or `until`; run what became due on the way."""
        while not self.stopping.is_set() and not (done is not None and done.is_set()):
            next_due = engine.run_due()
            timeout = until - time.monotonic()
            if timeout <= 0:
                return False
            if next_due is not None and next_due < timeout:
                timeout = next_due
            for fd, _ in poller.poll(math.ceil(timeout * 1000)):  # ms, rounded up: no spinning
                if fd == self._wake_read:
                    _empty(self._wake_read)
                else:
                    return True
        return False

    def _on_connected(
        self, ws: websocket.WebSocket, channels_in_app: ChannelsInApp, down: str = ""
    ) -> None:
        mode = self.config.transport
        self.transport.use_websocket = mode == "websocket"
        self.rest.attach(ws)
        self._replaced.clear()
        if mode == "auto":  # its answer comes with the events, and switches the transport
            ws.send(json.dumps(rest_message(PROBE, Request("GET", "asterisk/ping"))))
        log.info(
            "connected to ARI at %s for app %s; REST over %s%s",
            self.config.safe_url,
            ", ".join(self.config.apps),
            self.transport.name if mode != "auto" else "http until Asterisk answers the probe",
            down,
        )
        self._filter_events()
        for app in self.config.apps:
            self._list_channels(app, channels_in_app)

    def _list_channels(self, app: str, channels_in_app: ChannelsInApp) -> None:
        reply = self.http.call(Request("GET", f"applications/{quote(app)}"))
        ids = reply.body.get("channel_ids") if isinstance(reply.body, dict) else None
        if reply.ok and isinstance(ids, list) and all(isinstance(i, str) for i in ids):
            channels_in_app(app, frozenset(ids))
        else:
            why = reply.describe() if not reply.ok else "the reply has no list of channel ids"
            log.warning("could not list the channels of app %s: %s", app, why)

    def _read(self, ws: websocket.WebSocket, engine: Engine) -> None:
        """Read frames as they come, between the engine's timers; keep the link alive. Only a
        whole frame counts as a sign of life: a frame dripped forever ends as a dead link."""
        reader = FrameReader()
        last_heard, pinged = time.monotonic(), False
        next_check = last_heard + TICK  # every TICK, busy link or not: request timeouts
        poller = self._poller(ws)
        while not self.stopping.is_set() and not self.resubscribing.is_set():
            readable = self._wait(engine, poller, next_check, self.resubscribing)
            heard = readable and self._read_frames(ws, reader, engine)
            if self.rest.send_error is not None:
                raise self.rest.send_error
            now = time.monotonic()
            if heard:
                last_heard, pinged = now, False
            if now < next_check:
                continue
            next_check = now + TICK
            self.skipped.flush()
            self.rest.fail_pending(now - REQUEST_TIMEOUT, "timed out")
            if now - last_heard > PING_EVERY + PONG_WITHIN:
                raise websocket.WebSocketTimeoutException("no answer to keepalive ping")
            if now - last_heard > PING_EVERY and not pinged:
                ws.ping()
                pinged = True

    def _read_frames(self, ws: websocket.WebSocket, reader: FrameReader, engine: Engine) -> bool:
        """Take what the socket has, and deliver each message it completes; True if any."""
        reader.feed(receive(cast(socket.socket, ws.sock)))  # readable, so open
        heard, ping = False, None
        for opcode, data in reader.messages():
            heard = True
            if opcode == TEXT:
                self._deliver(data, engine)
            elif opcode == PING:
                ping = data
            elif opcode == CLOSE:
                raise Closed(f"closed by Asterisk{_close_reason(data)}")
        if ping is not None:  # one pong for a burst of pings: RFC 6455 5.5.3 allows it
            ws.pong(ping)
        return heard

    def _deliver(self, data: bytes, engine: Engine) -> None:
        """Hand one text message on, in its own guard: a REST reply to its request, anything
        else to the engine (which reads events defensively). What cannot be read is skipped."""
        message = json_object(data, self.skipped)
        if message is None:
            return
        try:
            self._dispatch(message, engine)
        except Exception as error:  # a bug of ours: it must cost this message only
            self.skipped.warn("a message flowrunner failed on", f"{type(error).__name__}")
            log.debug("failed on an ARI message", exc_info=True)

    def _dispatch(self, message: dict[str, Any], engine: Engine) -> None:
        kind = message.get("type")
        if kind == "RESTResponse":
            self._on_rest_response(message)
        elif kind == "ApplicationReplaced":
            self._on_replaced(message.get("application"))
        else:
            engine.post(message)

    def _on_replaced(self, app: object) -> None:
        """Logged once per app and connection: Asterisk sends it once, a flood is hostile."""
        if app not in self.config.apps:
            self.skipped.warn("an ApplicationReplaced for an app not served here", str(app)[:100])
        elif app not in self._replaced:
            self._replaced.add(str(app))
            log.error("another client took over app %s: no more events for it here", app)

    def _on_rest_response(self, message: dict[str, Any]) -> None:
        response, problem = reply_of(message)
        request_id = message.get("request_id")
        if problem:
            self.skipped.warn(problem, f"request {str(request_id)[:20]}")
        if request_id != PROBE:
            self.rest.on_response(str(request_id), response)
        elif self.config.transport == "auto":
            self.transport.use_websocket = response.status == 200
            log.info("REST over %s", self.transport.name)

    @property
    def replaced(self) -> frozenset[str]:
        """The apps another client took over on this connection: no events for them here."""
        return frozenset(self._replaced)

    def _disconnect(self, ws: websocket.WebSocket | None) -> None:
        self.connected = False
        self.transport.use_websocket = False
        self.rest.detach()  # what was in flight: sent again over HTTP, or failed
        if ws is not None:
            _close(ws)


class _Opening:
    """One WebSocket being opened on its own thread; `done` is set (and `wake` called) when it
    is open or has failed. Given up, it closes its socket if one still comes."""

    def __init__(self, open_: Connect, config: AriConfig, wake: Callable[[], None]) -> None:
        self.done = threading.Event()
        self._open, self._config, self._wake = open_, config, wake
        self._outcome: websocket.WebSocket | Exception | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="ari-connect", daemon=True).start()

    def _run(self) -> None:
        try:
            outcome: websocket.WebSocket | Exception = self._open(self._config)
        except Exception as error:
            outcome = error
        with self._lock:
            given_up = self._outcome is not None
            self._outcome = outcome
        if given_up and not isinstance(outcome, Exception):
            _close(outcome)
        self.done.set()
        self._wake()

    def result(self) -> websocket.WebSocket:
        """The open WebSocket; else its error, or TimeoutError if it is not open yet."""
        with self._lock:
            if self._outcome is None:
                self._outcome = TimeoutError(f"no WebSocket handshake in {CONNECT_TIMEOUT:.0f}s")
            outcome = self._outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def create_connection(config: AriConfig) -> websocket.WebSocket:
    """Open the events WebSocket of `config` (the default `connect` of `AriSession`)."""
    token = base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
    ws: websocket.WebSocket = websocket.create_connection(
        config.events_url,
        header=[f"Authorization: Basic {token}"],
        timeout=5,  # for the handshake, then for each send
        skip_utf8_validation=True,  # the JSON decoder still rejects invalid text
        enable_multithread=True,
        suppress_origin=True,  # else Asterisk logs an Origin mismatch on every connect
        get_mask_key=MaskKeys(),  # a system call per batch of frames, not per frame
    )
    return ws


def _close(ws: websocket.WebSocket) -> None:
    """Say goodbye without waiting: websocket-client's close() would wait 3 s for an answer,
    and its send for room in a full socket buffer."""
    sock = ws.sock
    if sock is not None:
        sock.settimeout(0.0)
    ws.close(timeout=0)  # sends a close frame if it fits
    if sock is not None:
        sock.close()  # close() does nothing to a link it already thinks down


def _close_reason(payload: bytes) -> str:
    if len(payload) < 2:
        return ""
    code = int.from_bytes(payload[:2], "big")
    reason = payload[2:].decode("utf-8", "replace")[:80]
    return f" ({code}: {reason})" if reason else f" ({code})"


def _empty(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


def _describe(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    if status == 401:
        return "401 Unauthorized: check --ari-user and --ari-password"
    if isinstance(status, int):  # its message holds every header Asterisk sent: too much
        return f"the events WebSocket was refused with HTTP status {status}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is Asterisk running, with http.conf enabled?)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
