"""The frame reader: RFC 6455 server frames from bytes as they come, never waiting for more."""

from __future__ import annotations

import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from fakes_ari import client_text, server_frame

from flowrunner.ari.frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    READ_SIZE,
    TEXT,
    Closed,
    FrameReader,
    MessageTooBig,
    ProtocolError,
    receive,
    text_frame,
)


def read(reader: FrameReader, data: bytes) -> list[tuple[int, bytes]]:
    reader.feed(data)
    return list(reader.messages())


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 300_000])
def test_each_length_encoding(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert read(FrameReader(), server_frame(TEXT, payload)) == [(TEXT, payload)]


def test_bytes_in_any_pieces_give_the_same_messages() -> None:
    stream = b"".join(
        [
            server_frame(TEXT, b'{"a": 1}'),
            server_frame(PING, b"p"),
            server_frame(TEXT, b"x" * 70_000, fin=False),
            server_frame(PONG, b""),  # control frames may come between a message's frames
            server_frame(CONTINUATION, b"y" * 200, fin=False),
            server_frame(CONTINUATION, b"z"),
            server_frame(BINARY, b"\x00"),
            server_frame(CLOSE, b"\x03\xe8"),
        ]
    )
    expected = [
        (TEXT, b'{"a": 1}'),
        (PING, b"p"),
        (PONG, b""),
        (TEXT, b"x" * 70_000 + b"y" * 200 + b"z"),
        (BINARY, b"\x00"),
        (CLOSE, b"\x03\xe8"),
    ]
    assert read(FrameReader(), stream) == expected
    for piece in (1, 7, 4096):
        reader, got = FrameReader(), []
        for start in range(0, len(stream), piece):
            got += read(reader, stream[start : start + piece])
        assert got == expected


def test_a_message_over_the_cap_is_refused_at_its_header_before_any_payload() -> None:
    """Regression (D7): a 200 MB frame was buffered whole (628 MB peak RSS)."""
    reader = FrameReader(max_message=1000)
    reader.feed(b"\x81\x7f" + (200 * 2**20).to_bytes(8, "big"))
    with pytest.raises(MessageTooBig):
        list(reader.messages())


def test_a_fragmented_message_over_the_cap_is_refused_too() -> None:
    reader = FrameReader(max_message=1000)
    assert read(reader, server_frame(TEXT, b"x" * 600, fin=False)) == []
    reader.feed(server_frame(CONTINUATION, b"x" * 600)[:4])  # its header is enough
    with pytest.raises(MessageTooBig):
        list(reader.messages())


def test_the_messages_before_a_bad_frame_are_delivered() -> None:
    reader = FrameReader()
    reader.feed(server_frame(TEXT, b"1") + b"\x81\x81mask!")
    messages = reader.messages()
    assert next(messages) == (TEXT, b"1")
    with pytest.raises(ProtocolError, match="masked"):
        next(messages)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x81\x81mask!", "a masked frame from the server"),
        (b"\xc1\x00", "reserved bits set"),  # RSV1: no extension was agreed
        (b"\x83\x00", "reserved opcode 0x3"),
        (b"\x8b\x00", "reserved opcode 0xb"),
        (b"\x80\x00", "a continuation frame out of place"),
        (b"\x01\x01a\x81\x01b", "a continuation frame out of place"),  # a new one inside
        (b"\x09\x00", "a control frame in pieces or over 125 bytes"),
        (b"\x89\x7e\x00\x7e", "a control frame in pieces or over 125 bytes"),
    ],
)
def test_what_no_server_may_send_is_a_protocol_error(data: bytes, error: str) -> None:
    reader = FrameReader()
    reader.feed(data)
    with pytest.raises(ProtocolError, match=error):
        list(reader.messages())


@pytest.mark.parametrize("header", [b"\x81", b"\x81\x7e\x01", b"\x81\x7f\x00\x00\x00"])
def test_an_unfinished_header_waits(header: bytes) -> None:
    assert read(FrameReader(), header) == []


def test_memory_holds_at_most_the_unfinished_frame() -> None:
    reader = FrameReader()
    frame = server_frame(TEXT, b"x" * 1000)
    for _ in range(1000):
        assert read(reader, frame) == [(TEXT, b"x" * 1000)]
    reader.feed(frame[:10])
    list(reader.messages())
    assert len(reader._buffer) == 10


