"""Readiness: what must hold for this runner to take calls, each failure said in a line."""

from __future__ import annotations

from typing import Protocol

from .edges import Queue


class Ari(Protocol):
    """What the ARI session says of its link (`AriSession`)."""

    @property
    def connected(self) -> bool: ...

    @property
    def replaced(self) -> frozenset[str]: ...


class Readiness:
    def __init__(self, ari: Ari, queue: Queue | None) -> None:
        self.ari, self.queue = ari, queue

    def problems(self) -> list[str]:
        """Empty when ready: connected to Asterisk for every app, and the store's last write
        succeeded (or there is no store)."""
        problems = [] if self.ari.connected else ["not connected to Asterisk (ARI)"]
        problems += [
            f"app {app}: another client took it over (no events for it here)"
            for app in sorted(self.ari.replaced)
        ]
        if self.queue is not None and self.queue.degraded:
            problems.append("the store's last write failed")
        return problems
