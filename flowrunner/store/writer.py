"""The writer: calls go to the store on a thread of its own, so the runtime never waits on it.

The runtime hands over each call's latest snapshot after a message changed it. Snapshots of one
call coalesce (only the latest is written), so the backlog never holds more than one entry per
live call, and a batch of everything waiting is written in one transaction. When the store is
slow, batches grow; when it fails, calls go on, the log says once that durability is degraded,
and the writer retries (every second) until it is back, which it also says once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..ports import Store

log = logging.getLogger("flowrunner.store")
RETRY = 1.0  # seconds between two tries of a store that failed


Wrote = Callable[[float, bool], None]  # a batch's seconds, and whether it was written


class Writer:
    def __init__(self, store: Store, where: str = "the store", wrote: Wrote | None = None) -> None:
        self.store, self.where = store, where
        self.wrote = wrote or (lambda seconds, ok: None)  # metrics: each write's latency
        self.waiting: dict[str, str | None] = {}  # channel -> latest snapshot (None: over)
        self.flows: dict[str, str] = {}  # flow versions to write
        self.written_flows: set[str] = set()
        self.busy = False  # a batch is being written
        self.degraded = False
        self.stopping = False
        self.condition = threading.Condition()
        self.batches: list[tuple[int, float]] = []  # (snapshots, seconds) of each write: benches
        self.thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self.thread.start()

    # -- what the runtime calls (never blocks on the store) ----------------------------------

    def keep(self, channel: str, snapshot: str, version: str, flow_text: str) -> None:
        with self.condition:
            self._wake_if_first()
            self.waiting[channel] = snapshot
            if version not in self.written_flows:
                self.flows[version] = flow_text

    def forget(self, channel: str) -> None:
        with self.condition:
            self._wake_if_first()
            self.waiting[channel] = None

    def _wake_if_first(self) -> None:
        """Wake the writer for the first snapshot of a batch only: it takes all that came
        meanwhile (and, busy, it looks again when done). A wake-up per snapshot cost the
        runtime's thread a switch to the writer's and back, for batches of one."""
        if not self.waiting:
            self.condition.notify()

    # -- the writing -------------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until everything handed over is written; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while self.waiting or self.busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.condition.wait(left)
        return True

    def close(self, timeout: float = 2.0) -> bool:
        """Write what is waiting (for up to `timeout`), then stop; True if nothing was lost."""
        flushed = self.flush(timeout)
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        self.thread.join(timeout=1.0)
        self.store.close()
        return flushed

    def _run(self) -> None:
        while True:
            with self.condition:
                while not self.waiting and not self.stopping:
                    self.condition.wait()
                if self.stopping:
                    return
                batch, flows = self.waiting, self.flows
                self.waiting, self.flows, self.busy = {}, {}, True
            ok = self._write(batch, flows)
            with self.condition:
                self.busy = False
                if not ok:  # keep what no newer snapshot replaced, for the next try
                    self.waiting = batch | self.waiting
                    self.flows = flows | self.flows
                self.condition.notify_all()
            if not ok:
                time.sleep(RETRY)

    def _write(self, batch: dict[str, str | None], flows: dict[str, str]) -> bool:
        started = time.perf_counter()
        try:
            self.store.write(batch, flows)
        except Exception as error:  # any failure of the store: the calls go on regardless
            self.wrote(time.perf_counter() - started, False)
            if not self.degraded:
                log.error(
                    "durability degraded: cannot write calls to %s (%s); calls go on, "
                    "retrying every %gs",
                    self.where,
                    _reason(error),
                    RETRY,
                )
            self.degraded = True
            return False
        seconds = time.perf_counter() - started
        self.batches.append((len(batch), seconds))
        self.wrote(seconds, True)
        del self.batches[:-10_000]
        self.written_flows |= set(flows)
        if self.degraded:
            log.warning("durability restored: calls are written to %s again", self.where)
            self.degraded = False
        return True


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
