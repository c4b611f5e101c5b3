"""Per-call traces (`serve --trace DIR`): a journal beside the log that keeps every record of
a call (its start, events with their fields, transitions with the guard that held, actions with
their parameters and results, variables set, its end) as one JSON-lines file per call.

The records come already masked (a hidden key press, a collected PIN, headers, query strings):
the trace keeps what the engine says, and adds only the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .callfiles import CallFiles


class TraceJournal:
    """A `Journal`: each call's records, queued for its file (the writing is on a thread)."""

    def __init__(self, files: CallFiles, wall: Callable[[], float] = time.time) -> None:
        self.files, self.wall = files, wall

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        now, key = self.wall(), str(fields.get("id", channel))  # names repeat across servers
        if kind == "start":  # the key is a new call's from here on
            self.files.open(key, now)
        fields.pop("level", None)
        self.files.add(
            key, {"t": now, "kind": kind, "channel": channel, "message": message, **fields}
        )
        if kind == "end":  # written now, not when held long enough; what comes later, at once
            self.files.finish(key)

    def wants(self, kind: str, level: str) -> bool:
        return True  # all of it, debug included: a trace is the call's whole story

    def close(self) -> None:
        self.files.close()
