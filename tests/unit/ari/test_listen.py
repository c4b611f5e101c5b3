"""`serve --listen`'s loop on loopback, with websocket-client playing Asterisk's outbound
connections: credentials, listings, per-call app names, replies routed back per channel."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import websocket

from flowrunner.ari import listen
from flowrunner.ari.listen import ListenSession, basic_auth
from flowrunner.ports import Request, Response

AUTH = basic_auth("asterisk", "secret")


class Engine:
    """Keeps what is posted; runs `todo` on the loop's thread (where requests are sent)."""

    def __init__(self) -> None:
        self.posted: list[Any] = []
        self.todo: list[Callable[[], None]] = []

    def post(self, message: object) -> None:
        self.posted.append(message)

    def run_due(self) -> float | None:
        while self.todo:
            self.todo.pop(0)()
        return None


class Served:
    def __init__(self, session: ListenSession, engine: Engine) -> None:
        self.session, self.engine = session, engine
        self.listed: list[tuple[Any, ...]] = []

    def on_loop(self, action: Callable[[], None]) -> None:
        self.engine.todo.append(action)
        self.session.wake()

    def connect(self, authorization: str = AUTH) -> websocket.WebSocket:
        ws: websocket.WebSocket = websocket.create_connection(
            f"ws://127.0.0.1:{self.session.port}/ari",
            header=[f"Authorization: {authorization}"],
            subprotocols=["ari"],
            timeout=5,
        )
        return ws


@contextmanager
def served(apps: tuple[str, ...] = ("app",)) -> Iterator[Served]:
    session, engine = ListenSession("127.0.0.1", 0, "asterisk", "secret", apps), Engine()
    session.bind()
    it = Served(session, engine)
    loop = threading.Thread(target=session.serve, args=(engine, lambda *a: it.listed.append(a)))
    loop.start()
    try:
        yield it
    finally:
        session.stop()
        loop.join(timeout=5)
        session.close()


def wait_for(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 5
    while not (result := check()):
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.01)
    return result


def answer_listing(ws: websocket.WebSocket, app_in_uri: str, ids: list[str]) -> None:
    request = json.loads(ws.recv())
    assert request["type"] == "RESTRequest"
    assert (request["method"], request["uri"]) == ("GET", f"applications/{app_in_uri}")
    body = json.dumps({"name": "x", "channel_ids": ids})
    reply = {"type": "RESTResponse", "request_id": request["request_id"], "status_code": 200}
    ws.send(json.dumps(reply | {"message_body": body}))


def stasis_start(app: str, channel: str) -> str:
    return json.dumps({"type": "StasisStart", "application": app, "channel": {"id": channel}})


def test_a_connection_without_the_credentials_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with served() as it, caplog.at_level(logging.WARNING):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            it.connect(basic_auth("asterisk", "wrong"))
        assert refused.value.status_code == 401
    assert caplog.messages == [
        "refused a connection from 127.0.0.1 (1 so far): wrong or no credentials; "
        "websocket_client.conf's username and password must be --ari-user and --ari-password"
    ]


def test_a_persistent_connection_is_listed_and_brings_the_calls_of_its_app() -> None:
    with served() as it:
        ws = it.connect()
        ws.send(json.dumps({"type": "ApplicationRegistered", "application": "app"}))
        answer_listing(ws, "app", ["c1"])
        wait_for(lambda: it.listed, "listing")
        assert it.listed == [("app", frozenset({"c1"}), None, "")]
        ws.send(stasis_start("app", "c2"))
        wait_for(lambda: it.engine.posted, "event")
        assert it.engine.posted[0]["type"] == "StasisStart"  # ApplicationRegistered is not
        replies: list[Response] = []
        request = Request("POST", "channels/c2/answer")
        it.on_loop(lambda: it.session.transport.route("c2").submit(request, replies.append))
        sent = json.loads(ws.recv())
        assert (sent["method"], sent["uri"]) == ("POST", "channels/c2/answer")
        reply = {"type": "RESTResponse", "request_id": sent["request_id"], "status_code": 204}
        ws.send(json.dumps(reply))
        assert wait_for(lambda: replies, "reply") == [Response(204)]
        ws.close()


