"""The observation server (`serve --metrics`): /metrics, /healthz and /readyz on loopback, and
`Observing`, which wires it into `serve` (or passes everything through when it is off)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from fakes import FakeTransport

from flowrunner.cli import build_parser, main
from flowrunner.engine.clock import SystemClock
from flowrunner.engine.timers import Timers
from flowrunner.observe.live import Observing
from flowrunner.observe.metrics import Metrics
from flowrunner.observe.server import ObserveServer

FLOW = str(Path(__file__).parents[3] / "flows" / "channel-state.yaml")


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def url(problems: list[str]) -> Iterator[str]:
    metrics = Metrics()
    metrics.calls_started.labels("channel-state", "abc").inc()
    server = ObserveServer(metrics.registry, lambda: problems, "127.0.0.1", 0)
    server.start()
    yield "http://{}:{}".format(*server.address)
    server.close()


def test_metrics_are_served_in_prometheus_text_format(url: str) -> None:
    reply = requests.get(f"{url}/metrics", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    line = 'flowrunner_calls_started_total{flow="channel-state",version="abc"} 1.0'
    assert line in reply.text.splitlines()
    assert "process_cpu_seconds_total" in reply.text


def test_healthz_says_ok(url: str) -> None:
    reply = requests.get(f"{url}/healthz", timeout=5)
    assert (reply.status_code, reply.text) == (200, "ok\n")


def test_readyz_is_200_when_ready_and_503_with_each_reason_when_not(
    url: str, problems: list[str]
) -> None:
    reply = requests.get(f"{url}/readyz", timeout=5)
    assert (reply.status_code, reply.text) == (200, "ready\n")
    problems += ["not connected to Asterisk (ARI)", "the store's last write failed"]
    reply = requests.get(f"{url}/readyz", timeout=5)
    assert reply.status_code == 503
    assert reply.text == (
        "not ready: not connected to Asterisk (ARI)\nnot ready: the store's last write failed\n"
    )


def test_nothing_else_is_served(url: str) -> None:
    for path in ("/", "/metrics/../etc/passwd", "/favicon.ico"):
        reply = requests.get(f"{url}{path}", timeout=5)
        assert reply.status_code == 404, path
        assert reply.text == "not found: /metrics, /healthz and /readyz are served\n"
    assert requests.post(f"{url}/metrics", timeout=5).status_code == 501


def test_observing_is_off_without_an_address_and_passes_everything_through() -> None:
    observing = Observing(None)
    transport, web = FakeTransport(), SimpleNamespace()
    assert observing.journals() == ()
    assert observing.transport(transport) is transport
    assert observing.web(web) is web  # type: ignore[arg-type]
    assert observing.store_wrote() is None
    timers = Timers(SystemClock())
    observing.watch(SimpleNamespace(), None, timers)  # type: ignore[arg-type]
    assert timers.late is None
    observing.close()


def test_observing_is_starting_until_it_watches_the_session() -> None:
    observing = Observing("127.0.0.1:0")
    assert observing.server is not None
    url = "http://{}:{}".format(*observing.server.address)
    try:
        reply = requests.get(f"{url}/readyz", timeout=5)
        assert (reply.status_code, reply.text) == (503, "not ready: starting\n")
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        session = SimpleNamespace(connected=True, connections=1, replaced=frozenset())
        timers = Timers(SystemClock())
        observing.watch(session, None, timers)  # type: ignore[arg-type]
        assert timers.late is not None
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
        assert "flowrunner_ari_connected 1.0" in requests.get(f"{url}/metrics", timeout=5).text
    finally:
        observing.close()


def test_serve_stops_at_start_when_the_metrics_port_is_taken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["serve", FLOW, "--state", "none"]
        assert main([*argv, "--metrics", f"127.0.0.1:{port}"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        f"flowrunner serve: the metrics server cannot listen on 127.0.0.1:{port}:"
    )
    assert "Address already in use" in out


def test_a_metrics_address_that_is_not_host_port_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", FLOW, "--metrics", "9090"])
    assert exited.value.code == 2
    assert "argument --metrics: not HOST:PORT: '9090'" in capsys.readouterr().err


def test_the_metrics_address_may_come_from_the_environment() -> None:
    parsed = build_parser({"FLOWRUNNER_METRICS": "127.0.0.1:9464"}).parse_args(["serve", FLOW])
    assert parsed.metrics == "127.0.0.1:9464"
    assert build_parser({}).parse_args(["serve", FLOW]).metrics is None
