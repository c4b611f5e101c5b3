"""The REST transport the engine sees: over the events WebSocket when Asterisk takes it (22+),
else over HTTP; and HTTP whenever the WebSocket cannot, so that a dropped link costs little.

- A request submitted while the WebSocket is down (or not yet probed) goes over HTTP.
- A request whose frame could not be sent goes over HTTP: Asterisk never saw it whole.
- When the link drops, the requests still waiting for their answer went out and may or may not
  have run: those that may run twice are sent again over HTTP, the others are answered
  "connection lost". Which may is the engine's rule, `Request.repeatable`: a GET (it reads), a
  DELETE (a second hangup, stop or destroy finds nothing: 404, which the engine reads as gone),
  or a request its step marks harmless twice (answer, ring, hold, mute, silence, music on hold,
  set_variable: Asterisk's res/stasis/control.c sets the same state again). Never a play,
  record, dial, DTMF, channel or bridge creation, continue or redirect.

Every `submit` calls its `done` exactly once, whatever happens.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import websocket

from .. import fastjson
from ..ports import Done, Request, Response
from .frames import text_frame
from .http import HttpTransport, response_from
from .masks import MaskKeys

Submit = Callable[[Request, Done], None]


def reply_of(message: Mapping[str, Any]) -> tuple[Response, str]:
    """The Response in a RESTResponse message, and what was malformed in it ("" if nothing). A
    malformed status is no answer; a malformed body is dropped and the status kept (the request
    did run: a hangup that Asterisk did must not look failed)."""
    status, body = message.get("status_code"), message.get("message_body")
    if not (isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599):
        return Response(0, error="malformed reply"), "a RESTResponse without a valid status_code"
    if body is not None and not isinstance(body, str):
        return response_from(status, ""), "a RESTResponse whose message_body is not text"
    return response_from(status, body or ""), ""


class WebSocketRest:
    """REST requests sent as `RESTRequest` messages on the events WebSocket (Asterisk 22+);
    `fallback` takes those this link cannot."""

    name = "websocket"

    def __init__(self, fallback: Submit) -> None:
        self.fallback = fallback
        self.send_error: Exception | None = None  # why the last send failed: the link is broken
        self._ws: websocket.WebSocket | None = None
        self._pending: dict[str, tuple[Request, Done, float]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._keys = MaskKeys()

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def attach(self, ws: websocket.WebSocket) -> None:
        self._ws, self.send_error = ws, None

    def detach(self) -> None:
        """The link is gone: send again over HTTP what may run twice; fail the rest."""
        self._ws = None
        with self._lock:
            pending, self._pending = self._pending, {}
        for request, done, _ in pending.values():
            if request.repeatable:
                self.fallback(request, done)
            else:
                done(Response(0, error="connection lost"))

    def submit(self, request: Request, done: Done) -> None:
        ws = self._ws
        if ws is None:
            self.fallback(request, done)
            return
        request_id = str(next(self._ids))
        try:
            frame = text_frame(fastjson.dumps(rest_message(request_id, request)), self._keys(4))
        except (ValueError, TypeError, RecursionError) as error:  # e.g. a lone surrogate
            done(Response(0, error=f"cannot send: {type(error).__name__}"))
            return
        with self._lock:
            self._pending[request_id] = (request, done, time.monotonic())
        try:
            if ws.sock is None:
                raise websocket.WebSocketConnectionClosedException("socket is already closed")
            ws.sock.sendall(frame)  # waits at most the socket's timeout (5 s) for room
        except (websocket.WebSocketException, OSError) as error:
            # Not sent whole, so never run: HTTP takes it. Part of a frame may have gone, so the
            # link is broken: the live loop sees `send_error` and reconnects.
            self._ws, self.send_error = None, error
            self._take(request_id, lambda done: self.fallback(request, done))

    def on_response(self, request_id: str, response: Response) -> None:
        self._take(request_id, lambda done: done(response))

    def fail_pending(self, sent_before: float, reason: str) -> None:
        """Answer `reason` to every request sent before `sent_before` (monotonic seconds)."""
        with self._lock:
            ids = [rid for rid, (_, _, sent) in self._pending.items() if sent < sent_before]
        for rid in ids:
            self._take(rid, lambda done: done(Response(0, error=reason)))

    def _take(self, request_id: str, then: Callable[[Done], None]) -> None:
        with self._lock:
            entry = self._pending.pop(request_id, None)
        if entry is not None:
            then(entry[1])


def rest_message(request_id: str, request: Request) -> dict[str, str]:
    """A request as Asterisk takes it over a WebSocket (inbound or outbound alike)."""
    message = {
        "type": "RESTRequest",
        "transaction_id": request_id,
        "request_id": request_id,
        "method": request.method,
        "uri": request.uri,
    }
    if request.body is not None:
        message["content_type"] = "application/json"
        message["message_body"] = fastjson.dumps(request.body).decode()
    return message


class SwitchingTransport:
    """The transport the engine sees: REST over the WebSocket while it is up and Asterisk takes
    it, else HTTP. HTTP replies arrive on worker threads: `wake` then rouses the live loop."""

    def __init__(self, http: HttpTransport, wake: Callable[[], None]) -> None:
        self.http, self.wake = http, wake
        self.rest = WebSocketRest(fallback=self.via_http)
        self.use_websocket = False

    @property
    def name(self) -> str:
        return self.rest.name if self.use_websocket and self.rest.connected else self.http.name

    def submit(self, request: Request, done: Done) -> None:
        if self.use_websocket:
            self.rest.submit(request, done)  # which falls back to HTTP while it is down
        else:
            self.via_http(request, done)

    def via_http(self, request: Request, done: Done) -> None:
        self.http.submit(request, lambda response: self._done_then_wake(done, response))

    def _done_then_wake(self, done: Done, response: Response) -> None:
        try:
            done(response)
        finally:
            self.wake()
