"""The media server serves the cache's renderings by hash, and nothing else."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowrunner.cli import build_parser
from flowrunner.speech.cache import SpeechCache
from flowrunner.speech.server import MediaServer, parse_listen

KEY = "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MediaServer, Path]]:
    tmp_path = tmp_path_factory.mktemp("served")
    cache = SpeechCache(tmp_path / "speech", 10_000)
    (cache.directory / f"{KEY}.wav").write_bytes(b"RIFF-audio")
    (cache.directory / "secret.wav").write_bytes(b"not a rendering")
    (cache.work / f"{'f' * 64}.wav").write_bytes(b"half made")
    (tmp_path / "outside.wav").write_bytes(b"outside")
    server = MediaServer(cache, "127.0.0.1", 0)
    server.start()
    yield server, tmp_path
    server.close()


def get(server: MediaServer, path: str, method: str = "GET") -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection(*server.address, timeout=5)
    connection.request(method, path)
    reply = connection.getresponse()
    body = reply.read()
    connection.close()
    return reply.status, body, reply.getheader("Content-Type", "")


def test_a_rendering_is_served_as_wav(served: tuple[MediaServer, Path]) -> None:
    server, _ = served
    assert get(server, f"/speech/{KEY}.wav") == (200, b"RIFF-audio", "audio/wav")
    assert get(server, f"/speech/{KEY}.wav?cache=no")[0] == 200  # a query changes nothing
    assert get(server, f"/speech/{KEY}.wav", "HEAD")[:2] == (200, b"")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/speech/",
        "/speech/secret.wav",
        "/speech/../outside.wav",
        "/speech/%2e%2e/outside.wav",
        "/speech/.work/" + "f" * 64 + ".wav",
        f"/speech/{KEY.upper()}.wav",
        f"/speech/{KEY}.WAV",
        f"/speech/{KEY}",
        f"/speech/{KEY}.wav/",
        "/speech/" + "a" * 64 + ".wav",  # a hash with no rendering
    ],
)
def test_nothing_else_is_served(served: tuple[MediaServer, Path], path: str) -> None:
    server, _ = served
    status, body, _ = get(server, path)
    assert status == 404
    assert b"outside" not in body
    assert b"half made" not in body


def test_it_listens_on_loopback_unless_told_otherwise() -> None:
    args = build_parser({}).parse_args(["serve", "flow.yaml"])
    assert parse_listen(args.speech_listen) == ("127.0.0.1", 8077)
    assert args.speech_url is None
    assert args.speech_engine == "espeak-ng"


@pytest.mark.parametrize("bad", ["8077", "host:", ":8077", "host:port"])
def test_a_listen_address_must_be_host_and_port(bad: str) -> None:
    with pytest.raises(ValueError, match="not HOST:PORT"):
        parse_listen(bad)
