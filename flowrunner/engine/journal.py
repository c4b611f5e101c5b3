"""What the engine reports as calls progress; `serve` logs it, the simulator keeps a timeline."""

from __future__ import annotations

from typing import Any, Protocol


class Journal(Protocol):
    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        """`kind` is one of: start, event, transition, action, end, error."""


def words(event: str) -> str:
    """`DigitsCollected` -> `digits collected`, for log lines."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in event).strip()
