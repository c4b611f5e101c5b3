"""A heap of timers. Cancelling is lazy: a timer carries a token the owner can invalidate."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(order=True)
class _Entry(Generic[T]):
    due: float
    order: int
    payload: T = field(compare=False)


class TimerHeap(Generic[T]):
    def __init__(self) -> None:
        self._heap: list[_Entry[T]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, due: float, payload: T) -> None:
        heapq.heappush(self._heap, _Entry(due, next(self._order), payload))

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: float) -> list[T]:
        """Payloads of every timer due at `now`, earliest first (ties in scheduling order)."""
        due = []
        while self._heap and self._heap[0].due <= now:
            due.append(heapq.heappop(self._heap).payload)
        return due
