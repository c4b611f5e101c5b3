"""The live loop (`AriSession.serve`) driven through a fake events WebSocket and a fake engine:
connect, transport probe, channel listing, events, keepalive, reconnect, REST over the socket,
HTTP replies waking the loop, stop. No network, no Asterisk; the loop's constants are shrunk so
each test takes milliseconds, and the tests assert what happened, never how long it took
(bar lower bounds the code guarantees)."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import websocket
from fakes_ari import (
    FakeConnector,
    FakeEngine,
    FakeHttp,
    FakeWebSocket,
    Rig,
    answer_probe,
    listing,
    make_rig,
    server_frame,
)

from flowrunner.ari import session as session_module
from flowrunner.ari.frames import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT
from flowrunner.ari.masks import MaskKeys
from flowrunner.ari.session import AriConfig, AriSession
from flowrunner.ports import Request, Response

CONFIG = AriConfig("http://bob:secret@pbx.example:8088", "bob", "secret", ("a", "b c"))
HTTP_ONLY = replace(CONFIG, transport="http")
WEBSOCKET_ONLY = replace(CONFIG, transport="websocket")

MakeRig = Callable[..., Rig]


def event(channel: str, kind: str = "StasisStart") -> dict[str, Any]:
    return {"type": kind, "application": "a", "channel": {"id": channel}}


@pytest.fixture(autouse=True)
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fast loop (a 10 ms tick, no backoff delay, no wait between tries while Asterisk is
    not up); returns the backoff attempts asked for."""
    monkeypatch.setattr(session_module, "TICK", 0.01)
    monkeypatch.setattr(session_module, "RETRY_NOT_UP", (0.0, 0.0))
    asked: list[int] = []

    def no_delay(attempt: int, rng: object = None) -> float:
        asked.append(attempt)
        return 0.0

    monkeypatch.setattr(session_module, "backoff", no_delay)
    return asked


@pytest.fixture
def rigs() -> Iterator[MakeRig]:
    made: list[Rig] = []

    def make(
        *script: FakeWebSocket | Exception,
        config: AriConfig = CONFIG,
        channels: dict[str, list[Response]] | None = None,
    ) -> Rig:
        rig = make_rig(config, *script, channels=channels)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


def stop_after_posts(rig: Rig, count: int) -> None:
    def on_post(message: object) -> None:
        if len(rig.engine.posted) >= count:
            rig.session.stop()

    rig.engine.on_post = on_post


def stop_after_replies(rig: Rig, count: int) -> None:
    def on_reply(response: Response) -> None:
        if len(rig.engine.replies) >= count:
            rig.session.stop()

    rig.engine.on_reply = on_reply


def when_listed(rig: Rig, app: str, then: Callable[[], None]) -> None:
    """Run `then` (on the loop's thread) each time the channels of `app` have been listed."""

    def on_channels(listed: str, ids: frozenset[str]) -> None:
        if listed == app:
            then()

    rig.on_channels = on_channels


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def submit(rig: Rig, request: Request) -> None:
    rig.session.transport.submit(request, rig.engine.done)


def record_transport_at_posts(rig: Rig) -> list[str]:
    """The transport's name at each event posted (chained before any on_post set later)."""
    names: list[str] = []
    then = rig.engine.on_post

    def on_post(message: object) -> None:
        names.append(rig.session.transport.name)
        if then is not None:
            then(message)

    rig.engine.on_post = on_post
    return names


