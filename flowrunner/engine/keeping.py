"""Keeping calls: the calls that messages changed are written down once the messages that came
together are handled (a snapshot each, as JSON, handed to the keeper, which writes it off the
runtime's thread), and a call that ended is forgotten. With no keeper (`--state none`), nothing
is kept."""

from __future__ import annotations

import json
import time

from ..ports import Clock, Keeper
from .call import Call
from .snapshot import snapshot


class Keeping:
    def __init__(self, keeper: Keeper | None, clock: Clock) -> None:
        self.keeper, self.clock = keeper, clock
        self.costs: list[float] = []  # seconds each snapshot took on the runtime's thread
        self.dirty: dict[str, Call] = {}

    def changed(self, call: Call | None) -> None:
        if self.keeper is not None and call is not None:
            self.dirty[call.channel_id] = call

    def flush(self) -> None:
        """Keep each call changed since the last flush (its state now, once)."""
        dirty, self.dirty = self.dirty, {}
        for call in dirty.values():
            if not call.ended:
                self._keep(call)

    def _keep(self, call: Call) -> None:
        assert self.keeper is not None
        started = time.perf_counter()
        flow = call.compiled.flow
        text = json.dumps(snapshot(call, self.clock), separators=(",", ":"))
        self.keeper.keep(call.channel_id, text, flow.version, flow.text)
        self.costs.append(time.perf_counter() - started)
        if len(self.costs) > 200_000:
            del self.costs[:100_000]

    def ended(self, call: Call) -> None:
        self.dirty.pop(call.channel_id, None)
        self.forget(call.channel_id)

    def forget(self, channel: str) -> None:
        if self.keeper is not None:
            self.keeper.forget(channel)
