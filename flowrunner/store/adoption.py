"""Adoption: the calls of another runner, read from the shared store when their connections come
to this one (`serve --listen` with per-call connections).

A runner reads the kept calls once at start-up; but behind a load balancer, another runner's
calls arrive here later, when it died and Asterisk connected their per-call WebSockets again.
Each such connection's listing comes here first: on a thread of its own (the runtime never
waits on the store) the store is read for the listed channels, and the runtime is posted what
was found (`KeptFound`), then the listing (`Reconcile`), in that order. Listings that arrive
while the store is read are answered by the next read, all at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping

from ..engine.machine import CompiledFlow
from ..engine.messages import Reconcile
from ..engine.reconcile import Kept, KeptFound, kept_calls
from ..ports import Store

log = logging.getLogger("flowrunner.store")


class Adoption:
    def __init__(
        self,
        store: Store,
        flows: Callable[[], Mapping[str, CompiledFlow]],
        post: Callable[[object], None],
    ) -> None:
        self.store, self.flows, self.post = store, flows, post
        self._asked: queue.SimpleQueue[Reconcile | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="adoption", daemon=True)
        self._thread.start()

    def listed(
        self,
        app: str,
        ids: frozenset[str],
        scope: frozenset[str] | None = None,
        unstarted: str = "",
    ) -> None:
        """A connection's listing: posted once the store has been read for its channels."""
        self._asked.put(Reconcile(app, ids, scope, unstarted))

    def close(self) -> None:
        self._asked.put(None)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while (first := self._asked.get()) is not None:
            listings = [first]
            while not self._asked.empty():
                if (more := self._asked.get()) is None:
                    return
                listings.append(more)
            self.post(KeptFound(self._kept({ch for r in listings for ch in r.channel_ids})))
            for listing in listings:
                self.post(listing)

    def _kept(self, channels: set[str]) -> Mapping[str, Kept]:
        if not channels:
            return {}
        try:
            stored = self.store.calls()
        except Exception as error:  # a store that is down: the listing is reconciled as is
            log.error("durability degraded: cannot read the kept calls (%s)", type(error).__name__)
            return {}
        wanted = {ch: text for ch, text in stored.items() if ch in channels}
        kept, problems = kept_calls(wanted, self.flows(), self.store.flow)
        for problem in problems:
            log.warning("a kept call cannot be carried on: %s", problem)
        return kept