def test_a_per_call_connection_serves_its_app_under_the_flows_name() -> None:
    with served() as it:
        ws = it.connect()
        ws.send(stasis_start("app:PJSIP/100-01", "c1"))
        answer_listing(ws, "app%3APJSIP%2F100-01", ["c1"])
        wait_for(lambda: it.listed, "listing")
        assert it.listed == [("app", frozenset({"c1"}), frozenset({"c1"}), "PJSIP/100-01")]
        assert it.engine.posted[0]["application"] == "app"
        create = Request("POST", "channels/create", {"app": "app", "endpoint": "Local/x@y"})
        it.on_loop(lambda: it.session.transport.route("c1").submit(create, lambda r: None))
        sent = json.loads(ws.recv())
        assert sent["uri"] == "channels/create?app=app%3APJSIP%2F100-01&endpoint=Local%2Fx%40y"
        ws.close()


def test_requests_of_a_call_whose_connection_is_gone_fail_at_once() -> None:
    with served() as it:
        ws = it.connect()
        ws.send(stasis_start("app:PJSIP/100-01", "c1"))
        answer_listing(ws, "app%3APJSIP%2F100-01", ["c1"])
        wait_for(lambda: it.listed, "listing")
        ws.close()
        wait_for(lambda: "c1" not in it.session.transport.homes, "the connection to close")
        replies: list[Response] = []
        request = Request("POST", "channels/c1/answer")
        it.on_loop(lambda: it.session.transport.route("c1").submit(request, replies.append))
        assert wait_for(lambda: replies, "reply") == [Response(0, error="connection lost")]


def test_a_call_whose_per_call_connection_does_not_come_back_is_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listen, "LOST_AFTER", 0.0)
    with served() as it:
        ws = it.connect()
        ws.send(stasis_start("app:PJSIP/100-01", "c1"))
        answer_listing(ws, "app%3APJSIP%2F100-01", ["c1"])
        wait_for(lambda: it.listed, "listing")
        ws.close()
        wait_for(lambda: len(it.listed) == 2, "the call to be let go")
        assert it.listed[1] == ("app", frozenset(), frozenset({"c1"}), "")


def test_a_message_for_an_app_not_served_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with served() as it, caplog.at_level(logging.WARNING):
        ws = it.connect()
        ws.send(stasis_start("other", "c1"))
        ws.send(stasis_start("app", "c2"))  # the connection's app is not known yet: still fine
        answer_listing(ws, "app", [])
        wait_for(lambda: it.engine.posted, "event")
        assert [m["channel"]["id"] for m in it.engine.posted] == ["c2"]
        ws.close()
    assert caplog.messages[0] == (
        "ignored an ARI message: a message for an app not served here (other); more like it "
        "are counted, in one line a minute"
    )


def test_a_persistent_connections_app_is_sent_only_the_events_read_and_again_on_reload() -> None:
    with served() as it:
        it.session.hear_only(lambda app: frozenset({"ChannelCallerId"}))
        ws = it.connect()
        ws.send(json.dumps({"type": "ApplicationRegistered", "application": "app"}))

        def filter_sent() -> list[str]:
            request = json.loads(ws.recv())
            assert (request["method"], request["uri"]) == ("PUT", "applications/app/eventFilter")
            return [item["type"] for item in json.loads(request["message_body"])["disallowed"]]

        unread = ["ChannelVarset", "ChannelDialplan", "ChannelConnectedLine"]
        unread += ["ChannelStateChange", "ChannelHangupRequest"]  # shown only, and not here
        assert filter_sent() == unread
        answer_listing(ws, "app", [])
        wait_for(lambda: it.listed, "listing")
        it.on_loop(lambda: it.session.subscribe(("app",)))  # a reload: the filter again
        assert filter_sent() == unread
        ws.close()
