"""Metrics measured at the edges: each ARI and web request timed by a wrapping transport and
web client, each timer's lateness and each store write by the callbacks the timers and the
writer are given, and the link's and the store queue's state read at each scrape."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace

import pytest
from fakes import FakeTransport, Journal, Rig

from flowrunner.engine.machine import CompiledFlow
from flowrunner.engine.runtime import Runtime
from flowrunner.observe.edges import (
    LinkAndQueue,
    MeasuredTransport,
    MeasuredWebClient,
    store_wrote,
    timer_late,
)
from flowrunner.observe.metrics import Metrics
from flowrunner.ports import Done, Request, Response, WebRequest
from flowrunner.sim.clock import VirtualClock
from flowrunner.store.writer import Writer


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_ari_requests_are_counted_by_action_and_result_and_timed(metrics: Metrics) -> None:
    inner = FakeTransport()
    transport = MeasuredTransport(inner, metrics)
    answers: list[Response] = []
    for action in ("answer", "answer", "play", "hangup"):
        transport.submit(Request("POST", "channels/c1/x", action=action), answers.append)
    inner.reply(204)
    inner.reply(500, "Internal Server Error")
    inner.reply(0, "timed out")
    inner.reply(404)
    assert [a.status for a in answers] == [204, 500, 0, 404]  # each passed on as it came
    assert value(metrics, "flowrunner_ari_requests_total", action="answer", result="2xx") == 1
    assert value(metrics, "flowrunner_ari_requests_total", action="answer", result="5xx") == 1
    assert value(metrics, "flowrunner_ari_requests_total", action="play", result="no_answer") == 1
    assert value(metrics, "flowrunner_ari_requests_total", action="hangup", result="4xx") == 1
    assert value(metrics, "flowrunner_ari_request_duration_seconds_count", action="answer") == 2
    assert transport.name == "fake"


def test_a_routing_transport_keeps_routing_each_call_measured(metrics: Metrics) -> None:
    one, two = FakeTransport(), FakeTransport()

    class Routing:  # as serve --listen's: a transport per connection
        name = "websocket"

        def route(self, channel: str) -> FakeTransport:
            return two if channel == "c2" else one

        def submit(self, request: Request, done: Done) -> None:
            one.submit(request, done)

    transport = MeasuredTransport(Routing(), metrics)  # type: ignore[arg-type]
    transport.route("c2").submit(
        Request("POST", "channels/c2/answer", action="answer"), lambda r: None
    )
    assert (one.sent, [r.path for r in two.sent]) == ([], ["channels/c2/answer"])
    two.reply(204)
    assert value(metrics, "flowrunner_ari_requests_total", action="answer", result="2xx") == 1
    assert MeasuredTransport(one, metrics).route("c1").name == "fake"  # no routing: itself


def test_a_request_naming_no_action_is_counted_as_other(metrics: Metrics) -> None:
    inner = FakeTransport()
    MeasuredTransport(inner, metrics).submit(Request("GET", "asterisk/info"), lambda r: None)
    inner.reply(200)
    assert value(metrics, "flowrunner_ari_requests_total", action="other", result="2xx") == 1


class AnsweringWeb:
    def __init__(self, status: int) -> None:
        self.status = status

    def submit(self, request: WebRequest, done: Done) -> None:
        done(Response(self.status))


def test_web_requests_are_counted_by_result_never_by_url(metrics: Metrics) -> None:
    for status in (200, 503, 0):
        web = MeasuredWebClient(AnsweringWeb(status), metrics)
        web.submit(WebRequest("GET", "https://crm.example/lookup?number=555"), lambda r: None)
    for result in ("2xx", "5xx", "no_answer"):
        assert value(metrics, "flowrunner_http_requests_total", result=result) == 1
    assert value(metrics, "flowrunner_http_request_duration_seconds_count") == 3
    labels = [s.labels for f in metrics.registry.collect() for s in f.samples]
    assert not [ls for ls in labels if any("crm" in v for v in ls.values())]


def test_each_timer_reports_how_late_it_fired(channel_state: CompiledFlow) -> None:
    metrics, transport, clock, journal = Metrics(), FakeTransport(), VirtualClock(), Journal()
    rig = Rig(Runtime([channel_state], transport, clock, journal), transport, clock, journal)
    rig.runtime.timers.late = timer_late(metrics)
    rig.event("StasisStart")
    rig.answer_all()
    rig.at(2.25)  # the 2 s timer, 250 ms late
    assert value(metrics, "flowrunner_timer_lateness_seconds_count") == 1
    assert value(metrics, "flowrunner_timer_lateness_seconds_sum") == pytest.approx(0.25)
    assert value(metrics, "flowrunner_timer_lateness_seconds_bucket", le="0.25") == 1
    assert value(metrics, "flowrunner_timer_lateness_seconds_bucket", le="0.1") == 0


def test_a_cancelled_timer_reports_nothing(channel_state: CompiledFlow) -> None:
    metrics, transport, clock, journal = Metrics(), FakeTransport(), VirtualClock(), Journal()
    rig = Rig(Runtime([channel_state], transport, clock, journal), transport, clock, journal)
    rig.runtime.timers.late = timer_late(metrics)
    rig.event("StasisStart")
    rig.answer_all()
    rig.event("StasisEnd")
    rig.at(3.0)
    assert value(metrics, "flowrunner_timer_lateness_seconds_count") == 0


class Store:
    def __init__(self, failing: bool) -> None:
        self.failing = failing

    def write(self, calls: Mapping[str, str | None], flows: Mapping[str, str]) -> None:
        if self.failing:
            raise ConnectionError("Connection refused")

    def calls(self) -> dict[str, str]:
        return {}

    def flow(self, version: str) -> str | None:
        return None

    def close(self) -> None:
        pass


def test_store_writes_are_timed_and_failures_counted(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flowrunner.store.writer.RETRY", 0.01)
    writer = Writer(Store(failing=False), wrote=store_wrote(metrics))
    writer.keep("c1", "{}", "v1", "flow text")
    assert writer.flush(5)
    writer.close()
    assert value(metrics, "flowrunner_store_write_duration_seconds_count") == 1
    failing = Store(failing=True)
    writer = Writer(failing, wrote=store_wrote(metrics))
    writer.keep("c1", "{}", "v1", "flow text")
    assert not writer.flush(0.2)  # it keeps failing, and retrying
    failing.failing = False
    assert writer.flush(5)
    writer.close()
    assert (value(metrics, "flowrunner_store_write_failures_total") or 0) >= 1
    assert value(metrics, "flowrunner_store_write_duration_seconds_count") == 2


def test_the_link_and_the_store_queue_are_read_at_each_scrape(metrics: Metrics) -> None:
    link = SimpleNamespace(connected=False, connections=0)
    queue = SimpleNamespace(waiting={"c1": "{}", "c2": None}, degraded=True)
    metrics.registry.register(LinkAndQueue(link, queue))
    assert value(metrics, "flowrunner_ari_connected") == 0
    assert value(metrics, "flowrunner_ari_reconnects_total") == 0
    assert value(metrics, "flowrunner_store_queue_depth") == 2
    assert value(metrics, "flowrunner_store_writable") == 0
    link.connected, link.connections = True, 3
    queue.waiting, queue.degraded = {}, False
    assert value(metrics, "flowrunner_ari_connected") == 1
    assert value(metrics, "flowrunner_ari_reconnects_total") == 2
    assert value(metrics, "flowrunner_store_queue_depth") == 0
    assert value(metrics, "flowrunner_store_writable") == 1


def test_with_no_store_the_queue_is_empty_and_writable(metrics: Metrics) -> None:
    metrics.registry.register(LinkAndQueue(SimpleNamespace(connected=True, connections=1), None))
    assert value(metrics, "flowrunner_store_queue_depth") == 0
    assert value(metrics, "flowrunner_store_writable") == 1
