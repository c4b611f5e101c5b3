"""The writer: the runtime hands it snapshots and never waits; they coalesce per call, are
written in batches off the runtime's thread, and a failing store degrades durability, not
calls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

import pytest

from flowrunner.store import writer as writer_module
from flowrunner.store.writer import Writer


class SlowStore:
    """A store whose writes wait until the test lets them go; it can also fail."""

    def __init__(self) -> None:
        self.batches: list[dict[str, str | None]] = []
        self.flows: dict[str, str] = {}
        self.gate = threading.Event()
        self.failing = False
        self.closed = False

    def write(self, calls: Mapping[str, str | None], flows: Mapping[str, str]) -> None:
        self.gate.wait(5)
        if self.failing:
            raise ConnectionError("Connection refused")
        self.batches.append(dict(calls))
        self.flows |= flows

    def calls(self) -> dict[str, str]:
        return {}

    def flow(self, version: str) -> str | None:
        return self.flows.get(version)

    def close(self) -> None:
        self.closed = True


def test_snapshots_of_one_call_coalesce_while_the_store_is_busy() -> None:
    store = SlowStore()
    writer = Writer(store)
    writer.keep("c1", "1", "v1", "flow text")  # the first batch takes this one, and waits
    for n in range(2, 100):
        writer.keep("c1", str(n), "v1", "flow text")
    writer.keep("c2", "a", "v1", "flow text")
    writer.forget("c3")
    store.gate.set()
    assert writer.flush(5)
    assert store.batches[-1] == {"c1": "99", "c2": "a", "c3": None}
    assert len(store.batches) <= 2
    assert store.flows == {"v1": "flow text"}
    writer.close()


def test_a_failing_store_degrades_durability_once_and_recovers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(writer_module, "RETRY", 0.01)
    store = SlowStore()
    store.failing = True
    store.gate.set()
    writer = Writer(store, "redis://127.0.0.1:6379/0")
    with caplog.at_level(logging.WARNING, logger="flowrunner.store"):
        writer.keep("c1", "1", "v1", "t")
        assert not writer.flush(0.2)  # nothing can be written: it is kept, and retried
        writer.keep("c1", "2", "v1", "t")
        store.failing = False
        assert writer.flush(5)
    assert store.batches == [{"c1": "2"}]
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "durability degraded: cannot write calls to redis://127.0.0.1:6379/0 "
        "(ConnectionError: Connection refused); calls go on, retrying every 0.01s",
        "durability restored: calls are written to redis://127.0.0.1:6379/0 again",
    ]
    writer.close()


def test_close_writes_what_is_waiting_and_closes_the_store() -> None:
    store = SlowStore()
    store.gate.set()
    writer = Writer(store)
    writer.keep("c1", "1", "v1", "t")
    assert writer.close(timeout=5)
    assert store.batches[-1] == {"c1": "1"}
    assert store.closed


def test_close_gives_up_after_its_timeout_when_the_store_hangs() -> None:
    store = SlowStore()  # the gate stays shut: the write never ends
    writer = Writer(store)
    writer.keep("c1", "1", "v1", "t")
    assert not writer.close(timeout=0.2)
    store.gate.set()
