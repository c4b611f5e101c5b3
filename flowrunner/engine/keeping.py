"""Keeping calls: the calls that messages changed are written down a moment later (`within`
seconds), once, with whatever else changed them meanwhile: a snapshot each, as JSON, handed to
the keeper, which writes it off the runtime's thread. A call that ended is forgotten. With no
keeper (`--state none`), nothing is kept.

Why wait: one step of a call is a burst of messages (a timer, a request, its reply, the event
it causes, a few ms apart), and a snapshot after each cost more CPU than the rest of the call
(measured on real calls: 40% of the runner's). Kept `within` 50 ms, the burst is one snapshot;
a runner killed in that moment loses only that step, which the next runner's reconciliation
with Asterisk then sees through."""

from __future__ import annotations

import time

from .. import fastjson
from ..ports import Clock, Keeper
from .call import Call
from .snapshot import snapshot


class Keeping:
    def __init__(self, keeper: Keeper | None, clock: Clock, within: float = 0.0) -> None:
        self.keeper, self.clock, self.within = keeper, clock, within
        self.costs: list[float] = []  # seconds each snapshot took on the runtime's thread
        self.dirty: dict[str, Call] = {}
        self.due = 0.0  # when the calls changed since the last flush are kept

    def changed(self, call: Call | None) -> None:
        if self.keeper is not None and call is not None:
            if not self.dirty:
                self.due = self.clock.now() + self.within
            self.dirty[call.channel_id] = call

    def due_in(self) -> float | None:
        """Seconds until the changed calls are kept; None when none changed."""
        return max(0.0, self.due - self.clock.now()) if self.dirty else None

    def flush(self, now: bool = False) -> None:
        """Keep each call changed since the last flush (its state now, once), when they are
        due or `now` (when stopping)."""
        if not self.dirty or (not now and self.clock.now() < self.due):
            return
        dirty, self.dirty = self.dirty, {}
        for call in dirty.values():
            if not call.ended:
                self._keep(call)

    def _keep(self, call: Call) -> None:
        assert self.keeper is not None
        started = time.perf_counter()
        flow = call.compiled.flow
        text = fastjson.dumps(snapshot(call, self.clock)).decode()
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
