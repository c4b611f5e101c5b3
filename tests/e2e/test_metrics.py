"""`serve --metrics` on the real Asterisk: metrics and readiness scraped during real calls and
after them, the counts matching the calls placed; and /readyz saying 503 while Asterisk cannot
be reached (a runner pointed at a closed port: the shared sandbox is never stopped)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from conftest import (
    SECRETS,
    Runner,
    ari,
    assert_clean,
    clean_call,
    flow_copy,
    serving,
    transitions,
    wait_until,
)
from prometheus_client.parser import text_string_to_metric_families
from test_local_channel import Probe

APP = "metrics-channel-state"
CALLS = 3
MOVES = [
    ("(start)", "ringing"),
    ("ringing", "answered"),
    ("answered", "hanging_up"),
    ("hanging_up", "ended"),
]


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str) -> Samples:
    """Every sample of /metrics: (name, its labels) -> value."""
    reply = requests.get(f"{url}/metrics", timeout=5)
    assert reply.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def own_probe() -> Iterator[Probe]:
    """The callers' side, in an app of this file's own: no other test's probe can take it."""
    probe = Probe(f"{APP}-probe")
    try:
        yield probe
    finally:
        probe.close()


def originate(probe_app: str) -> str:
    """A Local channel into the flow's app, its caller's half in the probe's app; not waited
    for, so that the calls overlap."""
    tag = f"{APP}-{uuid.uuid4().hex[:8]}"
    ari(
        "POST",
        "channels",
        endpoint=f"Local/{APP}@stasis",
        app=probe_app,
        timeout=30,
        channelId=f"{tag}-phone",
        otherChannelId=f"{tag}-flow",
    )
    return tag


def test_metrics_during_and_after_real_calls_match_the_calls_placed(
    asterisk: None, tmp_path: Path
) -> None:
    flow = flow_copy(tmp_path, "channel-state", APP)
    url = f"http://127.0.0.1:{free_port()}"
    options = ("--metrics", url.removeprefix("http://"))
    served = serving(tmp_path / "serve.log", flow, options=options)
    with served as runner, clean_call(runner), own_probe() as probe:
        assert requests.get(f"{url}/healthz", timeout=5).text == "ok\n"
        ready = requests.get(f"{url}/readyz", timeout=5)
        assert (ready.status_code, ready.text) == (200, "ready\n")
        for _ in range(CALLS):
            originate(probe.app)
        version = wait_until(lambda: _version(runner), 10, "a call to enter the flow")
        call = {"flow": APP, "version": version}

        def all_active() -> bool:
            return sample(scrape(url), "flowrunner_calls_active", **call) == CALLS

        wait_until(all_active, 10, f"{CALLS} calls active")  # each lasts 6 s
        during = scrape(url)
        assert sample(during, "flowrunner_calls_started_total", **call) == CALLS
        ended = {**call, "by": "flow", "reason": "flow finished"}
        assert sample(during, "flowrunner_calls_ended_total", **ended) == 0
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200

        def all_ended() -> bool:
            return sample(scrape(url), "flowrunner_calls_active", **call) == 0

        wait_until(all_ended, 20, "the calls to end")
        after = scrape(url)
        assert sample(after, "flowrunner_calls_started_total", **call) == CALLS
        assert ended_by_reason(after) == {"flow finished": CALLS}, runner.text()
        assert sample(after, "flowrunner_calls_ended_total", **ended) == CALLS
        logged = transitions(runner, f"Local/{APP}@")
        assert len(logged) == 4 * CALLS
        for source, target in MOVES:
            moves = {"flow": APP, "source": source, "target": target}
            assert sample(after, "flowrunner_transitions_total", **moves) == CALLS, moves
            assert logged.count(f"{source} -> {target}") == CALLS
        for action in ("ring", "answer"):
            assert sample(after, "flowrunner_actions_total", action=action, result="2xx") == CALLS
            ari_ok = sample(after, "flowrunner_ari_requests_total", action=action, result="2xx")
            assert ari_ok == CALLS
            timed = sample(after, "flowrunner_ari_request_duration_seconds_count", action=action)
            assert timed == CALLS
        hangups = sample(after, "flowrunner_ari_requests_total", action="hangup", result="2xx")
        assert hangups == CALLS
        assert sample(after, "flowrunner_timer_lateness_seconds_count") >= 2 * CALLS
        assert sample(after, "flowrunner_ari_connected") == 1
        assert sample(after, "flowrunner_ari_reconnects_total") == 0
        assert sample(after, "flowrunner_store_writable") == 1
        assert sample(after, "flowrunner_store_write_duration_seconds_count") >= 1
        labels = {value for _, pairs in after for _, value in pairs}
        assert not [value for value in labels if "Local/" in value or f"{APP}-" in value]
        assert not SHOWN_ONLY & disallowed(APP)  # the log shows them at info: they are sent


