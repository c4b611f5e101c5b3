"""Several Asterisk servers (a repeated --ari-url): one engine, a live loop per server, and
each channel's requests back to the server it came from."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fakes_ari import FakeConnector, FakeEngine, FakeHttp, FakeWebSocket, Timeline, listing

from flowrunner.ari.servers import Servers
from flowrunner.ari.session import AriConfig, AriSession
from flowrunner.ports import Request, Response


def server(url: str, ws: FakeWebSocket, *channels: str) -> AriSession:
    config = AriConfig(url, "bob", "secret", ("app",), transport="http")
    connector = FakeConnector([ws])
    session = AriSession(config, connect=connector, http=FakeHttp({"app": [listing(*channels)]}))
    connector.session = session
    return session


def wait_for(check: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.01)


def start(channel: str) -> dict[str, Any]:
    return {"type": "StasisStart", "application": "app", "channel": {"id": channel}}


def test_each_channel_goes_back_to_the_server_it_came_from() -> None:
    ws_a, ws_b = FakeWebSocket(), FakeWebSocket()
    a, b = server("http://a:8088", ws_a, "c1"), server("http://b:8088", ws_b, "c2")
    servers, engine = Servers([a, b]), FakeEngine(Timeline())
    listed: list[tuple[Any, ...]] = []
    loop = threading.Thread(target=servers.serve, args=(engine, lambda *x: listed.append(x)))
    loop.start()
    try:
        wait_for(lambda: len(listed) == 2, "listings")
        # each listing covers its own server's channels only: it never ends the other's calls
        assert set(listed) == {
            ("app", frozenset({"c1"}), frozenset({"c1"}), ""),
            ("app", frozenset({"c2"}), frozenset({"c2"}), ""),
        }
        ws_a.feed_event(start("c1"))
        ws_b.feed_event(start("c2"))
        wait_for(lambda: len(engine.posted) == 2, "both events")
        assert servers.transport.route("c1") is a.transport
        assert servers.transport.route("c2") is b.transport
        assert servers.transport.route("unknown") is a.transport
        replies: list[Response] = []
        servers.transport.route("c2").submit(Request("POST", "channels/c2/answer"), replies.append)
        wait_for(lambda: replies, "the reply")
        http_b = b.http
        assert isinstance(http_b, FakeHttp)
        assert [r.path for r in http_b.calls][-1] == "channels/c2/answer"
    finally:
        servers.stop()
        loop.join(timeout=5)
        servers.close()
        ws_a.shut()
        ws_b.shut()
    assert not loop.is_alive()


def test_a_reply_that_comes_in_on_another_server_wakes_the_engines_loop() -> None:
    ws_a, ws_b = FakeWebSocket(), FakeWebSocket()
    a, b = server("http://a:8088", ws_a), server("http://b:8088", ws_b)
    servers, engine = Servers([a, b]), FakeEngine(Timeline())
    loop = threading.Thread(target=servers.serve, args=(engine, lambda *x: None))
    loop.start()
    try:
        wait_for(lambda: engine.runs > 0, "the first loop to run")
        b.transport.submit(Request("GET", "asterisk/ping"), engine.done)  # answered on b
        wait_for(lambda: engine.replies, "the engine to see b's reply")
    finally:
        servers.stop()
        loop.join(timeout=5)
        servers.close()
        ws_a.shut()
        ws_b.shut()


def test_every_server_is_told_which_events_to_send() -> None:
    ws_a, ws_b = FakeWebSocket(), FakeWebSocket()
    a, b = server("http://a:8088", ws_a), server("http://b:8088", ws_b)

    def reacted(app: str) -> frozenset[str]:
        return frozenset()

    Servers([a, b]).hear_only(reacted)
    assert a.reacted is reacted
    assert b.reacted is reacted
    for session, ws in ((a, ws_a), (b, ws_b)):
        session.close()
        ws.shut()
