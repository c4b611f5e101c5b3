"""The live loop (`AriSession.serve`) driven through a fake events WebSocket and a fake engine:
connect, transport probe, channel listing, events, keepalive, reconnect, REST over the socket,
HTTP replies waking the loop, stop. No network, no Asterisk; the loop's constants are shrunk so
each test takes milliseconds, and the tests assert what happened, never how long it took
(bar lower bounds the code guarantees)."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import websocket
from fakes_ari import (
    PONG,
    TEXT,
    FakeConnector,
    FakeEngine,
    FakeHttp,
    FakeWebSocket,
    Rig,
    answer_probe,
    listing,
    make_rig,
)

from flowrunner.ari import session as session_module
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
    """A fast loop (a 10 ms tick, no backoff delay); returns the backoff attempts asked for."""
    monkeypatch.setattr(session_module, "TICK", 0.01)
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


def when_listed(rig: Rig, app: str, then: Callable[[], None]) -> None:
    """Run `then` (on the loop's thread) each time the channels of `app` have been listed."""

    def on_channels(listed: str, ids: frozenset[str]) -> None:
        if listed == app:
            then()

    rig.on_channels = on_channels


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


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
            },
        )
    ]
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
    assert rig.transports == ["websocket", "websocket"]
    assert rig.session.transport.name == "websocket"
    # The listing first, then the events that came during the probe, in order, then the rest.
    assert rig.timeline == [
        ("channels", "a", frozenset({"1", "2"})),
        ("channels", "b c", frozenset()),
        ("post", event("1")),
        ("post", event("2")),
        ("post", event("3")),
    ]
    assert "connected to ARI at http://pbx.example:8088 for app a, b c; REST over websocket" in (
        caplog.text
    )
    assert ws.timeout == 5.0  # reading guards a frame that arrives in pieces
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


def test_probe_unanswered_in_time_chooses_http_and_its_late_answer_is_dropped(
    rigs: MakeRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "PROBE_TIMEOUT", 0.05)
    ws = FakeWebSocket(on_send=answer_probe(None, early=[event("1")]))
    rig = rigs(ws)

    def late() -> None:
        ws.feed_rest_response("probe", 200)
        ws.feed_event(event("2"))

    when_listed(rig, "b c", late)
    stop_after_posts(rig, 2)
    rig.serve()
    assert rig.transports == ["http", "http"]
    assert rig.session.transport.name == "http"  # the late answer switches nothing
    assert rig.engine.posted == [event("1"), event("2")]  # nor is it posted
    assert rig.engine.replies == []


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
            "message_body": '{"variables": {}}',
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


def test_rest_requests_fail_with_connection_lost_when_the_link_closes(
    rigs: MakeRig, caplog: pytest.LogCaptureFixture
) -> None:
    ws = FakeWebSocket(on_send=lambda ws, message: ws.feed_close())
    rig = rigs(ws, config=WEBSOCKET_ONLY)
    submit_when_listed(rig, Request("DELETE", "channels/1"))
    rig.serve()  # the reconnect finds no Asterisk, and stops the session
    assert [m["method"] for m in ws.requests()] == ["DELETE"]
    assert rig.engine.replies == [Response(0, error="connection lost")]
    assert ws.closed
    assert len(rig.connector.configs) == 2
    assert "WebSocketConnectionClosedException: closed by Asterisk" in warnings(caplog)[0]


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
        ws.feed_event({"type": "ApplicationReplaced", "application": "a"})
        ws.feed_event(event("1"))

    when_listed(rig, "b c", events)
    stop_after_posts(rig, 1)
    rig.serve()
    assert rig.engine.posted == [event("1")]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["another client took over app a: no more events for it here"]


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
        (lambda ws: ws.feed_close(), "WebSocketConnectionClosedException: closed by Asterisk"),
        (lambda ws: ws.feed(ConnectionResetError(104, "reset")), "ConnectionResetError"),
        (lambda ws: ws.feed(websocket.WebSocketTimeoutException()), "WebSocketTimeoutException"),
        (lambda ws: ws.feed((TEXT, b"{not json")), "JSONDecodeError"),
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
    assert rig.transports == ["websocket"] * 4
    assert first.closed
    assert second.closed
    assert attempts == [0]
    assert len(warnings(caplog)) == 1
    assert logged in warnings(caplog)[0]


def test_backoff_grows_while_connecting_fails_and_restarts_after_a_connection(
    rigs: MakeRig, attempts: list[int], caplog: pytest.LogCaptureFixture
) -> None:
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
    assert attempts == [0, 1, 2, 3, 0]
    assert len(rig.connector.configs) == 6
    prefix = "ARI at http://pbx.example:8088: "
    assert warnings(caplog) == [
        prefix + "connection refused (is Asterisk running, with http.conf enabled?)",
        prefix + "401 Unauthorized: check --ari-user and --ari-password",
        prefix + "OSError: no route to host",
        prefix + "TimeoutError",
        prefix + "WebSocketConnectionClosedException: closed by Asterisk",
    ]
    assert "reconnecting to ARI in 0.0s (attempt 4)" in caplog.text
    assert "secret" not in caplog.text


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
    rig = rigs(ConnectionRefusedError(111, "Connection refused"), FakeWebSocket())
    stopper = stop_from_another_thread(rig, backing_off)
    rig.serve()
    stopper.join()
    assert len(rig.connector.configs) == 1  # no second attempt after the stop
    assert len(warnings(caplog)) == 1
