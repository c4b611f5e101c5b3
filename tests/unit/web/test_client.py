"""RequestsWebClient against a real HTTP server on 127.0.0.1 (one per module, in a thread)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flowrunner.ports import Response, WebRequest
from flowrunner.web.client import RequestsWebClient

SECRET_QUERY = "secret=s3cr3t-key"
SECRET_HEADER = "Bearer tok-123"
MAX_BYTES = 1000
TIMEOUT = 0.3


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins every handler: nothing left open

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[Seen] = []
        self.release = threading.Event()  # lets stalled handlers finish at teardown

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up closed its socket: expected here


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def route(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(raw) if raw else None
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
        ROUTES[urlsplit(self.path).path](self)

    def reply(self, status: int, body: bytes, kind: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)


def _slow(handler: Handler) -> None:
    handler.server.release.wait(2)  # no headers until long after the client's timeout
    handler.reply(200, b"{}", "application/json")


def _stall(handler: Handler) -> None:
    handler.reply(200, b'{"par', "application/json", length=100)
    handler.wfile.flush()
    handler.server.release.wait(2)  # then nothing: the read timeout fires mid-body


def _drip(handler: Handler) -> None:
    # Every piece comes well within the read timeout; only the whole exchange is too slow.
    handler.reply(200, b"", "text/plain", length=500)
    for _ in range(5):
        handler.wfile.write(b"x" * 100)
        handler.wfile.flush()
        time.sleep(0.1)


def _drip_head(handler: Handler) -> None:
    # The status line and headers a byte at a time, each far within the read timeout: only the
    # deadline on the whole exchange ends it (it used to take the 2 s the drip lasts).
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
        handler.wfile.write(bytes([byte]))
        time.sleep(0.05)


def _big_undeclared(handler: Handler) -> None:
    handler.send_response(200)  # HTTP/1.0 without Content-Length: the body ends at close
    handler.end_headers()
    handler.wfile.write(b"x" * (MAX_BYTES * 2))


def _moved(handler: Handler) -> None:
    handler.send_response(302)
    handler.send_header("Location", "/caller")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


ROUTES: dict[str, Callable[[Handler], None]] = {
    "/caller": lambda h: h.reply(200, b'{"name": "Ada"}', "application/json"),
    "/echo": lambda h: h.reply(201, b'{"ok": true}', "application/vnd.crm+json"),
    "/missing": lambda h: h.reply(404, b'{"error": "no such caller"}', "application/json"),
    "/text": lambda h: h.reply(200, b"hello, not JSON", "text/plain"),
    "/json-as-text": lambda h: h.reply(200, b'{"vip": true}', "text/plain"),
    "/big": lambda h: h.reply(200, b"x" * (MAX_BYTES * 2), "application/json"),
    "/big-undeclared": _big_undeclared,
    "/slow": _slow,
    "/stall": _stall,
    "/drip": _drip,
    "/drip-head": _drip_head,
    "/moved": _moved,
}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = Server()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def client() -> Iterator[RequestsWebClient]:
    web = RequestsWebClient(max_bytes=MAX_BYTES)
    yield web
    web.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there now: connecting is refused


def test_get_returns_the_json_body(server: Server, client: RequestsWebClient) -> None:
    response = client.call(WebRequest("GET", server.url("/caller?number=100")))
    assert response == Response(200, {"name": "Ada"})
    assert response.ok


def test_post_sends_the_body_as_json_with_the_headers(
    server: Server, client: RequestsWebClient
) -> None:
    body = {"caller": "+3312345678", "tags": ["a", "b"]}
    request = WebRequest("POST", server.url("/echo"), {"X-Api-Key": "k1"}, body)
    assert client.call(request) == Response(201, {"ok": True})  # a +json type is JSON
    seen = next(s for s in server.seen if s.path == "/echo")
    assert (seen.method, seen.body) == ("POST", body)
    assert seen.headers["X-Api-Key"] == "k1"
    assert seen.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/missing", Response(404, {"error": "no such caller"})),
        ("/text", Response(200, None)),
        ("/json-as-text", Response(200, {"vip": True})),
        ("/moved", Response(302, None)),  # redirects are not followed
    ],
)
def test_any_status_is_returned_and_the_body_parsed_when_json(
    server: Server, client: RequestsWebClient, path: str, expected: Response
) -> None:
    assert client.call(WebRequest("GET", server.url(path))) == expected


FAILURES = [
    ("/slow", "timed out"),  # no headers in time
    ("/stall", "timed out"),  # headers, then the body stops
    ("/drip", "timed out"),  # each read in time, the whole exchange not
    ("/drip-head", "timed out"),  # the same, byte by byte, in the headers
    ("/big", f"reply larger than {MAX_BYTES} bytes"),  # refused on Content-Length
    ("/big-undeclared", f"reply larger than {MAX_BYTES} bytes"),  # counted while reading
    ("refused", "connection failed"),
    ("ftp://127.0.0.1/file", "bad URL"),
    ("http://exa..mple.com/", "bad URL"),
    ("http://:80/", "bad URL"),
]


@pytest.mark.parametrize(("target", "error"), FAILURES)
def test_failures_answer_status_0_with_an_error_that_holds_no_secret(
    server: Server, client: RequestsWebClient, target: str, error: str
) -> None:
    if target == "refused":
        target = f"http://127.0.0.1:{_closed_port()}/"
    elif target.startswith("/"):
        target = server.url(target)
    headers = {"Authorization": SECRET_HEADER}
    started = time.monotonic()
    response = client.call(WebRequest("GET", f"{target}?{SECRET_QUERY}", headers, timeout=TIMEOUT))
    assert time.monotonic() - started < TIMEOUT + 0.5
    assert response == Response(0, error=error)
    _assert_no_secret(response.error, target)


def test_a_bad_header_is_named_by_its_class_only(client: RequestsWebClient) -> None:
    request = WebRequest("GET", f"http://127.0.0.1:9/?{SECRET_QUERY}", {"X-Key": "tok-123\n"})
    response = client.call(request)
    assert response == Response(0, error="InvalidHeader")
    _assert_no_secret(response.error, request.url)


def _assert_no_secret(error: str, url: str) -> None:
    for secret in (url, "127.0.0.1", "s3cr3t", SECRET_QUERY, SECRET_HEADER, "tok-123"):
        assert secret not in error


def test_submit_calls_done_then_wake_on_a_worker(server: Server) -> None:
    events: list[tuple[str, str, Any]] = []
    woken = threading.Event()

    def wake() -> None:
        events.append(("wake", threading.current_thread().name, None))
        woken.set()

    def done(response: Response) -> None:
        events.append(("done", threading.current_thread().name, response))

    web = RequestsWebClient(wake)
    try:
        web.submit(WebRequest("GET", server.url("/caller")), done)
        assert woken.wait(2)
    finally:
        web.close()
    assert [(what, answer) for what, _, answer in events] == [
        ("done", Response(200, {"name": "Ada"})),
        ("wake", None),
    ]
    assert all(name.startswith("web") for _, name, _ in events)


def test_submit_after_close_answers_client_closed() -> None:
    wakes: list[bool] = []
    web = RequestsWebClient(lambda: wakes.append(True))
    web.close()
    answers: list[Response] = []
    web.submit(WebRequest("GET", "http://127.0.0.1:9/"), answers.append)
    assert answers == [Response(0, error="client closed")]
    assert wakes == [True]


def test_close_answers_requests_still_queued(server: Server) -> None:
    web = RequestsWebClient(workers=1)
    in_flight: list[Response] = []
    queued: list[Response] = []
    answered = threading.Event()

    def done(response: Response) -> None:
        in_flight.append(response)
        answered.set()

    web.submit(WebRequest("GET", server.url("/slow?close"), timeout=TIMEOUT), done)
    web.submit(WebRequest("GET", server.url("/caller")), queued.append)
    _wait_until(lambda: any(s.path == "/slow?close" for s in server.seen))
    web.close()
    assert queued == [Response(0, error="client closed")]
    assert answered.wait(2)  # the one in flight still gets its own answer
    assert in_flight == [Response(0, error="timed out")]


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 2
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_no_credentials_from_a_netrc_file_are_sent(
    server: Server, client: RequestsWebClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login admin password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert client.call(WebRequest("GET", server.url("/caller?number=100"))).status == 200
    assert "Authorization" not in server.seen[-1].headers
