"""The HTTP transport calls `done` exactly once for every submit, whatever happens."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowrunner.ari.http import HttpTransport
from flowrunner.ports import Request, Response


def submit_and_wait(http: HttpTransport, request: Request) -> list[Response]:
    replies, called = list[Response](), threading.Event()

    def done(response: Response) -> None:
        replies.append(response)
        called.set()

    http.submit(request, done)
    assert called.wait(5.0), "done was never called"
    return replies


def test_a_request_that_cannot_be_written_is_answered() -> None:
    """Regression (D9): a lone surrogate in a parameter (a web reply put into set_variable)
    raised UnicodeEncodeError in the worker; `done` was never called, nothing was logged, and
    the call waited forever."""
    http = HttpTransport("http://127.0.0.1:9", "bob", "secret", workers=1)
    try:
        request = Request("POST", "channels/1/variable", {"variable": "X", "value": "\ud800"})
        assert submit_and_wait(http, request) == [
            Response(0, error="cannot send: UnicodeEncodeError")
        ]
    finally:
        http.close()


def test_a_request_after_close_is_answered() -> None:
    http = HttpTransport("http://127.0.0.1:9", "bob", "secret", workers=1)
    http.close()
    assert submit_and_wait(http, Request("DELETE", "channels/1")) == [
        Response(0, error="transport closed")
    ]


def test_a_failing_callback_is_logged_and_the_worker_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    http = HttpTransport("http://127.0.0.1:9", "bob", "secret", workers=1)
    http.call = lambda request: Response(204)  # type: ignore[method-assign]

    def fail(response: Response) -> None:
        raise RuntimeError("boom")

    try:
        http.submit(Request("POST", "channels/1/answer"), fail)
        assert submit_and_wait(http, Request("POST", "channels/2/answer")) == [Response(204)]
    finally:
        http.close()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "the reply to POST channels/1/answer could not be handled"
    ]


def test_no_server_is_no_answer() -> None:
    http = HttpTransport("http://127.0.0.1:9", "bob", "secret", workers=1)
    try:
        assert http.call(Request("GET", "asterisk/ping")) == Response(0, error="ConnectionError")
    finally:
        http.close()


class Deep(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"[" * 50_000 + b"]" * 50_000
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_reply_nested_too_deep_is_kept_as_text() -> None:
    """Regression (D1): json.loads raised RecursionError out of the channel listing."""
    with ThreadingHTTPServer(("127.0.0.1", 0), Deep) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        http = HttpTransport(f"http://127.0.0.1:{server.server_port}", "bob", "secret")
        try:
            reply = http.call(Request("GET", "applications/a"))
        finally:
            http.close()
            server.shutdown()
    assert (reply.status, type(reply.body), len(reply.body)) == (200, str, 100_000)
