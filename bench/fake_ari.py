"""A simulated Asterisk ARI on loopback, for measuring flowrunner without Asterisk.

One TCP port serves what `flowrunner serve` uses: the events WebSocket (`/ari/events`, with
REST over it, as on Asterisk 22) and plain HTTP (`GET /ari/asterisk/ping`,
`GET /ari/applications/NAME`, `PUT /ari/applications/NAME/eventFilter` (its `disallowed` events
are then not sent), and `POST`/`DELETE /ari/channels/...` for `--ari-transport http`).

Calls are started at a fixed rate for a fixed count. Each behaves like a PJSIP channel on
Asterisk 22 running flows/channel-state.yaml; the event order below was captured from the
sandbox Asterisk (scripts/asterisk-sandbox) on one real SIP call:

    StasisStart (state Ring)
    ring      -> 204
    answer    -> ChannelStateChange (Up), 204
    silence   -> 204
    DELETE    -> 5 x ChannelVarset (RTPAUDIOQOS*), 204, ChannelHangupRequest, StasisEnd

Unknown or ended channels get 404 "Channel not found", as on Asterisk. The arrival time of every
request is recorded against the moment its call's StasisStart was written, so timer lateness is
measured outside the runner.

Why not `websockets.asyncio.server.serve` with `process_request`: its HTTP parser accepts only
GET without a body (websockets/http11.py), so the HTTP transport's POST/DELETE could not be
served on the same port. This module therefore drives websockets' Sans-I/O `ServerProtocol`
from one `asyncio.Protocol` per connection, which also costs less CPU per frame: no task, queue
or lock per message.

Standalone (then start `flowrunner serve` yourself against the printed URL):

    .venv/bin/python bench/fake_ari.py --rate 100 --seconds 10 --port 8099
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

ASTERISK_ID = "02:fc:00:00:00:01"
MAX_HEAD = 65536  # bytes of an HTTP request head; a client sending more is not ARI
NOT_FOUND = '{"message":"Channel not found"}'
# What chan_pjsip sets on an RTP channel as it hangs up (Asterisk 22): five ChannelVarset events.
QOS_VARIABLES = (
    (
        "RTPAUDIOQOS",
        "ssrc=1391059967;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000;"
        "txcount=100;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=0.000000",
    ),
    (
        "RTPAUDIOQOSJITTER",
        "minrxjitter=000.000000;maxrxjitter=000.000000;avgrxjitter=000.000000;"
        "stdevrxjitter=000.000000;mintxjitter=000.000000;maxtxjitter=000.000000;"
        "avgtxjitter=000.000000;stdevtxjitter=000.000000;",
    ),
    (
        "RTPAUDIOQOSLOSS",
        "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  "
        "stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  "
        "avgtxlost=000.000000;  stdevtxlost=000.000000;",
    ),
    (
        "RTPAUDIOQOSRTT",
        "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     "
        "stdevrtt=000.000000;",
    ),
    (
        "RTPAUDIOQOSMES",
        "   minrxmes=000.000000;   maxrxmes=000.000000;   avgrxmes=000.000000;   "
        "stdevrxmes=000.000000;   mintxmes=000.000000;   maxtxmes=000.000000;   "
        "avgtxmes=000.000000;   stdevtxmes=000.000000;",
    ),
)
# The flow's requests, named after its actions, in the order a correct run sends them.
EXPECTED = ("ring", "answer", "start_silence", "hangup")
ACTION_NAMES = {
    ("POST", "ring"): "ring",
    ("DELETE", "ring"): "ring_stop",
    ("POST", "answer"): "answer",
    ("POST", "silence"): "start_silence",
    ("DELETE", "silence"): "stop_silence",
    ("DELETE", ""): "hangup",
}

Reply = Callable[[int, str], None]  # (status, JSON body or "")


def timestamp() -> str:
    """Asterisk's event timestamp format: 2026-11-22T05:11:30.350+0000."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}+0000"


