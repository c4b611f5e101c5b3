"""Warnings a peer can trigger at will, rate-limited: a server that sends a thousand bad frames a
second must not write a thousand log lines a second. The first of each kind is logged at once;
the next are counted, and their number logged once a minute while they keep coming."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import fastjson

EVERY = 60.0  # seconds between two lines about one kind


@dataclass
class _Kind:
    since: float  # when its last line was written
    count: int = 0  # how many came since, unlogged


class Throttle:
    def __init__(
        self, log: logging.Logger, every: float = EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.log, self.every, self.clock = log, every, clock
        self._kinds: dict[str, _Kind] = {}

    def warn(self, kind: str, detail: str) -> None:
        """One more `kind` of trouble (e.g. "not JSON"); `detail` is logged with the first."""
        entry = self._kinds.get(kind)
        if entry is None:
            self._kinds[kind] = _Kind(self.clock())
            self.log.warning(
                "ignored an ARI message: %s (%s); more like it are counted, in one line a minute",
                kind,
                detail,
            )
        else:
            entry.count += 1
        self.flush()

    def flush(self) -> None:
        """Log the count of each kind whose minute is up (the live loop calls this every tick)."""
        now = self.clock()
        for kind, entry in list(self._kinds.items()):
            if now - entry.since < self.every:
                continue
            if entry.count == 0:  # quiet for a minute: the next one is logged at once again
                del self._kinds[kind]
                continue
            self.log.warning(
                "ignored %d more ARI message(s) in %.0fs: %s", entry.count, now - entry.since, kind
            )
            entry.since, entry.count = now, 0


def json_object(data: bytes, skipped: Throttle) -> dict[str, Any] | None:
    """A message from Asterisk as a JSON object; None, said (rate-limited), when it is not one."""
    try:
        message = fastjson.loads(data)
    except (ValueError, RecursionError) as error:  # orjson.JSONDecodeError is a ValueError
        skipped.warn("not JSON", f"{type(error).__name__}: {error}"[:200])
        return None
    if not isinstance(message, dict):
        skipped.warn("not a JSON object", type(message).__name__)
        return None
    return message
