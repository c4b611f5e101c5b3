"""The events WebSocket's frames: those from the server, taken from whatever bytes have arrived,
never waiting for more; and the text frames flowrunner sends (`text_frame`).

websocket-client reads a frame with blocking calls until the frame is whole: a frame dripped a
byte at a time held the live loop, and every engine timer, for as long as the drip lasted, and a
frame of any size was buffered whole (a 200 MB frame: 628 MB of memory). Here the loop takes
what the socket has each time it is readable (`receive`), and `FrameReader` keeps the bytes of
an unfinished frame until the rest comes. websocket-client still does the handshake and sends
control frames; REST requests go as frames built here, in one piece (its send path builds a
frame object, masks it, takes a lock and polls the socket: more work than the request's JSON).

A message over `MAX_MESSAGE` bytes is refused as soon as a frame header announces it, before
any of its payload is kept: `MessageTooBig`. So is anything a server may not send (a masked
frame, reserved bits or opcodes, a control frame in pieces): `ProtocolError`. After either the
stream cannot be trusted, and the connection is closed (and reopened).
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 4 * 2**20  # bytes: ARI events are a few kB, and any bigger reply can use HTTP
READ_SIZE = 2**16  # bytes taken from the socket per wake-up: the loop runs timers in between


class ProtocolError(Exception):
    """The server sent what no server may: the connection must be closed."""


class MessageTooBig(ProtocolError):
    pass


class Closed(Exception):
    """The server closed the connection."""


Message = tuple[int, bytes]  # (opcode, payload): a whole text or binary message, or a control frame


def receive(sock: socket.socket) -> bytes:
    """What `sock` has now, up to about `READ_SIZE` bytes, without waiting for more: b"" when
    nothing is whole yet (a TLS record still on its way). `Closed` at the end of the stream."""
    if sock.gettimeout() is not None and not isinstance(sock, ssl.SSLSocket):
        return _read_plain(sock)
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # the socket keeps its timeout for sending
    data = b""
    try:
        # Until it would block: TLS hands out one record (<= 16 kB) per recv, and what OpenSSL
        # has taken from the socket, select cannot see.
        while len(data) < READ_SIZE:
            chunk = sock.recv(READ_SIZE)
            if not chunk:
                if not data:
                    raise Closed("Asterisk closed the connection")
                break  # deliver what came first; the end is seen at the next read
            data += chunk
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        pass
    finally:
        sock.settimeout(timeout)
    return data


def _read_plain(sock: socket.socket) -> bytes:
    """One read(2): a socket with a timeout is non-blocking underneath, and what a plain one
    leaves unread, select sees. (Its own recv would poll first, and waiting it must not; the
    TLS path's timeout juggling costs two ioctls and a recv that finds nothing, every wake-up.)"""
    try:
        data = os.read(sock.fileno(), READ_SIZE)
    except BlockingIOError:
        return b""
    if not data:
        raise Closed("Asterisk closed the connection")
    return data


class FrameReader:
    """Server frames parsed from bytes fed as they arrive; memory stays under about two
    `max_message`s, however the bytes come."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self.max_message = max_message
        self._buffer = bytearray()
        self._start = 0  # where the next frame begins in _buffer
        self._opcode = 0  # TEXT or BINARY while a fragmented message is under way, else 0
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def messages(self) -> Iterator[Message]:
        """The messages and control frames complete so far, in order; each is taken out of the
        reader as it is yielded."""
        while (frame := self._next_frame()) is not None:
            message = self._assemble(*frame)
            if message is not None:
                yield message

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buffer, start = self._buffer, self._start
        header = _header(buffer, start)
        if header is None:
            del buffer[:start]  # keep only the unfinished frame
            self._start = 0
            return None
        fin, opcode, size, head = header
        self._check(fin, opcode, size)  # before the payload arrives, so none of it is kept
        end = start + head + size
        if len(buffer) < end:
            del buffer[:start]
            self._start = 0
            return None
        self._start = end
        return fin, opcode, bytes(buffer[start + head : end])

    def _check(self, fin: bool, opcode: int, size: int) -> None:
        if opcode >= CLOSE:
            if opcode not in (CLOSE, PING, PONG):
                raise ProtocolError(f"reserved opcode {opcode:#x}")
            if not fin or size > 125:
                raise ProtocolError("a control frame in pieces or over 125 bytes")
        elif opcode not in (CONTINUATION, TEXT, BINARY):
            raise ProtocolError(f"reserved opcode {opcode:#x}")
        elif (opcode == CONTINUATION) != bool(self._opcode):
            raise ProtocolError("a continuation frame out of place")
        elif self._size + size > self.max_message:
            raise MessageTooBig(f"a message over {self.max_message} bytes")

    def _assemble(self, fin: bool, opcode: int, payload: bytes) -> Message | None:
        """The message this frame completes, if any (control frames may come between the frames
        of a message, and are whole)."""
        if opcode >= CLOSE:
            return opcode, payload
        if fin and not self._opcode:
            return opcode, payload
        self._opcode = self._opcode or opcode
        self._parts.append(payload)
        self._size += len(payload)
        if not fin:
            return None
        message = (self._opcode, b"".join(self._parts))
        self._opcode, self._parts, self._size = 0, [], 0
        return message


def _header(buffer: bytearray, start: int) -> tuple[bool, int, int, int] | None:
    """(fin, opcode, payload size, header size) of the frame at `start`; None until it is all
    there. A masked frame, or reserved bits, are a `ProtocolError` (no extension is agreed)."""
    if len(buffer) - start < 2:
        return None
    first, second = buffer[start], buffer[start + 1]
    if first & 0x70:
        raise ProtocolError("reserved bits set")
    if second & 0x80:
        raise ProtocolError("a masked frame from the server")
    size, head = second & 0x7F, 2
    if size >= 126:
        head = 4 if size == 126 else 10
        if len(buffer) - start < head:
            return None
        size = int.from_bytes(buffer[start + 2 : start + head], "big")
    return bool(first & 0x80), first & 0x0F, size, head


def text_frame(payload: bytes, key: bytes) -> bytes:
    """A client's text frame (RFC 6455 5.2) holding `payload` (UTF-8 text), whole and
    unfragmented, masked with `key` (4 bytes of a strong random source: `masks.MaskKeys`)."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | TEXT, 0x80 | size))
    elif size < 2**16:
        head = bytes((0x80 | TEXT, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | TEXT, 0x80 | 127)) + size.to_bytes(8, "big")
    return head + key + masked(payload, key)


def masked(payload: bytes, key: bytes) -> bytes:
    """`payload` XOR the repeated `key`: one operation on two big integers, not a byte loop."""
    size = len(payload)
    keys = (key * (size // 4 + 1))[:size]
    mixed = int.from_bytes(payload, "little") ^ int.from_bytes(keys, "little")
    return mixed.to_bytes(size, "little")
