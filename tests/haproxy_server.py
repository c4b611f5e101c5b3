"""A real HAProxy for the tests (Debian's package, see scripts/system-packages): started in the
foreground on loopback with a config written here, stopped afterwards."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis_server import wait_listening

CONFIG = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 3
    option redispatch 1

frontend ari
    bind 127.0.0.1:{port}
    default_backend runners

backend runners
    balance roundrobin
{servers}
"""
SERVER = "    server runner{n} 127.0.0.1:{port} check inter 500ms fall 1 rise 1"


def haproxy_config(port: int, backends: list[int]) -> str:
    """What the docs show: WebSockets through HTTP mode, a dead runner retried elsewhere."""
    servers = "\n".join(SERVER.format(n=n, port=p) for n, p in enumerate(backends, 1))
    return CONFIG.format(port=port, servers=servers)


@contextmanager
def haproxy(directory: Path, port: int, backends: list[int]) -> Iterator[subprocess.Popen[bytes]]:
    """HAProxy on 127.0.0.1:`port`, spreading connections over the `backends` ports; yields its
    process (the scale-out bench reads its CPU)."""
    binary = shutil.which("haproxy")
    assert binary, "haproxy is missing: run scripts/system-packages"
    config = directory / "haproxy.cfg"
    config.write_text(haproxy_config(port, backends))
    log = (directory / "haproxy.log").open("w")
    process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log)
    try:
        wait_listening(process, port, "haproxy")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
