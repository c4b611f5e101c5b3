"""Observation for `serve`: with `--metrics HOST:PORT` the metrics journal, the measured transport
and web client, the timers' and the store's callbacks, and the server; with `--trace DIR` the
trace journal; with `--record DIR` the recorder, the runtime's tap. What is not asked for passes
everything through untouched, and no port is opened nor folder made."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Protocol

from prometheus_client import disable_created_metrics

from ..engine.timers import Timers
from ..ports import Journal, Tap, Transport, WebClient
from ..speech.server import parse_listen
from ..store.writer import Wrote
from .callfiles import CallFiles
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
from .record import Recorder
from .server import ObserveServer
from .trace import TraceJournal

log = logging.getLogger("flowrunner.observe")


class ObserveError(Exception):
    """A folder that cannot be made, a port that is taken: `serve` says so and stops."""


class Session(Link, Ari, Protocol):
    """What is watched of the session serve runs (`AriSession`, `ListenSession`, `Servers`)."""


class Observing:
    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Observing:
        """What `serve`'s options ask for; an ObserveError saying what cannot be done."""
        try:
            trace, record = call_files(args, "trace"), call_files(args, "record")
        except OSError as error:
            raise ObserveError(str(error)) from error
        try:
            return cls(args.metrics, trace, record)
        except OSError as error:
            message = f"the metrics server cannot listen on {args.metrics}: {error}"
            raise ObserveError(message) from error

    def __init__(
        self,
        listen: str | None,
        trace: CallFiles | None = None,
        record: CallFiles | None = None,
    ) -> None:
        """Listens at once (OSError if it cannot), so that a taken port stops `serve` before
        it connects; /readyz says "starting" until `watch` is called."""
        self.metrics: Metrics | None = None
        self.readiness: Readiness | None = None
        self.server: ObserveServer | None = None
        self.trace = TraceJournal(trace) if trace else None
        self.recorder = Recorder(record) if record else None
        if not listen:
            return
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series: noise
        self.metrics = Metrics()
        self.server = ObserveServer(self.metrics.registry, self._problems, *parse_listen(listen))
        self.server.start()
        log.info("metrics on http://%s:%d/metrics (also /healthz, /readyz)", *self.server.address)

    def journals(self) -> tuple[Journal, ...]:
        metrics = () if self.metrics is None else (MetricsJournal(self.metrics),)
        return (*metrics, *((self.trace,) if self.trace else ()))

    def tap(self) -> Tap | None:
        return self.recorder

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
        for part in (self.server, self.trace, self.recorder):
            if part is not None:
                part.close()


def call_files(args: argparse.Namespace, name: str) -> CallFiles | None:
    """The folder of `--trace` or `--record`, with its bounds (`--trace-max-mb` …)."""
    folder = getattr(args, name, None)
    if not folder:
        return None
    size = int(getattr(args, f"{name}_max_mb") * 1e6)
    age = getattr(args, f"{name}_max_days") * 86400
    return CallFiles(Path(folder), size, age, name)
