"""The clock the engine reads: injected, so the simulator can run calls on virtual time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic clock."""


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()
