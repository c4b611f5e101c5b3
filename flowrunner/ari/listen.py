"""`serve --listen`: Asterisk connects to us (ARI outbound WebSockets, Asterisk 22.5+).

The mirror of `session.py`: instead of connecting to Asterisk's /ari/events, flowrunner accepts
the WebSockets Asterisk opens (`res_websocket_client`, ari.conf `type = outbound_websocket`),
and sends its REST requests back over the connection each call came on (`Router`). A connection
is either persistent (one for all the calls of its apps, reconnected by Asterisk forever) or per
call (`connection_type = per_call_config`: Asterisk opens one for each channel entering
`Stasis(app)`, under the app name `app:CHANNEL-NAME`, which is read back here as `app`). A load
balancer in front of several runners spreads per-call connections; when one drops, Asterisk
connects again (`reconnect_attempts`), so another runner sharing the store adopts the call; if
none takes it, the channel leaves Stasis and continues in the dialplan.

One thread, like `session.py`: the loop waits for any socket, a wake-up or the engine's next
timer. The WebSocket protocol is `websockets`' sans-I/O `ServerProtocol` (handshake, masking,
fragments, ping/pong, close), fed by this loop: no asyncio, no thread per connection.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hmac
import itertools
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from websockets.frames import Frame, Opcode
from websockets.http11 import Request as Handshake
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from .. import fastjson
from ..ports import Done, Request, Response, Transport
from .event_filter import Reacted, set_filter
from .frames import MAX_MESSAGE, Closed, receive
from .rest import reply_of, rest_message
from .session import Engine
from .throttle import Throttle, json_object

log = logging.getLogger("flowrunner.ari")
protocol_log = logging.getLogger("flowrunner.ari.websocket")  # websockets' own lines: each
protocol_log.setLevel(logging.WARNING)  # connection open and closed, one per call: too many

TICK = 1.0  # seconds between two looks at timeouts
REQUEST_TIMEOUT = 10.0
HANDSHAKE_WITHIN = 10.0  # seconds a connection may take to become a WebSocket
SEND_TIMEOUT = 5.0  # seconds a send may wait for room in the socket's buffer
# Seconds the calls of a per-call connection that dropped wait for Asterisk to connect again
# (here or to another runner) before this runner lets them go: more than Asterisk's
# reconnect_attempts x (connection_timeout + reconnect_interval).
LOST_AFTER = 15.0
REFUSALS_LOGGED = 100  # a refused connection is logged, then one in this many
NOT_EVENTS = ("ApplicationRegistered", "ApplicationUnregistered", "ApplicationReplaced")

# (app, channel ids Asterisk lists in it, the channels the listing covers: None for all, the
# channel a per-call connection was opened for): see engine/messages.Reconcile
ChannelsInApp = Callable[[str, frozenset[str], frozenset[str] | None, str], None]


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


class Nowhere:
    """The transport of a call whose connection is gone: every request fails at once."""

    name = "websocket"

    def submit(self, request: Request, done: Done) -> None:
        done(Response(0, error="connection lost"))


NOWHERE = Nowhere()


class Peer:
    """One connection from Asterisk, and the REST requests sent over it."""

    name = "websocket"

    def __init__(self, sock: socket.socket, address: str) -> None:
        self.sock, self.address = sock, address
        self.protocol = ServerProtocol(
            subprotocols=[Subprotocol("ari")], max_size=MAX_MESSAGE, logger=protocol_log
        )
        self.accepted_at = time.monotonic()
        self.app = ""  # as Asterisk names it: `app`, or `app:CHANNEL-NAME` per call
        self.base = ""  # the flow's app
        self.channels: set[str] = set()
        self._pending: dict[str, tuple[Done, float]] = {}
        self._ids = itertools.count(1)

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN

    @property
    def per_call(self) -> bool:
        return self.app != self.base

    def submit(self, request: Request, done: Done) -> None:
        if not self.open:
            done(Response(0, error="connection lost"))
            return
        request_id = str(next(self._ids))
        try:
            text = fastjson.dumps(rest_message(request_id, self._for_asterisk(request)))
        except (ValueError, TypeError, RecursionError) as error:  # e.g. a lone surrogate
            done(Response(0, error=f"cannot send: {type(error).__name__}"))
            return
        self._pending[request_id] = (done, time.monotonic())
        self.protocol.send_text(text)
        self.flush()

    def _for_asterisk(self, request: Request) -> Request:
        """A per-call connection serves the app `app:CHANNEL-NAME`: a channel the call creates
        (a dial's callee) goes into that app, so that its events come over this connection."""
        if self.per_call and request.params.get("app") == self.base:
            return dataclasses.replace(request, params={**request.params, "app": self.app})
        return request

    def on_response(self, request_id: str, response: Response) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is not None:
            entry[0](response)

    def fail_pending(self, sent_before: float, reason: str) -> None:
        late = [rid for rid, (_, sent) in self._pending.items() if sent < sent_before]
        for request_id in late:
            self.on_response(request_id, Response(0, error=reason))

    def flush(self) -> None:
        """Send what the protocol has to send (blocking, for at most SEND_TIMEOUT each)."""
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)
            else:  # the protocol wants the TCP connection half-closed
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Say goodbye if still open; fail what waits for an answer."""
        if self.open:
            self.protocol.send_close(1001)
            with contextlib.suppress(OSError):
                self.flush()
        self.sock.close()
        pending, self._pending = self._pending, {}
        for done, _ in pending.values():
            done(Response(0, error="connection lost"))


class Router:
    """The transport the engine sees: each call's requests go over the connection its channel
    came on. A request of no known call goes over the one persistent connection, if there is
    exactly one (a single Asterisk)."""

    name = "websocket"

    def __init__(self) -> None:
        self.homes: dict[str, Peer] = {}  # channel -> the connection it came on
        self.peers: set[Peer] = set()

    def route(self, channel: str) -> Transport:
        peer = self.homes.get(channel)
        if peer is not None and peer.open:
            return peer
        persistent = [p for p in self.peers if p.open and p.app and not p.per_call]
        return persistent[0] if len(persistent) == 1 and channel not in self.homes else NOWHERE

    def submit(self, request: Request, done: Done) -> None:
        self.route("").submit(request, done)

    def home(self, channel: str, peer: Peer) -> None:
        self.homes[channel] = peer
        peer.channels.add(channel)

    def left(self, peer: Peer) -> list[str]:
        """Forget a closed connection; the channels that were at home on it."""
        self.peers.discard(peer)
        gone = [ch for ch in peer.channels if self.homes.get(ch) is peer]
        for channel in gone:
            del self.homes[channel]
        return gone


class ListenSession:
    """What `serve --listen` runs: the listening socket, Asterisk's connections, the loop."""

    def __init__(self, host: str, port: int, user: str, password: str, apps: tuple[str, ...]):
        self.host, self.port, self.apps = host, port, apps
        self._authorization = basic_auth(user, password)
        self.transport = Router()
        self.skipped = Throttle(log)
        self._refusals = 0
        self._paused = False  # not accepting for a TICK (out of file descriptors)
        self._accepted = 0
        self.stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._wake_lock = threading.RLock()
        self._closed = False
        self._lost: list[tuple[float, str, str]] = []  # (when, app, channel) to let go
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self.reacted: Reacted | None = None  # see hear_only

    # -- what serve uses, as with AriSession -------------------------------------------------

    @property
    def connected(self) -> bool:
        """Ready (for --metrics' readiness): listening; Asterisk connects when it has calls."""
        return self._listener is not None

    @property
    def connections(self) -> int:
        return self._accepted

    @property
    def replaced(self) -> frozenset[str]:
        return frozenset()  # an app is Asterisk's config here: nothing takes it over

    def wake(self) -> None:
        with self._wake_lock:
            if not self._closed:
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_write, b"!")

    def hear_only(self, reacted: Reacted) -> None:
        """Each persistent connection's app is sent only the events flowrunner reads and those
        `reacted(app)` names (`event_filter.py`); a per-call connection's app lives for one call,
        not worth a request more per call."""
        self.reacted = reacted

    def subscribe(self, apps: tuple[str, ...]) -> None:
        """The apps served from now on (Asterisk's config says which connection brings which);
        their flows may have changed, so the filters are set again."""
        self.apps = apps
        for peer in list(self.transport.peers):
            self._filter_events(peer)

    def _filter_events(self, peer: Peer) -> None:
        if self.reacted is not None and peer.open and peer.app and not peer.per_call:
            set_filter(peer, peer.app, self.reacted(peer.base))

    def stop(self) -> None:
        self.stopping.set()
        self.wake()

    def close(self) -> None:
        with self._wake_lock:
            self._closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    def bind(self) -> None:
        """Listen now (before `serve`), so that a port in use is said at start-up."""
        self._listener = socket.create_server((self.host, self.port), backlog=512)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]  # the one chosen, for port 0

    # -- the loop ----------------------------------------------------------------------------

    def serve(self, engine: Engine, channels_in_app: ChannelsInApp) -> None:
        if self._listener is None:
            self.bind()
        assert self._listener is not None
        self._channels_in_app = channels_in_app
        selector = self._selector
        selector.register(self._wake_read, selectors.EVENT_READ)
        selector.register(self._listener, selectors.EVENT_READ)
        log.info(
            "listening on %s:%d for Asterisk's connections, app %s",
            self.host,
            self.port,
            ", ".join(self.apps),
        )
        next_check = time.monotonic() + TICK
        try:
            while not self.stopping.is_set():
                timer = engine.run_due()
                now = time.monotonic()
                if now >= next_check:
                    self._check(now)
                    next_check = now + TICK
                timeout = next_check - now if timer is None else min(next_check - now, timer)
                for key, _ in selector.select(max(0.0, timeout)):
                    self._ready(key, engine)
        finally:
            self._listener.close()  # first: Asterisk connects again at once, and must be refused
            for peer in list(self.transport.peers):
                self._drop(peer, "stopping")
            selector.close()

    def _ready(self, key: selectors.SelectorKey, engine: Engine) -> None:
        if key.fd == self._wake_read:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_read, 4096):
                    pass
        elif key.data is None:
            self._accept()
        else:
            self._read(key.data, engine)

    def _accept(self) -> None:
        assert self._listener is not None
        for _ in range(64):  # a burst of calls: take many, but let the engine run between
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors: the backlog keeps them a while
                log.warning("cannot accept connections for a second: %s", type(error).__name__)
                self._selector.unregister(self._listener)  # else it is ready again at once
                self._paused = True
                return
            sock.settimeout(SEND_TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._accepted += 1
            peer = Peer(sock, f"{address[0]}:{address[1]}")
            self.transport.peers.add(peer)
            self._selector.register(sock, selectors.EVENT_READ, peer)

    def _read(self, peer: Peer, engine: Engine) -> None:
        try:
            data = receive(peer.sock)
            if data:
                peer.protocol.receive_data(data)
            for event in peer.protocol.events_received():
                self._on(peer, event, engine)
            peer.flush()
        except Closed:
            peer.protocol.receive_eof()
        except OSError as error:
            self._drop(peer, type(error).__name__)
            return
        if peer.protocol.state is State.CLOSED or peer.protocol.close_expected():
            self._drop(peer, _close_reason(peer))

    def _on(self, peer: Peer, event: object, engine: Engine) -> None:
        """The handshake, or a whole message (the protocol answers pings and closes itself)."""
        if isinstance(event, Handshake):
            self._handshake(peer, event)
        elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
            self._deliver(peer, bytes(event.data), engine)

    def _handshake(self, peer: Peer, request: Handshake) -> None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), self._authorization.encode()):
            self._refusals += 1
            if self._refusals % REFUSALS_LOGGED == 1:  # the first, then one in so many
                log.warning(
                    "refused a connection from %s (%d so far): wrong or no credentials; "
                    "websocket_client.conf's username and password must be --ari-user and "
                    "--ari-password",
                    peer.address.rsplit(":", 1)[0],
                    self._refusals,
                )
            response = peer.protocol.reject(401, "Unauthorized\n")
        else:
            response = peer.protocol.accept(request)
        peer.protocol.send_response(response)

    def _deliver(self, peer: Peer, data: bytes, engine: Engine) -> None:
        """One message, in its own guard: what cannot be read is skipped and counted."""
        message = json_object(data, self.skipped)
        if message is None:
            return
        try:
            self._dispatch(peer, message, engine)
        except Exception as error:  # a bug of ours: it must cost this message only
            self.skipped.warn("a message flowrunner failed on", type(error).__name__)
            log.debug("failed on an ARI message", exc_info=True)

    def _dispatch(self, peer: Peer, message: dict[str, Any], engine: Engine) -> None:
        kind = message.get("type")
        if kind == "RESTResponse":
            response, problem = reply_of(message)
            if problem:
                self.skipped.warn(problem, f"request {str(message.get('request_id'))[:20]}")
            peer.on_response(str(message.get("request_id")), response)
            return
        app = message.get("application")
        if not isinstance(app, str) or not self._served(peer, app):
            self.skipped.warn("a message for an app not served here", str(app)[:100])
            return
        message["application"] = peer.base
        if kind in NOT_EVENTS:
            return
        if kind == "StasisStart":
            channel = message.get("channel")
            if isinstance(channel, dict) and isinstance(channel.get("id"), str):
                self.transport.home(channel["id"], peer)
        engine.post(message)

    def _served(self, peer: Peer, app: str) -> bool:
        """Whether `app` (`app` or `app:CHANNEL-NAME`) is served; the first message of a
        connection names its app, and its channels are then listed (a connection that comes
        back, after a drop or from another runner's Asterisk link, brings calls in progress)."""
        if peer.app:
            return app == peer.app
        base = app if app in self.apps else app.partition(":")[0]
        if base not in self.apps:
            return False
        peer.app, peer.base = app, base
        if not peer.per_call:
            log.info("Asterisk connected from %s for app %s", peer.address, app)
        self._filter_events(peer)
        self._list_channels(peer)
        return True

    def _list_channels(self, peer: Peer) -> None:
        def listed(response: Response) -> None:
            body = response.body
            ids = body.get("channel_ids") if isinstance(body, dict) else None
            if not response.ok or not (
                isinstance(ids, list) and all(isinstance(i, str) for i in ids)
            ):
                why = response.describe() if not response.ok else "no list of channel ids"
                log.warning("could not list the channels of app %s: %s", peer.app, why)
                return
            channels = frozenset(ids)
            for channel in channels:
                self.transport.home(channel, peer)
            if peer.per_call:  # the channel it was opened for is named after the colon
                unstarted = peer.app.partition(":")[2]
                self._channels_in_app(peer.base, channels, channels, unstarted)
            else:
                self._channels_in_app(peer.base, channels, None, "")

        peer.submit(Request("GET", f"applications/{quote(peer.app, safe='')}"), listed)

    def _drop(self, peer: Peer, why: str) -> None:
        if peer not in self.transport.peers:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(peer.sock)
        peer.close()
        gone = self.transport.left(peer)
        if peer.app and not peer.per_call:
            log.warning("Asterisk's connection for app %s closed (%s)", peer.app, why)
        if peer.per_call and not self.stopping.is_set():
            until = time.monotonic() + LOST_AFTER
            self._lost.extend((until, peer.base, channel) for channel in gone)

    def _check(self, now: float) -> None:
        """Every TICK: requests unanswered too long, handshakes too slow, calls whose per-call
        connection did not come back."""
        self.skipped.flush()
        if self._paused and self._listener is not None:
            self._selector.register(self._listener, selectors.EVENT_READ)
            self._paused = False
        for peer in list(self.transport.peers):
            peer.fail_pending(now - REQUEST_TIMEOUT, "timed out")
            if not peer.open and now - peer.accepted_at > HANDSHAKE_WITHIN:
                self._drop(peer, "no handshake")
        due = [item for item in self._lost if item[0] <= now]
        self._lost = [item for item in self._lost if item[0] > now]
        for _, app, channel in due:
            if channel not in self.transport.homes:  # not back: another runner, or dialplan
                self._channels_in_app(app, frozenset(), frozenset({channel}), "")


def _close_reason(peer: Peer) -> str:
    code = peer.protocol.close_rcvd
    return f"closed by Asterisk ({code.code})" if code is not None else "closed"
