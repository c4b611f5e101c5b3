"""Fakes to drive the real ARI live loop (`AriSession.serve`) without a network or Asterisk.

- `FakeWebSocket`: the events WebSocket. Its `sock` is one end of a socketpair, and the test
  writes real RFC 6455 server frames into the other end, which the loop reads as from Asterisk.
  The client frames the session writes to `sock` itself (its REST requests) are unmasked and
  read as if sent with `send`.
- `FakeConnector`: the `connect` of `AriSession`, handing out scripted sockets or errors; when
  the script is used up it stops the session.
- `FakeHttp`: the real `HttpTransport` (worker pool, `submit`) with `call` answered here.
- `FakeEngine`: post/run_due, recording what it got.
- `Rig`: all of them around one `AriSession`; `rig.serve()` runs the live loop on a thread and
  fails the test if it does not return.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote

import pytest
import websocket

from flowrunner.ari.frames import CLOSE, TEXT
from flowrunner.ari.http import HttpTransport
from flowrunner.ari.session import AriConfig, AriSession
from flowrunner.ports import Request, Response

SERVE_WITHIN = 5.0  # seconds: a test whose loop runs longer than this has failed

Timeline = list[tuple[Any, ...]]


def server_frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """One RFC 6455 frame as a server writes it (unmasked)."""
    first = (0x80 if fin else 0) | opcode
    if len(payload) < 126:
        return struct.pack("!BB", first, len(payload)) + payload
    if len(payload) < 2**16:
        return struct.pack("!BBH", first, 126, len(payload)) + payload
    return struct.pack("!BBQ", first, 127, len(payload)) + payload


def client_text(frame: bytes) -> str:
    """The text of one whole, masked client frame (RFC 6455 5.2), decoded the slow, plain way."""
    assert frame[0] == 0x80 | TEXT, "one whole text frame"
    assert frame[1] & 0x80, "masked, as a client must"
    size, at = frame[1] & 0x7F, 2
    if size >= 126:
        width = 2 if size == 126 else 8
        size, at = int.from_bytes(frame[2 : 2 + width], "big"), 2 + width
    key, payload = frame[at : at + 4], frame[at + 4 :]
    assert len(payload) == size, "the frame holds its payload, no more, no less"
    return bytes(byte ^ key[i % 4] for i, byte in enumerate(payload)).decode()


class _FramesSocket(socket.socket):
    """A socketpair end whose `sendall` takes the session's client frames to its fake."""

    fake: FakeWebSocket

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.fake.send(client_text(bytes(data)))


class FakeWebSocket:
    """What the loop uses of `websocket.WebSocket`; what "Asterisk" sends, the test writes."""

    def __init__(
        self,
        on_send: Callable[[FakeWebSocket, dict[str, Any]], None] | None = None,
        on_ping: Callable[[FakeWebSocket], None] | None = None,
    ) -> None:
        self.sock: socket.socket | None
        own, self._peer = socket.socketpair()
        self.sock = _FramesSocket(own.family, own.type, fileno=own.detach())
        self.sock.fake = self
        self._own = self.sock
        self.sock.settimeout(5.0)  # as websocket-client leaves it: the loop must not wait on it
        self.on_send, self.on_ping = on_send, on_ping
        self.sent: list[dict[str, Any]] = []
        self.pings = 0
        self.pongs: list[bytes] = []
        self.closed = False

    # -- what the test does ---------------------------------------------------------------

    def feed(self, frame: bytes | tuple[int, bytes]) -> None:
        """Raw bytes, or (opcode, payload) as one whole frame."""
        self._peer.sendall(frame if isinstance(frame, bytes) else server_frame(*frame))

    def feed_event(self, message: Any) -> None:
        self.feed((TEXT, json.dumps(message).encode()))

    def feed_rest_response(self, request_id: str, status: Any, body: Any = "") -> None:
        self.feed_event(
            {
                "type": "RESTResponse",
                "transaction_id": request_id,
                "request_id": request_id,
                "status_code": status,
                "reason_phrase": "",
                "uri": "",
                "message_body": body,
            }
        )

    def feed_close(self) -> None:
        self.feed((CLOSE, b"\x03\xe8"))

    def hang_up(self) -> None:
        """End the stream, as a server that closes its socket."""
        self._peer.shutdown(socket.SHUT_WR)

    def requests(self) -> list[dict[str, Any]]:
        """The RESTRequest messages sent, without the transport probe."""
        return [m for m in self.sent if m.get("request_id") != "probe"]

    # -- what websocket.WebSocket does ------------------------------------------------------

    def send(self, text: str) -> None:
        if self.closed:
            raise websocket.WebSocketConnectionClosedException("socket is already closed.")
        message = json.loads(text)
        self.sent.append(message)
        if self.on_send is not None:
            self.on_send(self, message)

    def ping(self) -> None:
        self.pings += 1
        if self.on_ping is not None:
            self.on_ping(self)

    def pong(self, payload: bytes) -> None:
        self.pongs.append(payload)

    def close(self, timeout: float = 3.0) -> None:
        assert timeout == 0, "closing must not wait for the server"
        self.closed = True
        self.sock = None  # as websocket-client does; the session closes the socket itself

    def shut(self) -> None:
        self._own.close()
        self._peer.close()


