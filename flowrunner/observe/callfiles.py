"""One JSON-lines file per call in a folder kept within a size and an age, written on a thread
of its own: the engine's thread only queues entries (no encoding, no disk). The writer thread
encodes them and holds each call's lines until the call is finished, or for at most `HOLD_FOR`
seconds (a call that lasts is written in pieces): one file write per call, mostly, even with a
thousand calls up. It removes the oldest files while the folder is over its size, and those
older than its age.

A file's name is the call's start time and a hash of its key (a channel id or name, both from
Asterisk and not trusted): never a path made of call data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..ports import to_text

SUFFIX = ".jsonl"
BATCH_EVERY = 0.2  # seconds the writer lets entries gather before it takes them
HOLD_FOR = 10.0  # seconds a call's lines are held at most before they are written
SWEEP_EVERY = 60.0  # seconds between two looks for files past their age
OPEN_CALLS = 50_000  # keys remembered (calls in progress and lately ended); oldest forgotten

log = logging.getLogger("flowrunner.observe")


def file_name(key: str, started: float) -> str:
    """`20261202T134501.123Z-<hash>.jsonl`: sorts by start time, says nothing of the call."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started))
    millis = int(started * 1000) % 1000
    digest = hashlib.sha256(f"{key}\n{started!r}".encode()).hexdigest()[:16]
    return f"{stamp}.{millis:03d}Z-{digest}{SUFFIX}"


class CallFiles:
    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        max_age: float,
        what: str = "trace",
        wall: Callable[[], float] = time.time,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.max_bytes, self.max_age = directory, max_bytes, max_age
        self.what, self.wall = what, wall
        self.names: OrderedDict[str, str] = OrderedDict()  # key -> its call's file name
        # (file, entry), or (file, None): the call is finished; None: stop
        self.inbox: queue.SimpleQueue[tuple[str, dict[str, Any] | None] | None] = (
            queue.SimpleQueue()
        )
        found = sorted((p.name, p.stat().st_size) for p in directory.glob(f"*{SUFFIX}"))
        self.sizes: OrderedDict[str, int] = OrderedDict(found)  # oldest first
        self.total = sum(self.sizes.values())
        self.held: dict[str, list[str]] = {}  # file -> lines not written yet
        self.since: dict[str, float] = {}  # file -> when its oldest held line came
        self.failed = False  # said once, until writing works again
        self.thread = threading.Thread(target=self._run, name=f"{what}-writer", daemon=True)
        self.thread.start()

    # -- on the engine's thread: cheap -------------------------------------------------------

    def open(self, key: str, started: float) -> str:
        """A new call under `key` (a call that had the key before is done with it)."""
        name = file_name(key, started)
        self.names[key] = name
        self.names.move_to_end(key)
        if len(self.names) > OPEN_CALLS:
            self.names.popitem(last=False)
        return name

    def add(self, key: str, entry: dict[str, Any]) -> None:
        """An entry for the call under `key`; dropped when no call has that key."""
        name = self.names.get(key)
        if name is not None:
            self.inbox.put((name, entry))

    def finish(self, key: str) -> None:
        """The call under `key` is over: what it has is written now (what comes later, too)."""
        name = self.names.get(key)
        if name is not None:
            self.inbox.put((name, None))

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued, then stop the writer."""
        self.inbox.put(None)
        self.thread.join(timeout)

    # -- on the writer's thread --------------------------------------------------------------

    def _run(self) -> None:
        stop, next_sweep = False, 0.0
        while not stop:
            items: list[tuple[str, dict[str, Any] | None] | None] = []
            try:
                items.append(self.inbox.get(timeout=BATCH_EVERY * 5))
                time.sleep(BATCH_EVERY)  # let a batch gather
            except queue.Empty:
                pass  # nothing came: what is held may be due
            items += self._queued()
            stop = None in items
            due = self._hold(item for item in items if item is not None)
            self._write(set(self.held) if stop else due)
            if self.wall() >= next_sweep:
                next_sweep = self.wall() + SWEEP_EVERY
                self._remove_old()
            self._keep_within_size()

    def _queued(self) -> list[tuple[str, dict[str, Any] | None] | None]:
        items = []
        while True:
            try:
                items.append(self.inbox.get_nowait())
            except queue.Empty:
                return items

    def _hold(self, items: Iterable[tuple[str, dict[str, Any] | None]]) -> set[str]:
        """Encode the entries, held by file; the files due: finished, or held long enough."""
        now, due = time.monotonic(), set()
        for name, entry in items:
            if entry is None:
                due.add(name)
                continue
            self.held.setdefault(name, []).append(_line(entry))
            self.since.setdefault(name, now)
        return due | {name for name, since in self.since.items() if now - since >= HOLD_FOR}

    def _write(self, names: set[str]) -> None:
        for name in names:
            lines = self.held.pop(name, None)
            self.since.pop(name, None)
            if not lines:
                continue
            text = "".join(lines)
            try:
                with (self.directory / name).open("a", encoding="utf-8") as file:
                    file.write(text)
            except OSError as error:
                self._failed(error)
                continue
            self.failed = False
            size = len(text.encode())
            self.sizes[name] = self.sizes.get(name, 0) + size
            self.total += size

    def _keep_within_size(self) -> None:
        """The oldest files go first."""
        while self.total > self.max_bytes and self.sizes:
            self._remove(next(iter(self.sizes)))

    def _remove_old(self) -> None:
        limit = self.wall() - self.max_age
        for name in list(self.sizes):
            try:
                old = (self.directory / name).stat().st_mtime < limit
            except OSError:
                old = True  # gone already
            if old:
                self._remove(name)

    def _remove(self, name: str) -> None:
        self.total -= self.sizes.pop(name, 0)
        try:
            (self.directory / name).unlink(missing_ok=True)
        except OSError as error:
            self._failed(error)

    def _failed(self, error: OSError) -> None:
        if not self.failed:
            log.warning("%s: cannot write in %s: %s", self.what, self.directory, error.strerror)
        self.failed = True


def _line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, default=to_text, separators=(",", ":")) + "\n"


def read_lines(path: Path) -> list[dict[str, Any]]:
    """A call file's entries; a line that is not a JSON object (cut short) is skipped."""
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
