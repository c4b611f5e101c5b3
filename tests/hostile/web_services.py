"""Hostile web services for the web client's tests: real TCP servers on 127.0.0.1, one
behaviour each, every connection served on its own thread.

A behaviour gets the service (for its `stop` event) and the connection, after the request's head
was read and counted in `received`; it returns when done, or when `stop` is set at teardown, so
closing a service leaves no thread behind.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Behaviour = Callable[["Service", socket.socket], None]

DRIP_EVERY = 0.2  # seconds between two bytes: far below any read timeout, so only a deadline
# on the whole exchange stops a drip
BLOCK = 65_536


class Service:
    """A TCP server on 127.0.0.1 serving every connection with `behaviour`."""

    def __init__(self, behaviour: Behaviour, read_request: bool = True) -> None:
        self.behaviour = behaviour
        self.read_request = read_request
        self.stop = threading.Event()
        self.received: list[bytes] = []  # the request line of each request that arrived
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so the accept loop sees `stop`
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="hostile-accept")
        self._accepting.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}{path}"

    def close(self) -> None:
        self.stop.set()
        self._accepting.join()
        self._listener.close()
        for thread in self._threads:
            thread.join()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn")
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)  # a client that neither sends nor closes cannot hold us forever
            try:
                if self.read_request:
                    self.received.append(_read_head(conn))
                self.behaviour(self, conn)
            except OSError:  # the client gave up and closed: what it should do here
                pass


@contextmanager
def serving(behaviour: Behaviour, read_request: bool = True) -> Iterator[Service]:
    service = Service(behaviour, read_request)
    try:
        yield service
    finally:
        service.close()


def _read_head(conn: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.recv(BLOCK)
        if not data:
            raise ConnectionResetError("closed before the end of the request head")
        head += data
    return head.split(b"\r\n", 1)[0]


# -- behaviours ---------------------------------------------------------------------------------


def answer(body: bytes, *headers: str) -> Behaviour:
    """A prompt reply with this body (and Content-Length), then the connection closes."""

    def behaviour(service: Service, conn: socket.socket) -> None:
        head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Connection: close", *headers]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    return behaviour


def drip_head(service: Service, conn: socket.socket) -> None:
    """The status line and headers one byte at a time (~8 s in all)."""
    _drip(service, conn, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


def drip_body(service: Service, conn: socket.socket) -> None:
    """The head at once, then a 50-byte body one byte at a time (~10 s in all)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
    _drip(service, conn, b" " * 48 + b"{}")


def hold(service: Service, conn: socket.socket) -> None:
    """Reads the request, then never answers."""
    service.stop.wait()


def slam(service: Service, conn: socket.socket) -> None:
    """Closes the connection at once (the Service is made with read_request=False)."""


def flood(service: Service, conn: socket.socket) -> None:
    """A body with no length, ending at close, 64 MB as fast as the client reads it."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    _pour(service, conn, lambda block: block)


def flood_chunked(service: Service, conn: socket.socket) -> None:
    """The same in chunked encoding: 64 KB chunks that never end."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    _pour(service, conn, lambda block: b"%x\r\n%s\r\n" % (len(block), block))


def gzip_bomb(service: Service, conn: socket.socket) -> None:
    """40 KB on the wire that inflate to 40 MB."""
    body = _bomb()
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    conn.sendall(head.encode() + body)


def huge_header(service: Service, conn: socket.socket) -> None:
    """One 200 KB header line."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\n{}"
    )


def many_headers(service: Service, conn: socket.socket) -> None:
    """Ten thousand short headers."""
    lines = b"".join(b"X-%d: a\r\n" % n for n in range(10_000))
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 2\r\n\r\n{}")


def bad_header_line(service: Service, conn: socket.socket) -> None:
    """A header line with no colon, holding a secret (urllib3 logs the lines it cannot parse)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Token s3cr3t-header\r\nContent-Length: 2\r\n\r\n{}")


def _drip(service: Service, conn: socket.socket, data: bytes) -> None:
    for byte in data:
        if service.stop.wait(DRIP_EVERY):
            return
        conn.sendall(bytes([byte]))


def _pour(service: Service, conn: socket.socket, frame: Callable[[bytes], bytes]) -> None:
    block = frame(b"x" * BLOCK)
    for _ in range(1024):  # 64 MB, unless the client closes first (sendall then raises)
        if service.stop.is_set():
            return
        conn.sendall(block)


_bombs: list[bytes] = []


def _bomb() -> bytes:
    if not _bombs:  # made once: compressing 40 MB takes a moment
        _bombs.append(gzip.compress(b"\0" * 40_000_000, compresslevel=9))
    return _bombs[0]