def bench_channel(channel_id: str, index: int, app: str, stamp: str) -> dict[str, Any]:
    """The channel of the bench's call `index`, as Asterisk describes it in StasisStart."""
    return {
        "id": channel_id,
        "name": f"PJSIP/bench-{index:08d}",
        "state": "Ring",
        "protocol_id": f"{index}-bench@127.0.0.1",
        "caller": {"name": "bench", "number": f"{5550000000 + index}"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "from-trunk",
            "exten": "1000",
            "priority": 2,
            "app_name": "Stasis",
            "app_data": app,
        },
        "creationtime": stamp,
        "language": "en",
    }


@dataclass(slots=True)
class CallRecord:
    """One simulated call and when each of its requests arrived (time.monotonic seconds)."""

    index: int
    channel: dict[str, Any]
    started: float = 0.0  # StasisStart written
    ended: float | None = None  # StasisEnd written, after the hangup request
    arrivals: dict[str, float] = field(default_factory=dict)  # first arrival per action
    requests: list[str] = field(default_factory=list)  # every action, in arrival order

    @property
    def channel_id(self) -> str:
        return str(self.channel["id"])

    @property
    def ok(self) -> bool:
        """The flow ran exactly as written and the call left the app."""
        return self.ended is not None and tuple(self.requests) == EXPECTED

    def since_start_ms(self, action: str) -> float | None:
        arrival = self.arrivals.get(action)
        return None if arrival is None else (arrival - self.started) * 1000


@dataclass
class ServerStats:
    ws_requests: int = 0
    http_requests: int = 0
    probes: int = 0  # REST-over-WebSocket pings: `serve --ari-transport auto` sends one
    connects: int = 0  # events WebSockets opened
    disconnects: int = 0
    unknown_requests: int = 0  # requests for no call of ours (404)
    peak_live: int = 0  # most calls in the app at once
    start_lag: list[float] = field(default_factory=list)  # s past each call's planned start


