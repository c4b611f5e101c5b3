"""A real redis-server for the tests (Debian's package, see scripts/system-packages): started on
a free loopback port with nothing saved to disk, stopped afterwards."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, name: str) -> None:
    """Until `process` accepts connections on 127.0.0.1:`port` (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None, f"{name} exited at start"
            assert time.monotonic() < deadline, f"{name} did not start in 10 s"
            time.sleep(0.05)


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A running redis-server; yields its URL (database 0)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: run scripts/system-packages"
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    command += ["--appendonly", "no", "--dir", str(directory), "--protected-mode", "yes"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(process, port, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