def answer_probe(
    status: int | None, early: Iterable[dict[str, Any]] = ()
) -> Callable[[FakeWebSocket, dict[str, Any]], None]:
    """An `on_send` that queues the `early` events, then answers the probe with `status`
    (None: no answer)."""
    early = tuple(early)

    def on_send(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        if message.get("request_id") == "probe":
            for event in early:
                ws.feed_event(event)
            if status is not None:
                ws.feed_rest_response("probe", status, '{"ping": "pong"}')

    return on_send


class FakeConnector:
    """Opens the scripted sockets (or raises the scripted errors) in turn; then stops `session`."""

    def __init__(self, script: Iterable[FakeWebSocket | Exception]) -> None:
        self.script = deque(script)
        self.sockets = [s for s in self.script if isinstance(s, FakeWebSocket)]
        self.configs: list[AriConfig] = []
        self.connected_at: list[float] = []
        self.session: AriSession | None = None

    def __call__(self, config: AriConfig) -> websocket.WebSocket:
        self.configs.append(config)
        if not self.script:
            assert self.session is not None
            self.session.stop()
            raise ConnectionRefusedError(111, "Connection refused")
        step = self.script.popleft()
        if isinstance(step, Exception):
            raise step
        self.connected_at.append(time.monotonic())
        return cast(websocket.WebSocket, step)


class FakeHttp(HttpTransport):
    """The real HTTP transport (pool, submit), but `call` answered here: a channel listing per
    app and connection from `channels`, else `reply`."""

    def __init__(self, channels: dict[str, list[Response]] | None = None) -> None:
        super().__init__("http://pbx.example:8088", "bob", "secret", workers=2)
        self.channels = {app: deque(replies) for app, replies in (channels or {}).items()}
        self.calls: list[Request] = []
        self.reply = Response(200, {"answered": True})
        self.before_reply: Callable[[Request], object] | None = None

    def call(self, request: Request) -> Response:
        self.calls.append(request)
        app = request.path.removeprefix("applications/")
        if request.method == "GET" and app != request.path:
            listings = self.channels.get(unquote(app))
            return listings.popleft() if listings else listing()
        if self.before_reply is not None:
            self.before_reply(request)
        return self.reply


def listing(*channel_ids: str) -> Response:
    """The answer to GET applications/{app}."""
    return Response(200, {"name": "app", "channel_ids": list(channel_ids)})


class FakeEngine:
    """Records what the loop gives it, in `timeline` (shared with the rig) and in lists.
    `done` is the callback to hand transports: like the runtime's, it may be called from any
    thread, and the reply is seen at the next `run_due`. One timer, at monotonic `timer_at`."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.posted: list[object] = []
        self.replies: list[Response] = []
        self._inbox: deque[Response] = deque()
        self.runs = 0  # of run_due
        self.timer_at: float | None = None
        self.fired: list[float] = []
        self.on_post: Callable[[object], None] | None = None
        self.on_reply: Callable[[Response], None] | None = None
        self.on_timer: Callable[[], None] | None = None
        self.on_wait: Callable[[], None] | None = None  # just before the loop waits

    def done(self, response: Response) -> None:
        self._inbox.append(response)

    def post(self, message: object) -> None:
        self.posted.append(message)
        self.timeline.append(("post", message))
        if self.on_post is not None:
            self.on_post(message)

    def run_due(self) -> float | None:
        self.runs += 1
        self._replies()
        if self.timer_at is not None and time.monotonic() >= self.timer_at:
            self.timer_at = None
            self.fired.append(time.monotonic())
            if self.on_timer is not None:
                self.on_timer()
        self._replies()
        if self.on_wait is not None:
            self.on_wait()
        return None if self.timer_at is None else self.timer_at - time.monotonic()

    def _replies(self) -> None:
        while self._inbox:
            response = self._inbox.popleft()
            self.replies.append(response)
            self.timeline.append(("reply", response))
            if self.on_reply is not None:
                self.on_reply(response)


@dataclass
class Rig:
    session: AriSession
    connector: FakeConnector
    http: FakeHttp
    engine: FakeEngine
    timeline: Timeline = field(default_factory=list)
    on_channels: Callable[[str, frozenset[str]], None] | None = None
    transports: list[str] = field(default_factory=list)  # the transport at each listing

    def channels_in_app(self, app: str, ids: frozenset[str]) -> None:
        self.transports.append(self.session.transport.name)
        self.timeline.append(("channels", app, ids))
        if self.on_channels is not None:
            self.on_channels(app, ids)

    def serve(self, within: float = SERVE_WITHIN) -> None:
        """Run the live loop until it returns; fail if it raised or did not return in time."""
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self.session.serve(self.engine, self.channels_in_app)
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=run, name="serve", daemon=True)
        thread.start()
        thread.join(within)
        if thread.is_alive():
            self.session.stop()
            thread.join(within)
            pytest.fail(f"serve() did not return within {within}s")
        if errors:
            raise errors[0]

    def close(self) -> None:
        self.session.close()
        for ws in self.connector.sockets:
            ws.shut()


def make_rig(
    config: AriConfig,
    *script: FakeWebSocket | Exception,
    channels: dict[str, list[Response]] | None = None,
) -> Rig:
    connector, http, timeline = FakeConnector(script), FakeHttp(channels), Timeline()
    session = AriSession(config, connect=connector, http=http)
    connector.session = session
    return Rig(session, connector, http, FakeEngine(timeline), timeline)
