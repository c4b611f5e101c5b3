"""Keeping calls: the calls that messages changed are written down a moment later (`within`
seconds), once, with whatever else changed them meanwhile: a snapshot each, as JSON, handed to
the keeper, which writes it off the runtime's thread. A call that ended is forgotten in the same
way, with the next calls kept: each hand-over to the keeper is a batch of the store's (a call's
end handed over at once made a batch of its own: at 50 calls/s, 500 of 700 batches). With no
keeper (`--state none`), nothing is kept.

Why wait: one step of a call is a burst of messages (a timer, a request, its reply, the event
it causes, a few ms apart), and a snapshot after each cost more CPU than the rest of the call
(measured on real calls: 40% of the runner's). Kept `within` 50 ms, the burst is one snapshot;
a runner killed in that moment loses only that step, which the next runner's reconciliation
with Asterisk then sees through, or a call that has just entered, which is then not taken over."""

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
        self.dirty: dict[str, Call | None] = {}  # channel -> its call; None: it ended
        self.due = 0.0  # when the calls changed since the last flush are kept

    def changed(self, call: Call | None) -> None:
        if call is not None:
            self._mark(call.channel_id, call)

    def _mark(self, channel: str, call: Call | None) -> None:
        if self.keeper is not None:
            if not self.dirty:
                self.due = self.clock.now() + self.within
            self.dirty[channel] = call

    def due_at(self) -> float | None:
        """When the changed calls are kept (the clock's time); None when none changed."""
        return self.due if self.dirty else None

    def flush(self, now: float | None = None) -> None:
        """Keep each call changed since the last flush (its state now, once) and forget those
        that ended, once they are due at `now` (the clock's time), or at once (None: when
        stopping)."""
        if not self.dirty or (now is not None and now < self.due):
            return
        dirty, self.dirty = self.dirty, {}
        for channel, call in dirty.items():
            if call is None or call.ended:  # a message after its end may have marked it again
                self.forget(channel)
            else:
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
        """Forgotten with the next batch: a runner killed before then leaves its snapshot,
        which the next one's reconciliation ends, since Asterisk no longer has its channel."""
        self._mark(call.channel_id, None)

    def forget(self, channel: str) -> None:
        """At once (a call another runner took, or one found ended at start-up)."""
        if self.keeper is not None:
            self.keeper.forget(channel)
