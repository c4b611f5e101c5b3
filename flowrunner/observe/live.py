"""Observation for `serve`, set up from `--metrics HOST:PORT`: the metrics journal, the measured
transport and web client, the timers' and the store's callbacks, and the server. With no
`--metrics`, everything passes through untouched and no port is opened."""

from __future__ import annotations

import logging
from typing import Protocol

from prometheus_client import disable_created_metrics

from ..engine.timers import Timers
from ..ports import Journal, Transport, WebClient
from ..speech.server import parse_listen
from ..store.writer import Wrote
from .edges import (
    Link,
    LinkAndQueue,
    MeasuredTransport,
    MeasuredWebClient,
    Queue,
    store_wrote,
    timer_late,
)
from .health import Ari, Readiness
from .journal import MetricsJournal
from .metrics import Metrics
from .server import ObserveServer

log = logging.getLogger("flowrunner.observe")


class Session(Link, Ari, Protocol):
    """What is watched of the session serve runs (`AriSession`, `ListenSession`, `Servers`)."""


class Observing:
    def __init__(self, listen: str | None) -> None:
        """Listens at once (OSError if it cannot), so that a taken port stops `serve` before
        it connects; /readyz says "starting" until `watch` is called."""
        self.metrics: Metrics | None = None
        self.readiness: Readiness | None = None
        self.server: ObserveServer | None = None
        if not listen:
            return
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series: noise
        self.metrics = Metrics()
        self.server = ObserveServer(self.metrics.registry, self._problems, *parse_listen(listen))
        self.server.start()
        log.info("metrics on http://%s:%d/metrics (also /healthz, /readyz)", *self.server.address)

    def journals(self) -> tuple[Journal, ...]:
        return () if self.metrics is None else (MetricsJournal(self.metrics),)

    def transport(self, transport: Transport) -> Transport:
        return transport if self.metrics is None else MeasuredTransport(transport, self.metrics)

    def web(self, web: WebClient) -> WebClient:
        return web if self.metrics is None else MeasuredWebClient(web, self.metrics)

    def store_wrote(self) -> Wrote | None:
        return None if self.metrics is None else store_wrote(self.metrics)

    def watch(self, session: Session, writer: Queue | None, timers: Timers) -> None:
        """From now on: readiness from the session and the writer, and their scrape-time
        metrics; each timer's lateness."""
        if self.metrics is None:
            return
        self.metrics.registry.register(LinkAndQueue(session, writer))
        timers.late = timer_late(self.metrics)
        self.readiness = Readiness(session, writer)

    def _problems(self) -> list[str]:
        return ["starting"] if self.readiness is None else self.readiness.problems()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