# -- receive: what the socket has, never waiting --------------------------------------------


def test_receive_takes_what_is_there_and_never_waits() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(5.0)
        assert receive(ours) == b""  # nothing yet: no wait of 5 s
        theirs.sendall(b"abc")
        assert receive(ours) == b"abc"
        assert ours.gettimeout() == 5.0  # left for sending
        theirs.sendall(b"end")
        theirs.shutdown(socket.SHUT_WR)
        assert receive(ours) == b"end"  # what came before the end, first
        with pytest.raises(Closed):
            receive(ours)


def test_receive_takes_what_a_plain_socket_has_in_reads_of_read_size() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(5.0)
        theirs.sendall(b"z" * (READ_SIZE + 10))
        assert receive(ours) == b"z" * READ_SIZE  # the rest stays readable for select
        assert receive(ours) == b"z" * 10
        assert receive(ours) == b""


def test_receive_from_a_blocking_socket_never_waits_either() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert ours.gettimeout() is None
        assert receive(ours) == b""
        theirs.sendall(b"abc")
        assert receive(ours) == b"abc"
        assert ours.gettimeout() is None


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    command += f" -subj /CN=localhost -keyout {key} -out {cert}"
    subprocess.run(command.split(), check=True, capture_output=True)
    return folder


TlsPair = tuple[ssl.SSLSocket, ssl.SSLObject, ssl.MemoryBIO, socket.socket]


@pytest.fixture
def tls_pair(certificate: Path) -> Iterator[TlsPair]:
    """A client SSLSocket (what the live loop reads), and the server's TLS state, the BIO its
    records come out of, and its raw socket: the test can then send part of a TLS record."""
    client_raw, server_raw = socket.socketpair()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_context.wrap_bio(incoming, outgoing, server_side=True)

    def serve_handshake() -> None:
        while True:
            try:
                server.do_handshake()
                server_raw.sendall(outgoing.read())
                return
            except ssl.SSLWantReadError:
                server_raw.sendall(outgoing.read())
                incoming.write(server_raw.recv(65536))

    thread = threading.Thread(target=serve_handshake, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=certificate / "cert.pem")
    with client_context.wrap_socket(client_raw, server_hostname="localhost") as client:
        thread.join(5.0)
        with server_raw:
            yield client, server, outgoing, server_raw


def readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 5.0)[0])


def test_receive_never_waits_for_the_rest_of_a_tls_record(tls_pair: TlsPair) -> None:
    """Regression (D7) for TLS: the socket is readable with part of a record; a blocking read
    would wait for the rest."""
    client, server, outgoing, server_raw = tls_pair
    client.settimeout(5.0)
    server.write(b"x" * 1000)
    record = outgoing.read()
    server_raw.sendall(record[:10])
    assert readable(client)
    started = time.monotonic()
    assert receive(client) == b""
    assert time.monotonic() - started < 1.0  # not the socket's 5 s
    server_raw.sendall(record[10:])
    assert readable(client)
    assert receive(client) == b"x" * 1000


def test_receive_takes_every_whole_tls_record_so_none_hides_from_select(tls_pair: TlsPair) -> None:
    client, server, outgoing, server_raw = tls_pair
    server.write(b"y" * 40_000)  # three records
    server_raw.sendall(outgoing.read())
    assert readable(client)
    assert receive(client) == b"y" * 40_000
    assert receive(client) == b""


@pytest.mark.parametrize("size", [0, 1, 5, 125, 126, 127, 2**16 - 1, 2**16, 70_001])
def test_a_text_frame_is_byte_for_byte_what_websocket_client_would_send(size: int) -> None:
    text = ("é" if size >= 2 else "").ljust(size - 1 if size >= 2 else size, "a")  # `size` bytes
    assert len(text.encode()) == size
    key = b"\x9d\x02\xff\x41"
    expected = websocket.ABNF.create_frame(text, websocket.ABNF.OPCODE_TEXT)
    expected.get_mask_key = lambda length: key
    assert text_frame(text.encode(), key) == expected.format()
    assert client_text(text_frame(text.encode(), key)) == text
