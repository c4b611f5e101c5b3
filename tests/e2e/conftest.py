"""e2e fixtures: the sandbox Asterisk (scripts/asterisk-sandbox) and a real `flowrunner serve`.

These tests place real calls; they fail (never skip) when the sandbox cannot start, so a CI run
cannot pass without having really called.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).parents[2]
SANDBOX = REPO / "scripts" / "asterisk-sandbox"
ARI = "http://127.0.0.1:8088/ari"
AUTH = ("asterisk", "asterisk")

sys.path.insert(0, str(REPO / "scripts"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def sandbox(*args: str) -> str:
    done = subprocess.run([str(SANDBOX), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"asterisk-sandbox {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def ari(method: str, path: str, **params: Any) -> Any:
    reply = requests.request(method, f"{ARI}/{path}", params=params, auth=AUTH, timeout=10)
    reply.raise_for_status()
    return reply.json() if reply.content else None


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def channels_left() -> list[str]:
    return [c["name"] for c in ari("GET", "channels")]


@pytest.fixture(scope="session")
def asterisk() -> None:
    sandbox("start")
    wait_until(lambda: not channels_left(), 15, "no channels in Asterisk")


class Runner:
    """`flowrunner serve` in a subprocess, logging JSON lines to a file."""

    def __init__(self, log_path: Path, *flows: str) -> None:
        self.log_path = log_path
        self.log_file = log_path.open("w")
        command = [sys.executable, "-m", "flowrunner", "serve", "--log-format", "json", *flows]
        self.process = subprocess.Popen(command, cwd=REPO, stderr=self.log_file, text=True)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def messages(self) -> list[str]:
        return [line["message"] for line in self.lines()]

    def wait_connected(self, times: int = 1, timeout: float = 30) -> None:
        def connected() -> bool:
            assert self.process.poll() is None, "flowrunner serve exited:\n" + self.text()
            return sum("connected to ARI" in m for m in self.messages()) >= times

        wait_until(connected, timeout, f"flowrunner to connect to ARI ({times}x)")

    def text(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=10)
        self.log_file.close()
        return code


@pytest.fixture
def runner(asterisk: None, tmp_path: Path) -> Iterator[Runner]:
    runner = Runner(tmp_path / "serve.log", "flows/channel-state.yaml")
    runner.wait_connected()
    yield runner
    assert runner.stop() == 0, runner.text()
    wait_until(lambda: not channels_left(), 15, "no channel left in Asterisk")
    assert not [line for line in runner.lines() if line["level"] == "error"], runner.text()
    assert "asterisk:asterisk" not in runner.text()
    assert "YXN0ZXJpc2s6YXN0ZXJpc2s=" not in runner.text()  # the Basic auth header value


def transitions(runner: Runner, channel_prefix: str) -> list[str]:
    return [
        f"{line['source'] or '(start)'} -> {line['target']}"
        for line in runner.lines()
        if line.get("kind") == "transition" and line["channel"].startswith(channel_prefix)
    ]


os.environ.setdefault("PYTHONUNBUFFERED", "1")
