"""The Prometheus metrics of `serve --metrics`, in a registry of their own.

Label values are bounded: flow names and versions (the flows served), state names (theirs),
action and request names (the vocabulary), end reasons and results (words of the engine's own).
Never a channel id, a caller's number, a URL or anything else a caller chooses. Each metric's
labelled children are looked up once and cached, so the hot path is a dict lookup and an add.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# Seconds, for what takes milliseconds: a request to Asterisk, a timer's lateness, a store write.
FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds, for what may take a while: a web service, an action (a prompt, a dial).
SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CALL = ("flow", "version")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)  # CPU seconds, memory, open files
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.calls_started = Counter(
            "flowrunner_calls_started",
            "Calls started (new, or started over by recovery)",
            CALL,
            registry=r,
        )
        self.calls_taken_over = Counter(
            "flowrunner_calls_taken_over",
            "Kept calls taken over from the store",
            CALL,
            registry=r,
        )
        self.calls_active = Gauge("flowrunner_calls_active", "Calls in progress", CALL, registry=r)
        self.calls_ended = Counter(
            "flowrunner_calls_ended",
            "Calls ended, by who ended them and why",
            (*CALL, "by", "reason"),
            registry=r,
        )
        self.transitions = Counter(
            "flowrunner_transitions",
            "State transitions taken",
            ("flow", "source", "target"),
            registry=r,
        )
        self.actions = Counter(
            "flowrunner_actions",
            "Action results reported, by action and result",
            ("action", "result"),
            registry=r,
        )
        self.action_seconds = Histogram(
            "flowrunner_action_duration_seconds",
            "From an action's request to its reply",
            ("action",),
            buckets=SLOW,
            registry=r,
        )
        self.ari_requests = Counter(
            "flowrunner_ari_requests",
            "ARI requests answered, by request and result",
            ("action", "result"),
            registry=r,
        )
        self.ari_seconds = Histogram(
            "flowrunner_ari_request_duration_seconds",
            "ARI request latency, by request",
            ("action",),
            buckets=FAST,
            registry=r,
        )
        self.http_requests = Counter(
            "flowrunner_http_requests",
            "Web requests of the http action, by result",
            ("result",),
            registry=r,
        )
        self.http_seconds = Histogram(
            "flowrunner_http_request_duration_seconds",
            "Web request latency (http action)",
            buckets=SLOW,
            registry=r,
        )
        self.timer_lateness = Histogram(
            "flowrunner_timer_lateness_seconds",
            "How late timers fired after their deadline",
            buckets=FAST,
            registry=r,
        )
        self.store_seconds = Histogram(
            "flowrunner_store_write_duration_seconds",
            "Store write latency, per batch",
            buckets=FAST,
            registry=r,
        )
        self.store_failures = Counter(
            "flowrunner_store_write_failures", "Store writes that failed (retried)", registry=r
        )


def result_of(status: int) -> str:
    """A reply's result as a label: its status class, or no_answer when none came."""
    return f"{status // 100}xx" if 100 <= status < 600 else "no_answer"
