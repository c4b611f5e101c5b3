"""A virtual clock the simulator moves by hand: a 6-second call runs in no time."""

from __future__ import annotations


class VirtualClock:
    def __init__(self, start: float = 0.0, epoch: float = 0.0) -> None:
        self._now = start
        self._epoch = epoch  # what wall() says at 0: the default keeps saved times exact

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._epoch + self._now

    def advance_to(self, when: float) -> None:
        self._now = max(self._now, when)
