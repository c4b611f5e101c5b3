"""REST over the WebSocket, and the HTTP fallback that makes a dropped link cost little."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import websocket
from fakes_ari import client_text

from flowrunner.ari.http import HttpTransport
from flowrunner.ari.rest import SwitchingTransport, WebSocketRest, reply_of
from flowrunner.ports import Done, Request, Response


class FakeSocket:
    """The events WebSocket: the frames written to its `sock` are read back as requests."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.error = error
        self.sock = self

    def sendall(self, frame: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(json.loads(client_text(frame)))


class Fallback:
    """The HTTP side: records what it was given, and answers 200."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def __call__(self, request: Request, done: Done) -> None:
        self.requests.append(request)
        done(Response(200, "over http"))


def attached(socket: FakeSocket) -> tuple[WebSocketRest, Fallback]:
    fallback = Fallback()
    rest = WebSocketRest(fallback)
    rest.attach(socket)  # type: ignore[arg-type]
    return rest, fallback


def test_rest_over_the_websocket_matches_replies_to_requests() -> None:
    socket, replies = FakeSocket(), list[Response]()
    rest, _ = attached(socket)
    rest.submit(Request("POST", "channels/1/play", {"media": "sound:x"}), replies.append)
    sent = socket.sent[0]
    assert (sent["type"], sent["method"], sent["uri"]) == (
        "RESTRequest",
        "POST",
        "channels/1/play?media=sound%3Ax",
    )
    rest.on_response(sent["request_id"], Response(404, error="Channel not found"))
    rest.on_response(sent["request_id"], Response(200))  # a second answer: nobody waits for it
    assert replies == [Response(404, error="Channel not found")]


def test_requests_go_over_http_when_the_websocket_is_down() -> None:
    """Regression: a request submitted while the link was down failed "not connected"."""
    fallback, replies = Fallback(), list[Response]()
    rest = WebSocketRest(fallback)
    rest.submit(Request("DELETE", "channels/1"), replies.append)
    assert fallback.requests == [Request("DELETE", "channels/1")]
    assert replies == [Response(200, "over http")]


@pytest.mark.parametrize(
    "error", [websocket.WebSocketTimeoutException("timed out"), BrokenPipeError(32, "pipe")]
)
def test_a_request_that_cannot_be_sent_goes_over_http_and_marks_the_link_broken(
    error: Exception,
) -> None:
    replies = list[Response]()
    rest, fallback = attached(FakeSocket(error))
    rest.submit(Request("POST", "channels/1/play"), replies.append)  # never seen whole: no risk
    assert fallback.requests == [Request("POST", "channels/1/play")]
    assert replies == [Response(200, "over http")]
    assert rest.send_error is error
    assert not rest.connected


@pytest.mark.parametrize(
    "request_",
    [
        Request("POST", "channels/1/variable", {"variable": "X", "value": "\ud800"}),
        Request("POST", "channels", body={"variables": {"X": object()}}),
    ],
)
def test_a_request_that_cannot_be_written_is_answered_at_once(request_: Request) -> None:
    """Regression (D9): a lone surrogate (from a web reply put into set_variable) raised out of
    submit, and `done` was never called: the call waited forever."""
    socket, replies = FakeSocket(), list[Response]()
    rest, fallback = attached(socket)
    rest.submit(request_, replies.append)
    assert len(replies) == 1
    assert replies[0].status == 0
    assert replies[0].error.startswith("cannot send: ")
    assert socket.sent == fallback.requests == []
    assert rest.connected


def test_when_the_link_drops_what_may_run_twice_goes_again_over_http_and_the_rest_fails() -> None:
    socket, replies = FakeSocket(), dict[str, Response]()
    rest, fallback = attached(socket)
    requests = [
        Request("DELETE", "channels/1"),
        Request("POST", "channels/1/play/p1", {"media": "sound:x"}),
        Request("POST", "channels/1/answer", harmless_twice=True),  # as the answer step says
        Request("POST", "channels/1/dtmf", {"dtmf": "1"}),
        Request("GET", "channels/1/variable", {"variable": "X"}),
    ]
    for request in requests:
        rest.submit(request, lambda response, path=request.path: replies.update({path: response}))
    rest.detach()
    assert fallback.requests == [requests[0], requests[2], requests[4]]
    assert replies == {
        "channels/1": Response(200, "over http"),
        "channels/1/play/p1": Response(0, error="connection lost"),
        "channels/1/answer": Response(200, "over http"),
        "channels/1/dtmf": Response(0, error="connection lost"),
        "channels/1/variable": Response(200, "over http"),
    }
    rest.detach()  # nothing is answered twice
    assert len(fallback.requests) == 3


def test_old_requests_time_out() -> None:
    replies = list[Response]()
    rest, _ = attached(FakeSocket())
    rest.submit(Request("GET", "asterisk/ping"), replies.append)
    rest.fail_pending(0.0, "timed out")
    assert replies == []
    rest.fail_pending(float("inf"), "timed out")
    assert replies == [Response(0, error="timed out")]


@pytest.mark.parametrize(
    ("message", "expected", "problem"),
    [
        ({"status_code": 204}, Response(204), ""),
        ({"status_code": 200, "message_body": '{"id": "9"}'}, Response(200, {"id": "9"}), ""),
        ({"status_code": 404, "message_body": None}, Response(404), ""),
        # Regression (D1): each of these raised out of the live loop and ended `serve`.
        ({"status_code": None}, Response(0, error="malformed reply"), "status_code"),
        ({}, Response(0, error="malformed reply"), "status_code"),
        ({"status_code": "200"}, Response(0, error="malformed reply"), "status_code"),
        ({"status_code": True}, Response(0, error="malformed reply"), "status_code"),
        ({"status_code": 2000}, Response(0, error="malformed reply"), "status_code"),
        ({"status_code": 200, "message_body": {"id": "9"}}, Response(200), "message_body"),
        ({"status_code": 204, "message_body": ["x"]}, Response(204), "message_body"),
    ],
)
def test_a_rest_response_is_read_defensively(
    message: dict[str, Any], expected: Response, problem: str
) -> None:
    response, found = reply_of({"type": "RESTResponse", "request_id": "1", **message})
    assert response == expected
    assert (problem in found) if problem else found == ""


class RecordingHttp(HttpTransport):
    def __init__(self) -> None:
        super().__init__("http://pbx.example:8088", "bob", "secret", workers=1)
        self.sent: list[Request] = []

    def call(self, request: Request) -> Response:
        self.sent.append(request)
        return Response(204)


def test_the_switching_transport_uses_the_websocket_only_while_it_is_up_and_chosen() -> None:
    http, woken, replied = RecordingHttp(), threading.Event(), threading.Event()
    transport = SwitchingTransport(http, woken.set)
    socket = FakeSocket()
    try:
        transport.use_websocket = True  # chosen, but not connected yet
        assert transport.name == "http"
        transport.submit(Request("POST", "channels/1/answer"), lambda response: replied.set())
        assert replied.wait(5.0)
        assert woken.wait(5.0)  # an HTTP reply rouses the live loop
        transport.rest.attach(socket)  # type: ignore[arg-type]
        assert transport.name == "websocket"
        transport.submit(Request("POST", "channels/2/answer"), lambda response: None)
        transport.use_websocket = False
        transport.submit(Request("POST", "channels/3/answer"), lambda response: None)
    finally:
        http.close()
    assert [m["uri"] for m in socket.sent] == ["channels/2/answer"]
    assert [r.path for r in http.sent][:1] == ["channels/1/answer"]


def test_an_http_reply_wakes_the_loop_even_when_its_callback_fails() -> None:
    http, woken = RecordingHttp(), threading.Event()
    transport = SwitchingTransport(http, woken.set)

    def fail(response: Response) -> None:
        raise RuntimeError("boom")

    try:
        transport.via_http(Request("GET", "asterisk/ping"), fail)
        assert woken.wait(5.0)
    finally:
        http.close()
