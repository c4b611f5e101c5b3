"""Every call's timers, in one heap.

A timer belongs to a call and an owner (a step, or the flow for `after:`), under a tag. Arming a
timer again replaces it; cancelling it, or ending its owner or its call, forgets it in the call
(`call.timers`), and its heap entry then goes stale. That is the one way timers are cancelled.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from ..ports import Clock
from .messages import Due

if TYPE_CHECKING:
    from .call import Call

T = TypeVar("T")


class TimerHeap(Generic[T]):
    def __init__(self) -> None:
        # (due, order, payload): tuples, compared in C; `order` is unique, so a payload never is
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, due: float, payload: T) -> None:
        heapq.heappush(self._heap, (due, next(self._order), payload))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[T]:
        """Payloads of every timer due at `now`, earliest first (ties in scheduling order)."""
        due = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due


class Timers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.heap: TimerHeap[Due] = TimerHeap()
        self.late: Callable[[float], None] | None = None  # told each timer's lateness (s)

    def __len__(self) -> int:
        return len(self.heap)

    def arm(self, call: Call, owner: str, tag: str, seconds: float) -> None:
        call.counters["timer"] += 1
        deadline, seq = self.clock.now() + seconds, call.counters["timer"]
        call.timers[(owner, tag)] = (deadline, seq)
        self.heap.schedule(deadline, Due(call.channel_id, owner, tag, seq))

    def rearm(self, call: Call) -> None:
        """Put a restored call's timers back in the heap (an overdue one fires at once)."""
        for (owner, tag), (deadline, seq) in call.timers.items():
            self.heap.schedule(deadline, Due(call.channel_id, owner, tag, seq))

    def take(self, call: Call, due: Due) -> float | None:
        """The deadline of a timer that is due and still armed (it is disarmed), else None."""
        armed = call.timers.get((due.owner, due.tag))
        if armed is None or armed[1] != due.seq:
            return None
        del call.timers[(due.owner, due.tag)]
        if self.late is not None:
            self.late(self.clock.now() - armed[0])
        return armed[0]

    def pop_due(self) -> list[Due]:
        return self.heap.pop_due(self.clock.now())

    def next_due(self) -> float | None:
        return self.heap.next_due()
