"""The clock `serve` gives the engine: the machine's own. (The simulator gives a virtual one.)"""

from __future__ import annotations

import time


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()
