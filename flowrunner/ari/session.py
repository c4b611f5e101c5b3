"""The ARI events WebSocket: connect, read, keep alive, reconnect forever; and REST over it.

`AriSession.serve` is the live loop, on one thread: it waits for the socket, a wake-up (an HTTP
reply, a stop) or the engine's next timer, whichever comes first; then it hands what arrived to
the engine and runs the engine's due timers. One thread, so no per-message hand-off between a
reader and the engine (measured: the two threads contending for the GIL cost more CPU than the
engine itself). After every (re)connect the session picks the REST transport (REST over this
WebSocket on Asterisk 22, else HTTP) and tells the engine which channels are still in each app,
so calls that vanished meanwhile can be ended.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import os
import random
import selectors
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import websocket

from ..ports import Done, Request, Response
from .http import HttpTransport, response_from

log = logging.getLogger("flowrunner.ari")

PING_EVERY = 10.0  # seconds of silence before we ping
PONG_WITHIN = 10.0  # seconds we then wait for any frame before calling the link dead
REQUEST_TIMEOUT = 10.0
PROBE_TIMEOUT = 2.0
TICK = 1.0  # seconds between two checks of the request timeouts and the keepalive
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 30.0

ChannelsInApp = Callable[[str, frozenset[str]], None]
Connect = Callable[["AriConfig"], websocket.WebSocket]


class Engine(Protocol):
    """What the live loop drives: the runtime."""

    def post(self, message: object) -> None: ...
    def drain(self) -> None: ...
    def fire_due_timers(self) -> None: ...
    def seconds_to_next_timer(self) -> float | None: ...


@dataclass(frozen=True)
class AriConfig:
    url: str  # e.g. http://localhost:8088
    user: str
    password: str
    apps: tuple[str, ...]
    transport: str = "auto"  # auto | websocket | http

    @property
    def events_url(self) -> str:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = "app=" + ",".join(quote(app) for app in self.apps) + "&subscribeAll=false"
        return urlunsplit((scheme, _host(parts.netloc), "/ari/events", query, ""))

    @property
    def safe_url(self) -> str:
        """The URL for logs: never any credentials."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, _host(parts.netloc), parts.path, "", ""))