def compose(*steps: Callable[[FakeWebSocket, dict[str, Any]], None] | None) -> Any:
    def on_send(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        for step in steps:
            if step is not None:
                step(ws, message)

    return on_send


# -- connect -----------------------------------------------------------------------------------


def test_connects_to_the_events_url_with_basic_auth_and_no_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, opened = FakeWebSocket(), list[tuple[str, dict[str, Any]]]()

    def create_connection(url: str, **options: Any) -> FakeWebSocket:
        opened.append((url, options))
        return ws

    monkeypatch.setattr(websocket, "create_connection", create_connection)
    http, engine = FakeHttp(), FakeEngine([])
    session = AriSession(HTTP_ONLY, http=http)  # the default connect
    rig = Rig(session, FakeConnector([ws]), http, engine, engine.timeline)
    when_listed(rig, "b c", session.stop)
    try:
        rig.serve()
    finally:
        rig.close()
    token = base64.b64encode(b"bob:secret").decode()
    assert opened == [
        (
            "ws://pbx.example:8088/ari/events?app=a,b%20c&subscribeAll=false",
            {
                "header": [f"Authorization: Basic {token}"],
                "timeout": 5,
                "skip_utf8_validation": True,
                "enable_multithread": True,
                "suppress_origin": True,
                "get_mask_key": opened[0][1]["get_mask_key"],
            },
        )
    ]
    assert isinstance(opened[0][1]["get_mask_key"], MaskKeys)
    assert [r.path for r in http.calls] == ["applications/a", "applications/b%20c"]
    assert ws.closed


# -- the REST transport --------------------------------------------------------------------------


def test_probe_answered_200_chooses_rest_over_the_websocket_and_redelivers_early_events(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    ws = FakeWebSocket(on_send=answer_probe(200, early=[event("1"), event("2")]))
    rig = rigs(ws, channels={"a": [listing("1", "2")], "b c": [listing()]})
    when_listed(rig, "b c", lambda: ws.feed_event(event("3")))  # a live event, after those
    stop_after_posts(rig, 3)
    names = record_transport_at_posts(rig)
    with caplog.at_level(logging.INFO, logger="flowrunner.ari"):
        rig.serve()
    assert ws.sent == [
        {
            "type": "RESTRequest",
            "transaction_id": "probe",
            "request_id": "probe",
            "method": "GET",
            "uri": "asterisk/ping",
        }
    ]
    # HTTP until the probe's answer, which came after events 1 and 2 and before 3.
    assert rig.transports == ["http", "http"]
    assert names == ["http", "http", "websocket"]
    # The listing first, then the events that came during the probe, in order, then the rest.
    assert rig.timeline == [
        ("channels", "a", frozenset({"1", "2"})),
        ("channels", "b c", frozenset()),
        ("post", event("1")),
        ("post", event("2")),
        ("post", event("3")),
    ]
    assert (
        "connected to ARI at http://pbx.example:8088 for app a, b c; "
        "REST over http until Asterisk answers the probe"
    ) in caplog.text
    assert "REST over websocket" in caplog.text
    assert ws.closed


@pytest.mark.parametrize("status", [404, 501])
def test_probe_answered_otherwise_chooses_http(rigs: MakeRig, status: int) -> None:
    ws = FakeWebSocket(on_send=answer_probe(status, early=[event("1")]))
    rig = rigs(ws)
    when_listed(rig, "b c", lambda: ws.feed_event(event("2")))
    stop_after_posts(rig, 2)
    rig.serve()
    assert [m["request_id"] for m in ws.sent] == ["probe"]
    assert rig.transports == ["http", "http"]
    assert rig.engine.posted == [event("1"), event("2")]


def test_requests_go_over_http_until_the_probe_is_answered(rigs: MakeRig) -> None:
    """The probe no longer holds the loop (it waited up to 2 s, reading frames with blocking
    calls): it is answered among the events, whenever Asterisk does, and HTTP serves meanwhile."""
    ws = FakeWebSocket(on_send=answer_probe(None, early=[event("1")]))
    rig = rigs(ws)
    when_listed(rig, "b c", lambda: submit(rig, Request("POST", "channels/1/answer")))

    def late_answer(message: object) -> None:
        if message == event("1"):
            ws.feed_rest_response("probe", 200)
            ws.feed_event(event("2"))
        else:
            submit(rig, Request("POST", "channels/2/answer"))

    rig.engine.on_post = late_answer
    stop_after_replies(rig, 2)

    def answer(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        if message.get("request_id") != "probe":
            ws.feed_rest_response(message["request_id"], 204)

    ws.on_send = compose(ws.on_send, answer)
    rig.serve()
    assert [r.path for r in rig.http.calls if r.method == "POST"] == ["channels/1/answer"]
    assert [m["uri"] for m in ws.requests()] == ["channels/2/answer"]
    assert rig.engine.posted == [event("1"), event("2")]
    assert sorted(r.status for r in rig.engine.replies) == [200, 204]


@pytest.mark.parametrize("mode", ["websocket", "http"])
def test_a_chosen_transport_skips_the_probe(rigs: MakeRig, mode: str) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=replace(CONFIG, transport=mode))
    when_listed(rig, "b c", lambda: ws.feed_event(event("1")))
    stop_after_posts(rig, 1)
    rig.serve()
    assert ws.sent == []
    assert rig.transports == [mode, mode]
    assert rig.engine.posted == [event("1")]


class SlowConnector(FakeConnector):
    """Opens each socket only once `release` is set (as a server that drips its handshake)."""

    def __init__(self, *script: FakeWebSocket | Exception) -> None:
        super().__init__(script)
        self.release = threading.Event()

    def __call__(self, config: AriConfig) -> websocket.WebSocket:
        self.release.wait(5.0)
        return super().__call__(config)


def slow_rig(connector: SlowConnector, config: AriConfig = HTTP_ONLY) -> Rig:
    http, engine = FakeHttp(), FakeEngine([])
    session = AriSession(config, connect=connector, http=http)
    connector.session = session
    return Rig(session, connector, http, engine, engine.timeline)


def test_engine_timers_fire_while_the_handshake_is_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handshake reads with blocking calls: on the loop's thread, a server answering it a
    byte at a time held every timer (each read may take 5 s)."""
    monkeypatch.setattr(session_module, "TICK", 60.0)
    ws = FakeWebSocket()
    connector = SlowConnector(ws)
    rig = slow_rig(connector)
    rig.engine.timer_at = time.monotonic() + 0.02
    rig.engine.on_timer = connector.release.set  # the handshake ends after the timer fired
    when_listed(rig, "b c", rig.session.stop)
    try:
        rig.serve()
    finally:
        rig.close()
    assert len(rig.engine.fired) == 1
    assert rig.engine.fired[0] < connector.connected_at[0]
    assert ws.closed


def test_a_handshake_that_never_ends_is_given_up_and_its_late_socket_closed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(session_module, "CONNECT_TIMEOUT", 0.05)
    late = FakeWebSocket()
    connector = SlowConnector(late)
    rig = slow_rig(connector)

    def release_once_given_up(attempt: int, rng: object = None) -> float:
        connector.release.set()  # the first handshake ends now, too late
        for _ in range(500):  # and has taken its socket before the second attempt starts
            if connector.connected_at:
                break
            time.sleep(0.01)
        return 0.0

    monkeypatch.setattr(session_module, "backoff", release_once_given_up)
    try:
        rig.serve()  # the second attempt finds no Asterisk, and stops the session
    finally:
        rig.close()
    assert warnings(caplog)[0] == (
        "ARI at http://pbx.example:8088: TimeoutError: no WebSocket handshake in 0s"
    )
    assert len(rig.connector.configs) == 2
    for _ in range(100):  # the first thread closes its socket as it ends
        if late.closed:
            break
        time.sleep(0.01)
    assert late.closed
    assert rig.http.calls == []  # never used: no listing on it


# -- REST over the WebSocket ------------------------------------------------------------------


def submit_when_listed(rig: Rig, request: Request) -> None:
    when_listed(rig, "a", lambda: rig.session.transport.submit(request, rig.engine.done))


def test_rest_request_over_the_websocket_is_answered_and_never_posted(rigs: MakeRig) -> None:
    def answer(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        ws.feed_rest_response(message["request_id"], 200, '{"id": "9"}')

    ws = FakeWebSocket(on_send=answer)
    rig = rigs(ws, config=WEBSOCKET_ONLY)
    request = Request("POST", "channels", {"endpoint": "PJSIP/100"}, body={"variables": {}})
    submit_when_listed(rig, request)
    rig.engine.on_reply = lambda response: rig.session.stop()
    rig.serve()
    assert ws.sent == [
        {
            "type": "RESTRequest",
            "transaction_id": "1",
            "request_id": "1",
            "method": "POST",
            "uri": "channels?endpoint=PJSIP%2F100",
            "content_type": "application/json",
            "message_body": '{"variables":{}}',
        }
    ]
    assert rig.engine.replies == [Response(200, {"id": "9"})]
    assert rig.engine.posted == []  # a RESTResponse is the transport's, not the engine's
    assert [r.path for r in rig.http.calls] == ["applications/a", "applications/b%20c"]


def test_rest_request_unanswered_times_out_and_its_late_answer_is_dropped(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "REQUEST_TIMEOUT", 0.05)
    ws = FakeWebSocket()
    rig = rigs(ws, config=WEBSOCKET_ONLY)
    submit_when_listed(rig, Request("POST", "channels/1/answer"))

    def after_timeout(response: Response) -> None:
        ws.feed_rest_response("1", 204)
        ws.feed_event(event("1"))

    rig.engine.on_reply = after_timeout
    stop_after_posts(rig, 1)
    rig.serve()
    assert [m["uri"] for m in ws.requests()] == ["channels/1/answer"]
    assert rig.engine.replies == [Response(0, error="timed out")]
    assert rig.engine.posted == [event("1")]


def test_rest_request_times_out_even_while_events_keep_coming(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the timeout sweep only ran after a silent tick, so on a busy link (a frame
    at least every second) an unanswered request waited forever."""
    monkeypatch.setattr(session_module, "REQUEST_TIMEOUT", 0.05)
    ws = FakeWebSocket()
    rig = rigs(ws, config=WEBSOCKET_ONLY)
    started = time.monotonic()

    def submit_then_events() -> None:
        rig.session.transport.submit(Request("POST", "channels/1/answer"), rig.engine.done)
        ws.feed_event(event("0"))

    def next_event(message: object) -> None:  # the socket is never silent
        if time.monotonic() - started < 1.0:
            ws.feed_event(event(str(len(rig.engine.posted))))
        else:
            rig.session.stop()

    when_listed(rig, "b c", submit_then_events)
    rig.engine.on_post = next_event
    rig.engine.on_reply = lambda response: rig.session.stop()
    rig.serve()
    assert [m["uri"] for m in ws.requests()] == ["channels/1/answer"]
    assert rig.engine.replies == [Response(0, error="timed out")]
    assert len(rig.engine.posted) > 1


def test_requests_in_flight_when_the_link_drops_are_sent_again_over_http_if_they_may_run_twice(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: every request in flight failed "connection lost", so a hangup sent just
    before a drop was lost and its channel left up. Now a hangup goes again over HTTP (a second
    hangup is a 404), and a play, which must never run twice, still fails."""

    def close_after_two(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        if len(ws.requests()) == 2:
            ws.feed_close()

    first = FakeWebSocket(on_send=close_after_two)
    rig = rigs(first, FakeWebSocket(), config=WEBSOCKET_ONLY)

    def in_flight() -> None:
        if len(rig.connector.connected_at) == 1:
            submit(rig, Request("DELETE", "channels/1"))
            submit(rig, Request("POST", "channels/1/play", {"media": "sound:x"}))

    when_listed(rig, "a", in_flight)
    stop_after_replies(rig, 2)
    rig.serve()
    assert [(m["method"], m["uri"]) for m in first.requests()] == [
        ("DELETE", "channels/1"),
        ("POST", "channels/1/play?media=sound%3Ax"),
    ]
    assert [r for r in rig.http.calls if r.method != "GET"] == [Request("DELETE", "channels/1")]
    assert sorted(rig.engine.replies, key=lambda r: r.status) == [
        Response(0, error="connection lost"),
        Response(200, {"answered": True}),
    ]
    assert first.closed
    assert "Closed: closed by Asterisk (1000)" in warnings(caplog)[0]


def test_a_request_whose_frame_cannot_be_sent_goes_over_http_and_the_link_is_reopened(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed send may have written part of a frame: the stream is broken, and Asterisk never
    saw the request whole."""

    def fail(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        raise websocket.WebSocketTimeoutException("timed out")

    first = FakeWebSocket(on_send=fail)
    rig = rigs(first, config=WEBSOCKET_ONLY)
    when_listed(rig, "a", lambda: submit(rig, Request("POST", "channels/1/answer")))
    rig.serve()  # the reconnect finds no Asterisk, and stops the session
    assert rig.engine.replies == [Response(200, {"answered": True})]
    assert [r.path for r in rig.http.calls if r.method == "POST"] == ["channels/1/answer"]
    assert len(rig.connector.configs) == 2
    assert "WebSocketTimeoutException: timed out" in warnings(caplog)[0]


def test_http_replies_wake_the_loop(rigs: MakeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no frame and no timer, the loop sleeps a whole tick (here 60 s): only the wake-up of
    SwitchingTransport lets the engine see an HTTP reply sooner."""
    monkeypatch.setattr(session_module, "TICK", 60.0)
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    waiting = threading.Event()
    rig.engine.on_wait = waiting.set
    rig.http.before_reply = lambda request: waiting.wait(5.0)  # reply once the loop waits
    request = Request("POST", "channels/1/answer")
    submit_when_listed(rig, request)
    rig.engine.on_reply = lambda response: rig.session.stop()
    rig.serve()
    assert rig.engine.replies == [Response(200, {"answered": True})]
    assert [r for r in rig.http.calls if r.method == "POST"] == [request]
    assert ws.sent == []  # not over the WebSocket


# -- events ----------------------------------------------------------------------------------


def test_application_replaced_is_logged_and_not_posted(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)

    def events() -> None:
        for _ in range(100):  # Asterisk sends it once: more are logged no more
            ws.feed_event({"type": "ApplicationReplaced", "application": "a"})
            ws.feed_event({"type": "ApplicationReplaced", "application": None})
        ws.feed_event(event("1"))

    when_listed(rig, "b c", events)
    stop_after_posts(rig, 1)
    rig.serve()
    assert rig.engine.posted == [event("1")]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["another client took over app a: no more events for it here"]
    assert [w.split(";")[0] for w in warnings(caplog)] == [
        "ignored an ARI message: an ApplicationReplaced for an app not served here (None)"
    ]


@pytest.mark.parametrize(
    "failed", [Response(500, {"message": "boom"}, "boom"), Response(0, error="Timeout")]
)
def test_a_failed_channel_listing_is_logged_and_not_reported(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture, failed: Response
) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY, channels={"a": [listing("5")], "b c": [failed]})
    when_listed(rig, "a", lambda: ws.feed_event(event("5")))
    stop_after_posts(rig, 1)
    rig.serve()
    assert rig.timeline == [("channels", "a", frozenset({"5"})), ("post", event("5"))]
    assert warnings(caplog) == [f"could not list the channels of app b c: {failed.describe()}"]


def test_engine_timers_fire_while_the_socket_is_silent(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "TICK", 60.0)  # only the timer can end the wait
    rig = rigs(FakeWebSocket(), config=HTTP_ONLY)
    due = list[float]()

    def arm() -> None:
        due.append(time.monotonic() + 0.02)
        rig.engine.timer_at = due[0]

    when_listed(rig, "b c", arm)
    rig.engine.on_timer = rig.session.stop
    rig.serve()
    assert len(rig.engine.fired) == 1
    assert rig.engine.fired[0] >= due[0]


# -- keepalive ---------------------------------------------------------------------------------


def test_a_silent_link_is_pinged_and_an_answer_keeps_it(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(session_module, "PING_EVERY", 0.05)
    monkeypatch.setattr(session_module, "PONG_WITHIN", 30.0)
    pinged_at: list[float] = []

    def pong(ws: FakeWebSocket) -> None:
        pinged_at.append(time.monotonic())
        if ws.pings < 2:
            ws.feed((PONG, b""))
        else:
            rig.session.stop()

    ws = FakeWebSocket(on_ping=pong)
    rig = rigs(ws, config=HTTP_ONLY)
    rig.serve()
    assert ws.pings == 2  # once per silence: the pong ended the first one
    assert pinged_at[0] - rig.connector.connected_at[0] > 0.05
    assert pinged_at[1] - pinged_at[0] > 0.05
    assert len(rig.connector.configs) == 1
    assert warnings(caplog) == []


def test_a_link_silent_after_a_ping_is_declared_dead_and_reconnected(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(session_module, "PING_EVERY", 0.03)
    monkeypatch.setattr(session_module, "PONG_WITHIN", 0.03)
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    rig.serve()  # the reconnect finds no Asterisk, and stops the session
    assert ws.pings == 1
    assert ws.closed
    assert len(rig.connector.configs) == 2
    assert warnings(caplog) == [
        "ARI at http://pbx.example:8088: WebSocketTimeoutException: no answer to keepalive ping"
    ]


# -- reconnect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "logged"),
    [
        (lambda ws: ws.feed_close(), "Closed: closed by Asterisk (1000)"),
        (lambda ws: ws.feed((CLOSE, b"\x03\xe9bye")), "Closed: closed by Asterisk (1001: bye)"),
        (lambda ws: ws.feed((CLOSE, b"")), "Closed: closed by Asterisk"),
        (lambda ws: ws.hang_up(), "Closed: Asterisk closed the connection"),
        (lambda ws: ws.feed(b"\x81\x85mask!hello"), "ProtocolError: a masked frame from the"),
        (lambda ws: ws.feed(b"\x81\x7f" + (5 * 2**20).to_bytes(8, "big")), "MessageTooBig"),
    ],
)
def test_reconnects_and_lists_the_channels_of_each_app_again(
    rigs: MakeRig,
    attempts: list[int],
    caplog: pytest.LogCaptureFixture,
    end: Callable[[FakeWebSocket], None],
    logged: str,
) -> None:
    first = FakeWebSocket(on_send=answer_probe(200))
    second = FakeWebSocket(on_send=answer_probe(200))
    rig = rigs(
        first,
        second,
        channels={"a": [listing("1", "2"), listing("2")], "b c": [listing("7"), listing()]},
    )

    def events() -> None:
        if len(rig.connector.connected_at) == 1:
            first.feed_event(event("1"))
            end(first)
        else:
            second.feed_event(event("2"))

    when_listed(rig, "b c", events)
    stop_after_posts(rig, 2)
    rig.serve()
    assert rig.timeline == [
        ("channels", "a", frozenset({"1", "2"})),
        ("channels", "b c", frozenset({"7"})),
        ("post", event("1")),
        ("channels", "a", frozenset({"2"})),
        ("channels", "b c", frozenset()),
        ("post", event("2")),
    ]
    assert [m["request_id"] for m in second.sent] == ["probe"]  # the probe again
    assert first.closed
    assert second.closed
    assert attempts == [0]
    assert len(warnings(caplog)) == 1
    assert logged in warnings(caplog)[0]


@pytest.mark.parametrize(("stable_after", "last"), [(60.0, 3), (0.0, 0)])
def test_backoff_grows_while_connecting_fails_and_restarts_after_a_lasting_connection(
    rigs: MakeRig,
    attempts: list[int],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    stable_after: float,
    last: int,
) -> None:
    """Regression: the backoff started over as soon as a socket opened, so a server that
    accepts and drops at once was reconnected to in a storm. Only a link that lasted
    STABLE_AFTER seconds starts it over."""
    monkeypatch.setattr(session_module, "STABLE_AFTER", stable_after)
    ws = FakeWebSocket()
    rig = rigs(
        ConnectionRefusedError(111, "Connection refused"),
        websocket.WebSocketBadStatusException("Handshake status %d %s", 401, "Unauthorized"),
        OSError("no route to host"),
        TimeoutError(),
        ws,
        config=HTTP_ONLY,
    )
    when_listed(rig, "b c", ws.feed_close)
    with caplog.at_level(logging.INFO, logger="flowrunner.ari"):
        rig.serve()  # then a last refused connect, which stops the session: not logged
    assert attempts == [0, 1, 2, last]  # a refused connection is retried soon, not backed off
    assert len(rig.connector.configs) == 6
    prefix = "ARI at http://pbx.example:8088: "
    assert warnings(caplog) == [
        prefix + "connection refused (is Asterisk running, with http.conf enabled?)",
        prefix + "401 Unauthorized: check --ari-user and --ari-password",
        prefix + "OSError: no route to host",
        prefix + "TimeoutError",
        prefix + "Closed: closed by Asterisk (1000)",
    ]
    assert f"reconnecting to ARI in 0.0s (attempt {last + 1})" in caplog.text
    assert "secret" not in caplog.text


def test_while_asterisk_is_down_or_starting_it_is_tried_often_and_logged_once(
    rigs: MakeRig,
    attempts: list[int],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused, then (seen while Asterisk 22 starts) 404 and 503 from its HTTP server: tried
    again at a short fixed interval, not backed off; each change of reason logged once."""
    delays: list[tuple[float, float]] = []
    monkeypatch.setattr(session_module.random, "uniform", lambda a, b: delays.append((a, b)) or 0.0)
    refused = ConnectionRefusedError(111, "Connection refused")
    starting = [
        websocket.WebSocketBadStatusException("Handshake status %d %s", status, "x")
        for status in (404, 503)
    ]
    ws = FakeWebSocket()
    rig = rigs(refused, refused, refused, *starting, ws, config=HTTP_ONLY)
    when_listed(rig, "b c", ws.feed_close)
    with caplog.at_level(logging.INFO, logger="flowrunner.ari"):
        rig.serve()
    assert delays[:5] == [session_module.RETRY_NOT_UP] * 5
    assert attempts == [0]  # only after the link, closed by Asterisk, went down
    prefix = "ARI at http://pbx.example:8088: "
    assert warnings(caplog)[:3] == [
        prefix + "connection refused (is Asterisk running, with http.conf enabled?)",
        prefix + "the events WebSocket was refused with HTTP status 404",
        prefix + "the events WebSocket was refused with HTTP status 503",
    ]
    (connected,) = [r.getMessage() for r in caplog.records if "connected to ARI" in r.getMessage()]
    assert re.search(r"; REST over http \(after [0-9.]+s out\)$", connected)
    assert "reconnecting to ARI" not in caplog.text.split("connected to ARI")[0]


# -- stop ------------------------------------------------------------------------------------


def stop_from_another_thread(rig: Rig, when: threading.Event) -> threading.Thread:
    def stop() -> None:
        if when.wait(5.0):
            rig.session.stop()

    thread = threading.Thread(target=stop, name="stopper", daemon=True)
    thread.start()
    return thread


def test_stop_makes_serve_return(rigs: MakeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "TICK", 60.0)  # only the wake-up ends the wait
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    connected = threading.Event()
    when_listed(rig, "b c", connected.set)
    stopper = stop_from_another_thread(rig, connected)
    rig.serve()
    stopper.join()
    assert ws.closed
    assert len(rig.connector.configs) == 1
    assert rig.engine.posted == []


def test_stop_during_the_backoff_makes_serve_return(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    backing_off = threading.Event()

    def long_backoff(attempt: int, rng: object = None) -> float:
        backing_off.set()
        return 60.0

    monkeypatch.setattr(session_module, "backoff", long_backoff)
    rig = rigs(OSError("no route to host"), FakeWebSocket())
    stopper = stop_from_another_thread(rig, backing_off)
    rig.serve()
    stopper.join()
    assert len(rig.connector.configs) == 1  # no second attempt after the stop
    assert len(warnings(caplog)) == 1


# -- hostile input: nothing Asterisk sends ends the loop -------------------------------------

DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.mark.parametrize(
    ("frame", "logged"),
    [
        # Regression (D1): each of these ended `serve` with "a bug in flowrunner" (exit 3).
        ((TEXT, b"[]"), "not a JSON object (list)"),
        ((TEXT, b"null"), "not a JSON object (NoneType)"),
        ((TEXT, b'"hello"'), "not a JSON object (str)"),
        ((TEXT, b"42"), "not a JSON object (int)"),
        ((TEXT, DEEP), "not JSON (JSONDecodeError: depth limit exceeded"),
        # Regression (D6): these were a reason to reconnect.
        ((TEXT, b"{not json"), "not JSON (JSONDecodeError"),
        ((TEXT, b""), "not JSON (JSONDecodeError"),
        ((TEXT, b'{"type": "\xff"}'), "not JSON (JSONDecodeError: str is not valid UTF-8"),
        # Not ARI, and ignored quietly.
        ((BINARY, b"\x00\x01"), ""),
        ((PONG, b"late"), ""),
    ],
)
def test_a_malformed_message_is_skipped_and_logged_and_the_link_kept(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture, frame: tuple[int, bytes], logged: str
) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)

    def events() -> None:
        ws.feed(frame)
        ws.feed_event(event("1"))

    when_listed(rig, "b c", events)
    stop_after_posts(rig, 1)
    rig.serve()
    assert rig.engine.posted == [event("1")]
    assert len(rig.connector.configs) == 1  # no reconnect
    lines = warnings(caplog)
    assert len(lines) == (1 if logged else 0)
    assert all(line.startswith(f"ignored an ARI message: {logged}") for line in lines)


def test_malformed_messages_are_logged_once_per_kind_then_counted(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    rig.session.skipped.every = 0.05  # a "minute" of 50 ms

    def flood() -> None:
        ws.feed(b"".join(server_frame(TEXT, b"{") for _ in range(500)))
        ws.feed(b"".join(server_frame(TEXT, b"[1]") for _ in range(500)))

    def later() -> None:
        time.sleep(0.1)  # on the loop's thread: the minute is up at its next tick
        ws.feed((TEXT, b"{"))
        ws.feed_event(event("2"))

    def on_post(message: object) -> None:
        if message == event("1"):
            later()
        else:
            rig.session.stop()

    when_listed(rig, "b c", lambda: (flood(), ws.feed_event(event("1"))))
    rig.engine.on_post = on_post
    rig.serve()
    lines = warnings(caplog)
    assert lines[0].startswith("ignored an ARI message: not JSON (JSONDecodeError")
    assert lines[1] == "ignored an ARI message: not a JSON object (list); more like it are " + (
        "counted, in one line a minute"
    )
    counts = [line for line in lines if line.startswith("ignored 499 more ARI message(s) in ")]
    assert [line.rsplit(": ", 1)[1] for line in counts] == ["not JSON", "not a JSON object"]
    assert len(lines) <= 4
    assert len(rig.connector.configs) == 1


def test_a_malformed_rest_response_answers_its_request_and_keeps_the_link(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    def answer(ws: FakeWebSocket, message: dict[str, Any]) -> None:
        if message["uri"] == "channels/1/answer":
            ws.feed_rest_response(message["request_id"], None)  # D1: int(None) ended serve
        else:
            ws.feed_rest_response(message["request_id"], 204, {"an": "object"})  # D1 too

    ws = FakeWebSocket(on_send=answer)
    rig = rigs(ws, config=WEBSOCKET_ONLY)

    def requests() -> None:
        submit(rig, Request("POST", "channels/1/answer"))
        submit(rig, Request("DELETE", "channels/1"))

    when_listed(rig, "b c", requests)
    stop_after_replies(rig, 2)
    rig.serve()
    assert rig.engine.replies == [Response(0, error="malformed reply"), Response(204)]
    assert len(rig.connector.configs) == 1
    assert [w.split(";")[0] for w in warnings(caplog)] == [
        "ignored an ARI message: a RESTResponse without a valid status_code (request 1)",
        "ignored an ARI message: a RESTResponse whose message_body is not text (request 2)",
    ]


@pytest.mark.parametrize("status", [None, "200", {"x": 1}])
def test_a_malformed_probe_answer_leaves_rest_on_http(rigs: MakeRig, status: Any) -> None:
    ws = FakeWebSocket(on_send=answer_probe(None))
    rig = rigs(ws)
    when_listed(
        rig, "b c", lambda: (ws.feed_rest_response("probe", status), ws.feed_event(event("1")))
    )
    stop_after_posts(rig, 1)
    names = record_transport_at_posts(rig)
    rig.serve()
    assert names == ["http"]


def test_a_bug_on_one_message_costs_that_message_only(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)

    def on_post(message: object) -> None:
        if message == event("1"):
            raise KeyError("a bug")
        rig.session.stop()

    when_listed(rig, "b c", lambda: (ws.feed_event(event("1")), ws.feed_event(event("2"))))
    rig.engine.on_post = on_post
    rig.serve()
    assert rig.engine.posted == [event("1"), event("2")]
    assert warnings(caplog)[0].startswith(
        "ignored an ARI message: a message flowrunner failed on (KeyError)"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "b c", "channel_ids": None},  # D1: frozenset(None) ended serve
        {"name": "b c", "channel_ids": [1, 2]},
        {"name": "b c", "channel_ids": [{"id": "1"}]},  # unhashable
        {"name": "b c", "channel_ids": "1"},
        {"name": "b c"},
        ["1"],
    ],
)
def test_a_channel_listing_of_the_wrong_shape_is_logged_and_not_reported(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture, body: Any
) -> None:
    ws = FakeWebSocket()
    bad = Response(200, body)
    rig = rigs(ws, config=HTTP_ONLY, channels={"a": [listing("5")], "b c": [bad]})
    when_listed(rig, "a", lambda: ws.feed_event(event("5")))
    stop_after_posts(rig, 1)
    rig.serve()
    assert rig.timeline == [("channels", "a", frozenset({"5"})), ("post", event("5"))]
    assert warnings(caplog) == [
        "could not list the channels of app b c: the reply has no list of channel ids"
    ]


def test_a_frame_dripped_byte_by_byte_never_holds_the_timers(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (D7): a frame arriving in pieces was read with blocking calls until whole; a
    frame dripped over 26 s held every engine timer for 26 s."""
    monkeypatch.setattr(session_module, "TICK", 60.0)  # only the socket and the timer wake it
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    frame = server_frame(TEXT, json.dumps(event("1")).encode())

    def drip_half_then_arm() -> None:
        for byte in frame[:20]:
            ws.feed(bytes([byte]))
        rig.engine.timer_at = time.monotonic() + 0.05

    def rest_of_it() -> None:
        ws.feed(frame[20:])

    when_listed(rig, "b c", drip_half_then_arm)
    rig.engine.on_timer = rest_of_it
    stop_after_posts(rig, 1)
    rig.serve()
    assert len(rig.engine.fired) == 1
    assert rig.timeline[-1] == ("post", event("1"))  # whole, after the timer
    assert len(rig.connector.configs) == 1


def test_a_frame_that_never_ends_is_no_sign_of_life(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes keep coming, but no whole frame: the keepalive still calls the link dead (else a
    server dripping one endless frame would hold every event behind it forever)."""
    monkeypatch.setattr(session_module, "PING_EVERY", 0.03)
    monkeypatch.setattr(session_module, "PONG_WITHIN", 0.03)
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    dripped, stop = threading.Event(), threading.Event()

    def drip() -> None:  # a frame of 1 MB, a byte every 10 ms for 3 s
        with contextlib.suppress(OSError):  # the loop closed the socket
            ws.feed(b"\x81\x7f" + (2**20).to_bytes(8, "big"))
            for _ in range(300):
                if stop.wait(0.01):
                    return
                ws.feed(b"x")
            dripped.set()

    dripper = threading.Thread(target=drip, daemon=True)
    when_listed(rig, "b c", dripper.start)
    try:
        rig.serve()
        assert not dripped.is_set()  # called dead while the bytes still came
    finally:
        stop.set()
        dripper.join(5.0)
    assert ws.pings == 1
    assert "no answer to keepalive ping" in warnings(caplog)[0]


def test_pings_are_answered_with_one_pong_per_burst(rigs: MakeRig) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)

    def pings() -> None:
        ws.feed(b"".join(server_frame(PING, b"p%d" % n) for n in range(1000)))
        ws.feed_event(event("1"))

    when_listed(rig, "b c", pings)
    stop_after_posts(rig, 1)
    rig.serve()
    assert ws.pongs == [b"p999"]  # the last ping's payload, as RFC 6455 allows


def test_a_message_in_several_frames_is_delivered_whole(rigs: MakeRig) -> None:
    ws = FakeWebSocket()
    rig = rigs(ws, config=HTTP_ONLY)
    text = json.dumps(event("1")).encode()

    def fragments() -> None:
        ws.feed(server_frame(TEXT, text[:5], fin=False))
        ws.feed(server_frame(PING, b"between"))  # control frames may come in between
        ws.feed(server_frame(CONTINUATION, text[5:10], fin=False))
        ws.feed(server_frame(CONTINUATION, text[10:]))

    when_listed(rig, "b c", fragments)
    stop_after_posts(rig, 1)
    rig.serve()
    assert rig.engine.posted == [event("1")]
    assert ws.pongs == [b"between"]


def test_wake_after_close_is_harmless() -> None:
    """Regression: close() closed the wake pipe while HTTP and web workers could still call
    wake(): an EBADF in a worker, or a "!" written into whatever file reused the number."""
    session = AriSession(CONFIG, connect=FakeConnector([]), http=FakeHttp())
    session.close()
    session.wake()
    session.stop()


# -- what readiness and metrics read ---------------------------------------------------------


def test_the_session_says_while_it_is_connected_and_how_often_it_connected(
    rigs: MakeRig,
) -> None:
    first, second = FakeWebSocket(), FakeWebSocket()
    rig = rigs(first, second, config=HTTP_ONLY)
    seen: list[tuple[bool, int]] = []

    def events() -> None:
        seen.append((rig.session.connected, rig.session.connections))
        if len(rig.connector.connected_at) == 1:
            first.hang_up()
        else:
            second.feed_event(event("2"))

    assert (rig.session.connected, rig.session.connections) == (False, 0)
    when_listed(rig, "b c", events)
    stop_after_posts(rig, 1)
    rig.serve()
    assert seen == [(True, 1), (True, 2)]
    assert rig.session.connected is False  # stopped: the link is closed


def test_an_app_another_client_took_over_is_said_until_the_next_connection(
    rigs: MakeRig,
) -> None:
    first, second = FakeWebSocket(), FakeWebSocket()
    rig = rigs(first, second, config=HTTP_ONLY)
    seen: list[frozenset[str]] = []

    def events() -> None:
        seen.append(rig.session.replaced)
        if len(rig.connector.connected_at) == 1:
            first.feed_event({"type": "ApplicationReplaced", "application": "a"})
            first.feed_event(event("1"))
        else:
            second.feed_event(event("2"))

    def on_post(message: object) -> None:
        seen.append(rig.session.replaced)
        if len(rig.engine.posted) == 1:
            first.hang_up()
        else:
            rig.session.stop()

    when_listed(rig, "b c", events)
    rig.engine.on_post = on_post
    rig.serve()
    assert seen == [frozenset(), frozenset({"a"}), frozenset(), frozenset()]


# -- which events Asterisk sends --------------------------------------------------------------


def filters_sent(http: FakeHttp, count: int) -> list[tuple[str, list[str]]]:
    """The event filters PUT so far (app, disallowed types), once `count` have come (HTTP
    requests go on worker threads)."""

    def sent() -> list[tuple[str, list[str]]]:
        return [
            (r.path, [item["type"] for item in r.body["disallowed"]])
            for r in list(http.calls)
            if r.path.endswith("/eventFilter")
        ]

    deadline = time.monotonic() + 5
    while len(sent()) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return sent()


def test_each_app_is_sent_only_the_events_read_on_every_connect_and_change_of_flows(
    rigs: MakeRig,
) -> None:
    first, second = FakeWebSocket(), FakeWebSocket()
    rig = rigs(first, second, config=HTTP_ONLY)
    reacted = {"a": frozenset({"ChannelVarset", "StasisEnd"}), "b c": frozenset()}
    rig.session.hear_only(lambda app: reacted[app])

    def events() -> None:
        if len(rig.connector.connected_at) == 1:
            first.hang_up()
        else:
            reacted["a"] = frozenset()  # a reload: the new version does not react to it
            rig.session.subscribe(CONFIG.apps)  # the same apps: no reconnect, filters again
            second.feed_event(event("2"))

    when_listed(rig, "b c", events)
    stop_after_posts(rig, 1)
    rig.serve()
    every = ["ChannelVarset", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine"]
    every += ["ChannelStateChange", "ChannelHangupRequest"]
    sent = filters_sent(rig.http, 6)  # two workers: in any order
    assert (
        sorted(sent)
        == [
            (
                "applications/a/eventFilter",
                every[1:],
            ),  # at each connect: `a` reacts to ChannelVarset
            ("applications/a/eventFilter", every[1:]),
            ("applications/a/eventFilter", every),  # after the reload
            ("applications/b%20c/eventFilter", every),
            ("applications/b%20c/eventFilter", every),
            ("applications/b%20c/eventFilter", every),
        ]
    )
    assert len(rig.connector.connected_at) == 2


def test_without_hear_only_no_filter_is_set(rigs: MakeRig) -> None:
    rig = rigs(FakeWebSocket(), config=HTTP_ONLY)
    when_listed(rig, "b c", rig.session.stop)
    rig.serve()
    assert filters_sent(rig.http, 0) == []