SHOWN_ONLY = {"ChannelStateChange", "ChannelHangupRequest"}  # read by the log, not the flow


def disallowed(app: str) -> set[str]:
    """The event types Asterisk has been told not to send `app` (ARI's event filter); none
    while the app is not registered yet."""
    try:
        types = ari("GET", f"applications/{app}").get("events_disallowed") or []
    except requests.HTTPError:
        return set()
    return {str(item.get("type")) for item in types if isinstance(item, dict)}


def test_at_log_level_warning_asterisk_sends_none_of_the_events_only_shown_and_calls_run(
    asterisk: None, tmp_path: Path
) -> None:
    """Nothing shows ChannelStateChange or ChannelHangupRequest at --log-level warning, and the
    reference flow reads neither: Asterisk is told not to send them, and calls run as before
    (counted by the metrics: at this level the log says nothing of them)."""
    flow = flow_copy(tmp_path, "channel-state", APP)
    url = f"http://127.0.0.1:{free_port()}"
    options = ("--log-level", "warning", "--metrics", url.removeprefix("http://"))
    runner = Runner(tmp_path / "serve.log", flow, options=options)
    try:
        wait_until(lambda: disallowed(APP) >= SHOWN_ONLY, 30, "the event filter to be set")
        with own_probe() as probe:
            for _ in range(CALLS):
                originate(probe.app)

            def ended() -> dict[str, float]:
                return ended_by_reason(scrape(url))

            wait_until(lambda: ended() == {"flow finished": CALLS}, 30, "the calls to finish")
        after = scrape(url)
        for action in ("ring", "answer", "start_silence", "hangup"):
            assert sample(after, "flowrunner_ari_requests_total", action=action, result="2xx") == (
                CALLS
            ), action
    finally:
        assert runner.stop() == 0, runner.text()
    assert_clean(runner)


def ended_by_reason(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "flowrunner_calls_ended_total" and value
    }


def _version(runner: Runner) -> str | None:
    started = [line for line in runner.lines() if line.get("kind") == "start"]
    return started[0]["version"] if started else None


def test_readyz_is_503_while_asterisk_cannot_be_reached(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    runner = Runner(
        tmp_path / "serve.log",
        "flows/channel-state.yaml",
        options=("--ari-url", closed, "--metrics", url.removeprefix("http://")),
    )
    try:
        wait_until(lambda: "connection refused" in runner.text(), 15, "a refused connection")
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"{url}/readyz", timeout=5)
        assert (ready.status_code, ready.text) == (
            503,
            "not ready: not connected to Asterisk (ARI)\n",
        )
        samples = scrape(url)
        assert sample(samples, "flowrunner_ari_connected") == 0
        assert sample(samples, "flowrunner_ari_reconnects_total") == 0
    finally:
        assert runner.stop() == 0, runner.text()
    for secret in SECRETS:
        assert secret not in runner.text()
