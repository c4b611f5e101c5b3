"""Metrics measured at the edges that own them: ARI requests (a transport that times each
request), web requests of the `http` action (a web client that does the same), timers' lateness
and store writes (callbacks the timers and the writer are given), and, read at each scrape, the
state of the ARI link and of the store's queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..ports import Done, Request, Response, Transport, WebClient, WebRequest
from .metrics import Metrics, result_of


class MeasuredTransport:
    """A transport that counts and times each ARI request, by its action and result."""

    def __init__(self, transport: Transport, metrics: Metrics) -> None:
        self.transport, self.metrics = transport, metrics
        self.counts: dict[tuple[str, str], Counter] = {}
        self.latencies: dict[str, Histogram] = {}

    @property
    def name(self) -> str:
        return self.transport.name

    def route(self, channel: str) -> Transport:
        """The measured transport of `channel`'s connection (`serve --listen`, several
        --ari-url); the same one when there is a single connection."""
        route = getattr(self.transport, "route", None)
        if route is None:
            return self
        routed = MeasuredTransport(route(channel), self.metrics)
        routed.counts, routed.latencies = self.counts, self.latencies  # one set of series
        return routed

    def submit(self, request: Request, done: Done) -> None:
        sent = time.perf_counter()

        def measured(response: Response) -> None:
            self.answered(request.action or "other", response, time.perf_counter() - sent)
            done(response)

        self.transport.submit(request, measured)

    def answered(self, action: str, response: Response, seconds: float) -> None:
        """From any thread: two may make the same child at once, which is harmless."""
        result = result_of(response.status)
        counter = self.counts.get((action, result))
        if counter is None:
            counter = self.counts[(action, result)] = self.metrics.ari_requests.labels(
                action, result
            )
        counter.inc()
        histogram = self.latencies.get(action)
        if histogram is None:
            histogram = self.latencies[action] = self.metrics.ari_seconds.labels(action)
        histogram.observe(seconds)


class MeasuredWebClient:
    """A web client that counts and times each request of the `http` action (never by URL)."""

    def __init__(self, web: WebClient, metrics: Metrics) -> None:
        self.web, self.metrics = web, metrics

    def submit(self, request: WebRequest, done: Done) -> None:
        sent = time.perf_counter()

        def measured(response: Response) -> None:
            self.metrics.http_requests.labels(result_of(response.status)).inc()
            self.metrics.http_seconds.observe(time.perf_counter() - sent)
            done(response)

        self.web.submit(request, measured)


def timer_late(metrics: Metrics) -> Callable[[float], None]:
    """For `Timers.late`: each timer's lateness, in seconds (never negative)."""
    observe = metrics.timer_lateness.observe
    return lambda seconds: observe(max(0.0, seconds))


def store_wrote(metrics: Metrics) -> Callable[[float, bool], None]:
    """For `Writer(wrote=)`: each batch's write, timed; a failed one counted."""

    def wrote(seconds: float, ok: bool) -> None:
        if ok:
            metrics.store_seconds.observe(seconds)
        else:
            metrics.store_failures.inc()

    return wrote


class Link(Protocol):
    """What the ARI session says of its link (`AriSession`, `ListenSession`, `Servers`)."""

    @property
    def connected(self) -> bool: ...

    @property
    def connections(self) -> int: ...


class Queue(Protocol):
    """What the store's writer says of its work (`Writer`)."""

    waiting: dict[str, str | None]
    degraded: bool


class LinkAndQueue(Collector):
    """Read at each scrape, costing the hot path nothing: is ARI connected, how often it
    reconnected, how many calls wait to be written, is the store writable."""

    def __init__(self, link: Link, queue: Queue | None) -> None:
        self.link, self.queue = link, queue

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "flowrunner_ari_connected",
            "1 while the ARI events WebSocket is open",
            value=int(self.link.connected),
        )
        yield CounterMetricFamily(
            "flowrunner_ari_reconnects",
            "Times the ARI link was opened again after the first",
            value=max(0, self.link.connections - 1),
        )
        queue = self.queue
        yield GaugeMetricFamily(
            "flowrunner_store_queue_depth",
            "Calls whose latest snapshot waits to be written",
            value=len(queue.waiting) if queue else 0,
        )
        yield GaugeMetricFamily(
            "flowrunner_store_writable",
            "1 unless the store's last write failed (1 with no store)",
            value=0 if queue and queue.degraded else 1,
        )