def _host(netloc: str) -> str:
    """`user:password@host:port` -> `host:port`: credentials travel in a header only."""
    return netloc.rsplit("@", 1)[-1]


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 30 s, each ±50%."""
    ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt)
    return (rng or random).uniform(ceiling / 2, ceiling)


class WebSocketRest:
    """REST requests sent as `RESTRequest` messages on the events WebSocket (Asterisk 22+)."""

    name = "websocket"

    def __init__(self) -> None:
        self._ws: websocket.WebSocket | None = None
        self._pending: dict[str, tuple[Done, float]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def attach(self, ws: websocket.WebSocket | None) -> None:
        self._ws = ws
        if ws is None:
            self.fail_pending(float("inf"), "connection lost")

    def submit(self, request: Request, done: Done) -> None:
        request_id = str(next(self._ids))
        message = {
            "type": "RESTRequest",
            "transaction_id": request_id,
            "request_id": request_id,
            "method": request.method,
            "uri": request.uri,
        }
        if request.body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = json.dumps(request.body)
        with self._lock:
            self._pending[request_id] = (done, time.monotonic())
        try:
            if self._ws is None:
                raise websocket.WebSocketConnectionClosedException("not connected")
            self._ws.send(json.dumps(message))
        except (websocket.WebSocketException, OSError) as error:
            failed = Response(0, error=str(error) or "send failed")
            self._take(request_id, lambda done: done(failed))

    def on_response(self, message: dict[str, Any]) -> None:
        response = response_from(
            int(message.get("status_code", 0)), message.get("message_body", "")
        )
        self._take(str(message.get("request_id", "")), lambda done: done(response))

    def fail_pending(self, sent_before: float, reason: str) -> None:
        """Answer `reason` to every request sent before `sent_before` (monotonic seconds)."""
        with self._lock:
            ids = [rid for rid, (_, sent) in self._pending.items() if sent < sent_before]
        for rid in ids:
            self._take(rid, lambda done: done(Response(0, error=reason)))

    def _take(self, request_id: str, then: Callable[[Done], None]) -> None:
        with self._lock:
            entry = self._pending.pop(request_id, None)
        if entry is not None:
            then(entry[0])


class SwitchingTransport:
    """The transport the engine sees: REST over the WebSocket when the server has it, else HTTP.
    HTTP replies arrive on worker threads: `wake` then rouses the live loop to process them."""

    def __init__(self, rest: WebSocketRest, http: HttpTransport, wake: Callable[[], None]) -> None:
        self.rest, self.http, self.wake = rest, http, wake
        self.use_websocket = False

    @property
    def name(self) -> str:
        return self.rest.name if self.use_websocket else self.http.name

    def submit(self, request: Request, done: Done) -> None:
        if self.use_websocket:
            self.rest.submit(request, done)
        else:
            self.http.submit(request, lambda response: self._done_then_wake(done, response))

    def _done_then_wake(self, done: Done, response: Response) -> None:
        done(response)
        self.wake()


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
        self.rest = WebSocketRest()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.transport = SwitchingTransport(self.rest, self.http, self.wake)
        self.stopping = threading.Event()

    def wake(self) -> None:
        """Rouse the live loop from any thread (or a signal handler)."""
        with contextlib.suppress(BlockingIOError):  # a full pipe: the loop will wake anyway
            os.write(self._wake_write, b"!")

    def stop(self) -> None:
        """Ask `serve` to return; safe from a signal handler."""
        self.stopping.set()
        self.wake()

    def close(self) -> None:
        self.http.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    # -- the live loop -----------------------------------------------------------------------

    def serve(self, engine: Engine, channels_in_app: ChannelsInApp) -> None:
        """Run until `stop()`: connect (again and again), feed the engine, fire its timers.
        After each (re)connect, `channels_in_app(app, ids)` says which channels Asterisk still
        has in each app."""
        attempt = 0
        while not self.stopping.is_set():
            ws = None
            try:
                ws = self._open(self.config)
                attempt = 0
                self._on_connected(ws, engine, channels_in_app)
                self._read(ws, engine)
            except (websocket.WebSocketException, OSError, ValueError) as error:
                if not self.stopping.is_set():
                    log.warning("ARI at %s: %s", self.config.safe_url, _describe(error))
            finally:
                self._disconnect(ws)
            if not self.stopping.is_set():
                delay = backoff(attempt)
                attempt += 1
                log.info("reconnecting to ARI in %.1fs (attempt %d)", delay, attempt)
                with self._selector(None) as selector:
                    self._wait(engine, selector, time.monotonic() + delay)

    def _selector(self, ws: websocket.WebSocket | None) -> selectors.BaseSelector:
        """What the loop waits on: the wake-up pipe, and the ARI socket when connected."""
        selector = selectors.DefaultSelector()
        selector.register(self._wake_read, selectors.EVENT_READ)
        if ws is not None and ws.sock is not None:
            selector.register(ws.sock, selectors.EVENT_READ)
        return selector

    def _wait(self, engine: Engine, selector: selectors.BaseSelector, until: float) -> bool:
        """Wait for the socket (True when it is readable), a wake-up, the engine's next timer
        or `until`; run what became due on the way."""
        while not self.stopping.is_set():
            engine.drain()
            engine.fire_due_timers()
            engine.drain()
            now = time.monotonic()
            if now >= until:
                return False
            next_timer = engine.seconds_to_next_timer()
            timeout = until - now if next_timer is None else min(until - now, next_timer)
            for key, _ in selector.select(max(0.0, timeout)):
                if key.fd == self._wake_read:
                    _empty(self._wake_read)
                else:
                    return True
        return False

    def _on_connected(
        self, ws: websocket.WebSocket, engine: Engine, channels_in_app: ChannelsInApp
    ) -> None:
        early = self._choose_transport(ws)
        self.rest.attach(ws)
        log.info(
            "connected to ARI at %s for app %s; REST over %s",
            self.config.safe_url,
            ", ".join(self.config.apps),
            self.transport.name,
        )
        for app in self.config.apps:
            self._list_channels(app, channels_in_app)
        for event in early:
            self._deliver(event, engine)

    def _choose_transport(self, ws: websocket.WebSocket) -> list[dict[str, Any]]:
        """Probe REST over the WebSocket; return the events that arrived meanwhile."""
        mode = self.config.transport
        self.transport.use_websocket = mode == "websocket"
        if mode != "auto":
            return []
        ws.send(
            json.dumps(
                {
                    "type": "RESTRequest",
                    "transaction_id": "probe",
                    "request_id": "probe",
                    "method": "GET",
                    "uri": "asterisk/ping",
                }
            )
        )
        early, deadline = [], time.monotonic() + PROBE_TIMEOUT
        while time.monotonic() < deadline:
            ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                message = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if message.get("type") == "RESTResponse" and message.get("request_id") == "probe":
                self.transport.use_websocket = int(message.get("status_code", 0)) == 200
                break
            early.append(message)
        return early

    def _list_channels(self, app: str, channels_in_app: ChannelsInApp) -> None:
        reply = self.http.call(Request("GET", f"applications/{quote(app)}"))
        if reply.ok and isinstance(reply.body, dict):
            channels_in_app(app, frozenset(reply.body.get("channel_ids", [])))
        else:
            log.warning("could not list the channels of app %s: %s", app, reply.describe())

    def _read(self, ws: websocket.WebSocket, engine: Engine) -> None:
        """Read frames as they come, between the engine's timers; keep the link alive."""
        ws.settimeout(5.0)  # only guards a frame that arrives in pieces
        last_heard, pinged = time.monotonic(), False
        next_check = last_heard + TICK  # every TICK, busy link or not: request timeouts
        with self._selector(ws) as selector:
            while not self.stopping.is_set():
                if self._wait(engine, selector, next_check):
                    last_heard, pinged = time.monotonic(), False
                    self._read_frames(ws, engine)
                now = time.monotonic()
                if now < next_check:
                    continue
                next_check = now + TICK
                self.rest.fail_pending(now - REQUEST_TIMEOUT, "timed out")
                if now - last_heard > PING_EVERY + PONG_WITHIN:
                    raise websocket.WebSocketTimeoutException("no answer to keepalive ping")
                if now - last_heard > PING_EVERY and not pinged:
                    ws.ping()
                    pinged = True

    def _read_frames(self, ws: websocket.WebSocket, engine: Engine) -> None:
        """Read one frame, and those TLS has already decrypted (select cannot see them)."""
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise websocket.WebSocketConnectionClosedException("closed by Asterisk")
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self._deliver(json.loads(data), engine)
            if not (isinstance(ws.sock, ssl.SSLSocket) and ws.sock.pending()):
                return

    def _deliver(self, message: dict[str, Any], engine: Engine) -> None:
        kind = message.get("type")
        if kind == "RESTResponse":
            self.rest.on_response(message)
        elif kind == "ApplicationReplaced":
            log.error(
                "another client took over app %s: no more events for it here",
                message.get("application"),
            )
        else:
            engine.post(message)

    def _disconnect(self, ws: websocket.WebSocket | None) -> None:
        self.rest.attach(None)
        if ws is not None:
            ws.close()


def create_connection(config: AriConfig) -> websocket.WebSocket:
    """Open the events WebSocket of `config` (the default `connect` of `AriSession`)."""
    token = base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
    ws: websocket.WebSocket = websocket.create_connection(
        config.events_url,
        header=[f"Authorization: Basic {token}"],
        timeout=5,
        skip_utf8_validation=True,  # the JSON decoder still rejects invalid text
        enable_multithread=True,
        suppress_origin=True,  # else Asterisk logs an Origin mismatch on every connect
    )
    return ws


def _empty(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


def _describe(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    if status == 401:
        return "401 Unauthorized: check --ari-user and --ari-password"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is Asterisk running, with http.conf enabled?)"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
