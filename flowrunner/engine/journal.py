"""What the engine reports as calls progress; `serve` logs it, the simulator keeps a timeline."""

from __future__ import annotations

from typing import Any, Protocol


class Journal(Protocol):
    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        """`kind` is one of: start, event, transition, action, end, error."""
