"""A call placed over ARI as a Local channel: its ;1 half is the caller, watched in app `probe`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from conftest import ari, transitions, wait_until

REFERENCE = [
    "(start) -> ringing",
    "ringing -> answered",
    "answered -> hanging_up",
    "hanging_up -> ended",
]


class Probe:
    """Listens to app `probe` (or another), where the caller's half of a Local channel lands
    when answered."""

    def __init__(self, app: str = "probe") -> None:
        self.app = app
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:8088/ari/events?app={app}",
            header=["Authorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s="],
            timeout=1,
        )
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self.running:
            try:
                self.events.append((time.monotonic(), json.loads(self.ws.recv())))
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError):
                return

    def first(self, kind: str) -> float | None:
        return next((t for t, e in self.events if e.get("type") == kind), None)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=3)
        self.ws.close()


@pytest.fixture
def probe() -> Iterator[Probe]:
    probe = Probe()
    yield probe
    probe.close()


def test_a_local_channel_is_answered_at_2s_and_hung_up_at_6s(runner: Any, probe: Probe) -> None:
    started = time.monotonic()
    caller = ari("POST", "channels", endpoint="Local/1000@from-trunk", app="probe", timeout=30)
    assert caller["name"].endswith(";1")
    answered = wait_until(lambda: probe.first("StasisStart"), 5, "the answer")
    hung_up = wait_until(lambda: probe.first("StasisEnd"), 10, "the hangup")
    # timers never fire early; how late they are on a busy machine is the benches' business
    assert 1.95 < answered - started < 3.0
    assert 5.95 < hung_up - started < 7.0
    wait_until(lambda: len(transitions(runner, "Local/1000")) == 4, 5, "the flow to end")
    assert transitions(runner, "Local/1000") == REFERENCE