class FakeAri:
    """The simulated Asterisk. Use from a running event loop: start(), drive(), close()."""

    def __init__(self, app: str = "channel-state", user: str = "bench", password: str = "bench"):
        self.app = app
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.calls: list[CallRecord] = []
        self.live: dict[str, CallRecord] = {}
        self.stats = ServerStats()
        self.ready = asyncio.Event()  # the runner connected and listed the app's channels
        self.apps: set[str] = set()
        self.disallowed: set[str] = set()  # the app's event filter, as Asterisk applies it
        self.port = 0
        self._events: Link | None = None  # the events WebSocket of the runner
        self._server: asyncio.Server | None = None
        self._id_base = int(time.time())

    # -- life cycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Link(self), host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            if self._events is not None:
                self._events.abort()
            await self._server.wait_closed()

    async def drive(self, rate: float, seconds: float) -> None:
        """Start round(rate * seconds) calls, one every 1/rate s, catching up when late."""
        begin = time.monotonic() + 0.01
        for index in range(round(rate * seconds)):
            due = begin + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                self.flush()  # everything started so far goes out before we sleep
                await asyncio.sleep(delay)
            self.stats.start_lag.append(time.monotonic() - due)
            self._start_call(index)
        self.flush()

    async def wait_finished(self, timeout: float) -> bool:
        """Wait until every started call has left the app; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.live and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not self.live

    def flush(self) -> None:
        if self._events is not None:
            self._events.flush()

    # -- calls -------------------------------------------------------------------------------

    def _start_call(self, index: int) -> None:
        stamp = timestamp()
        channel = bench_channel(f"{self._id_base}.{index}", index, self.app, stamp)
        call = CallRecord(index, channel)
        self.calls.append(call)
        self.live[call.channel_id] = call
        self.stats.peak_live = max(self.stats.peak_live, len(self.live))
        self._emit(call, "StasisStart", args=[])
        call.started = time.monotonic()

    def _emit(self, call: CallRecord, kind: str, **fields: Any) -> None:
        event = {
            **fields,
            "type": kind,
            "timestamp": timestamp(),
            "channel": call.channel,
            "asterisk_id": ASTERISK_ID,
            "application": self.app,
        }
        if self._events is not None and kind not in self.disallowed:
            self._events.send_text(json.dumps(event))

    def _channel_request(self, method: str, path: str, reply: Reply, now: float) -> None:
        """`path` is channels/ID[/operation]; answers, and raises the events Asterisk would."""
        parts = path.split("/")
        call = self.live.get(unquote(parts[1])) if len(parts) > 1 else None
        if call is None:
            self.stats.unknown_requests += 1
            reply(404, NOT_FOUND)
            return
        operation = parts[2] if len(parts) > 2 else ""
        action = ACTION_NAMES.get((method, operation), f"{method} {operation}")
        call.requests.append(action)
        call.arrivals.setdefault(action, now)
        if action == "answer" and call.channel["state"] != "Up":
            call.channel = {**call.channel, "state": "Up"}
            self._emit(call, "ChannelStateChange")
        if action == "hangup":
            self._hang_up(call, reply)
            return
        reply(204, "")

    def _hang_up(self, call: CallRecord, reply: Reply) -> None:
        for variable, value in QOS_VARIABLES:
            self._emit(call, "ChannelVarset", variable=variable, value=value)
        reply(204, "")
        self._emit(call, "ChannelHangupRequest", cause=32, soft=True)
        self._emit(call, "StasisEnd")
        call.ended = time.monotonic()
        del self.live[call.channel_id]

    # -- requests from either transport ------------------------------------------------------

    def rest(self, method: str, uri: str, reply: Reply, body: str = "") -> None:
        """Route one ARI request (`uri` relative to /ari/, query allowed; its JSON `body`)."""
        now = time.monotonic()
        path = uri.split("?", 1)[0].strip("/")
        if path.startswith("channels/"):
            self._channel_request(method, path, reply, now)
        elif method == "GET" and path == "asterisk/ping":
            body = {"ping": "pong", "timestamp": timestamp(), "asterisk_id": ASTERISK_ID}
            reply(200, json.dumps(body))
        elif method == "GET" and path.startswith("applications/"):
            self._application(unquote(path.split("/", 1)[1]), reply)
        elif method == "PUT" and path == f"applications/{quote(self.app, safe='')}/eventFilter":
            self._filter(body, reply)
        else:
            reply(404, '{"message":"Resource not found"}')

    def _filter(self, body: str, reply: Reply) -> None:
        """PUT applications/NAME/eventFilter: only `disallowed` is used by flowrunner."""
        disallowed = json.loads(body or "{}").get("disallowed", [])
        self.disallowed = {item["type"] for item in disallowed}
        reply(200, json.dumps({"name": self.app, "events_disallowed": disallowed}))

    def _application(self, name: str, reply: Reply) -> None:
        if name not in self.apps:
            reply(404, '{"message":"Application not found"}')
            return
        ids = [call.channel_id for call in self.live.values()] if name == self.app else []
        body = {"name": name, "channel_ids": ids, "bridge_ids": [], "endpoint_ids": []}
        reply(200, json.dumps({**body, "device_names": [], "events_allowed": []}))
        self.ready.set()

    def on_ws_message(self, link: Link, data: bytes) -> None:
        message = json.loads(data)
        if message.get("type") != "RESTRequest":
            return
        uri = str(message.get("uri", ""))
        self.stats.ws_requests += 1
        self.stats.probes += message.get("request_id") == "probe"

        def reply(status: int, body: str) -> None:
            link.send_text(json.dumps(rest_response(message, uri, status, body)))

        body = str(message.get("message_body") or "")
        self.rest(str(message.get("method", "GET")), uri, reply, body)

    def on_http_request(self, link: Link, method: str, target: str, body: str = "") -> None:
        self.stats.http_requests += 1
        if not target.startswith("/ari/"):
            link.send_http(404, '{"message":"Resource not found"}')
            return
        self.rest(method, target[len("/ari/") :], link.send_http, body)
        self.flush()  # the events this request raised go out now, not at the next wake-up

    def on_events_open(self, link: Link, path: str) -> None:
        apps = parse_qs(urlsplit(path).query).get("app", [""])[0].split(",")
        self.apps.update(app for app in apps if app)
        self._events = link
        self.stats.connects += 1

    def on_closed(self, link: Link) -> None:
        if link is self._events:
            self._events = None
            self.stats.disconnects += 1


def rest_response(message: dict[str, Any], uri: str, status: int, body: str) -> dict[str, Any]:
    """A RESTResponse as Asterisk 22 writes it (no body fields on a 204)."""
    response: dict[str, Any] = {
        "type": "RESTResponse",
        "transaction_id": message.get("transaction_id", ""),
        "request_id": message.get("request_id", ""),
        "status_code": status,
        "reason_phrase": http.HTTPStatus(status).phrase,
        "uri": uri,
    }
    if body:
        response.update(content_type="application/json", message_body=body)
    response.update(timestamp=timestamp(), asterisk_id=ASTERISK_ID)
    return response


class Link(asyncio.Protocol):
    """One client connection: plain HTTP/1.1 with keep-alive until it upgrades to WebSocket."""

    def __init__(self, server: FakeAri) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ws: ServerProtocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.on_closed(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.ws is None:
            self._http_data(data)
            return
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.server.on_ws_message(self, bytes(event.data))
        self.server.flush()  # replies, the events they raised, and any pong, in one write
        self.flush()

    def eof_received(self) -> bool | None:
        if self.ws is not None:
            self.ws.receive_eof()
            self.flush()
        return None

    # -- WebSocket ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        """Queue a text frame; `flush` writes it. Batching saves a syscall per frame."""
        if self.ws is not None:
            self.ws.send_text(text.encode())

    def flush(self) -> None:
        if self.ws is None or self.transport is None:
            return
        chunks = self.ws.data_to_send()
        if chunks and chunks[-1] == b"":  # the protocol wants the connection closed
            self.transport.writelines(chunks[:-1])
            self.transport.close()
        elif chunks:
            self.transport.writelines(chunks)

    def _upgrade(self, raw: bytes) -> None:
        ws = ServerProtocol(max_size=2**20)
        ws.receive_data(raw)
        request = next((e for e in ws.events_received() if isinstance(e, Request)), None)
        if request is None:  # not a complete, valid handshake
            if self.transport is not None:
                self.transport.close()
            return
        self.ws = ws
        if request.headers.get("Authorization") != self.server.auth:
            response = ws.reject(http.HTTPStatus.UNAUTHORIZED, "Authentication required\n")
        elif not request.path.startswith("/ari/events"):
            response = ws.reject(http.HTTPStatus.NOT_FOUND, "Not found\n")
        else:
            response = ws.accept(request)
        ws.send_response(response)
        if response.status_code == 101:
            self.server.on_events_open(self, request.path)
        self.flush()

    # -- plain HTTP --------------------------------------------------------------------------

    def _http_data(self, data: bytes) -> None:
        self.buffer += data
        while self.ws is None and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:])
            }
            size = end + 4 + int(headers.get("content-length", "0") or "0")
            if len(self.buffer) < size:
                return  # the body is still on its way
            raw = bytes(self.buffer[:size])
            del self.buffer[:size]
            self._http_request(lines[0], headers, raw)

    def _http_request(self, request_line: str, headers: dict[str, str], raw: bytes) -> None:
        if headers.get("upgrade", "").lower() == "websocket":
            self._upgrade(raw + bytes(self.buffer))
            self.buffer.clear()
            return
        method, target, _ = [*request_line.split(" ", 2), "", ""][:3]
        if headers.get("authorization") != self.server.auth:
            self.send_http(401, '{"message":"Authentication required"}')
            return
        body = raw[raw.find(b"\r\n\r\n") + 4 :].decode("utf-8", "replace")
        self.server.on_http_request(self, method, target, body)

    def send_http(self, status: int, body: str) -> None:
        if self.transport is None:
            return
        payload = body.encode()
        head = f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\nServer: fake-ari\r\n"
        if status != 204:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self.transport.write(head.encode() + b"\r\n" + payload)


async def _main(args: argparse.Namespace) -> None:
    server = FakeAri(args.app, args.user, args.password)
    port = await server.start(port=args.port)
    print(f"fake ARI on http://127.0.0.1:{port} (user {args.user}); waiting for the runner")
    try:
        await asyncio.wait_for(server.ready.wait(), args.connect_timeout)
        await server.drive(args.rate, args.seconds)
        finished = await server.wait_finished(6.0 + 15.0)
        done = sum(call.ok for call in server.calls)
        print(f"{len(server.calls)} calls started, {done} ran the flow; all ended: {finished}")
    finally:
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="calls started per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long calls are started")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--app", default="channel-state")
    parser.add_argument("--user", default="bench")
    parser.add_argument("--password", default="bench")
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
