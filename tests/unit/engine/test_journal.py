"""The journal's fan-out: every record reaches every journal, each with fields of its own."""

from __future__ import annotations

from typing import Any

from flowrunner.engine.journal import Fanout


class Popping:
    """Like the log journal, which pops `level` from the fields it is given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, dict[str, Any]]] = []

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        fields.pop("level", None)
        self.seen.append((channel, kind, message, fields))


def test_every_journal_gets_every_record_with_all_its_fields() -> None:
    first, second = Popping(), Popping()
    Fanout(first, second).record("SIP/1", "end", "ended", level="warning", by="caller")
    assert first.seen == [("SIP/1", "end", "ended", {"by": "caller"})]
    assert second.seen == first.seen
