"""The metrics journal: one more journal in `serve`'s Fanout, counting what the engine reports
(calls started and ended, transitions, action results) with no knowledge of it in the engine.

A call's records name its channel; its start names its flow and version, so the journal keeps,
per live channel, the cached metrics of that flow version until the call's end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from .metrics import Metrics, result_of

_NUMBERS = (int, float)  # a tuple: a union written in the call is built at each call
START = "(start)"  # the source of a call's first transition, as the log says it


class FlowVersion:
    """The metrics of one flow version, their children looked up once."""

    def __init__(self, metrics: Metrics, flow: str, version: str) -> None:
        self.metrics, self.flow, self.version = metrics, flow, version
        self.started = metrics.calls_started.labels(flow, version)
        self.taken_over = metrics.calls_taken_over.labels(flow, version)
        self.active: Gauge = metrics.calls_active.labels(flow, version)
        self.ended: dict[tuple[str, str], Counter] = {}
        self.moves: dict[tuple[str, str], Counter] = {}

    def transition(self, source: str, target: str) -> None:
        counter = self.moves.get((source, target))
        if counter is None:
            counter = self.metrics.transitions.labels(self.flow, source, target)
            self.moves[(source, target)] = counter
        counter.inc()

    def end(self, by: str, reason: str) -> None:
        counter = self.ended.get((by, reason))
        if counter is None:
            counter = self.metrics.calls_ended.labels(self.flow, self.version, by, reason)
            self.ended[(by, reason)] = counter
        counter.inc()
        self.active.dec()


class MetricsJournal:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.versions: dict[tuple[str, str], FlowVersion] = {}
        self.calls: dict[str, FlowVersion] = {}  # call id -> its flow version, while it lasts
        self.results: dict[tuple[str, str], Counter] = {}  # (action, result) -> its counter
        self.durations: dict[str, Histogram] = {}
        self.handlers: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "start": self._start,
            "transition": self._transition,
            "action": self._action,
            "error": self._failure,
            "end": self._end,
        }

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        handler = self.handlers.get(kind)
        if handler is not None:  # by the call's id: its channel's name may repeat (servers)
            handler(str(fields.get("id", channel)), fields)

    def wants(self, kind: str, level: str) -> bool:
        return kind in self.handlers

    def _start(self, channel: str, fields: dict[str, Any]) -> None:
        flow, version = fields.get("flow"), fields.get("version")
        if not isinstance(flow, str) or not isinstance(version, str) or channel in self.calls:
            return
        counts = self.versions.get((flow, version))
        if counts is None:
            counts = self.versions[(flow, version)] = FlowVersion(self.metrics, flow, version)
        (counts.taken_over if fields.get("taken_over") else counts.started).inc()
        counts.active.inc()
        self.calls[channel] = counts

    def _transition(self, channel: str, fields: dict[str, Any]) -> None:
        counts = self.calls.get(channel)
        if counts is not None:
            source = str(fields.get("source") or START)
            counts.transition(source, str(fields.get("target", "")))

    def _end(self, channel: str, fields: dict[str, Any]) -> None:
        counts = self.calls.pop(channel, None)  # None: a kept call never taken over here
        if counts is not None:
            counts.end(str(fields.get("by", "")), str(fields.get("reason", "")))

    def _action(self, channel: str, fields: dict[str, Any]) -> None:
        self._count(fields, failed=False)

    def _failure(self, channel: str, fields: dict[str, Any]) -> None:
        self._count(fields, failed=True)

    def _count(self, fields: dict[str, Any], failed: bool) -> None:
        """An action's result: its reply's status class (no_answer: none came); `failed` when
        it failed with no reply; `ok` when it reports no status (speech ready). Records that
        name no action (loop guards, a step's progress) count nothing here."""
        action = fields.get("action")
        if not isinstance(action, str):
            return
        status = fields.get("status")
        if isinstance(status, int) and (status or not failed):
            result = result_of(status)
        else:
            result = "failed" if failed else "ok"
        counter = self.results.get((action, result))
        if counter is None:
            counter = self.results[(action, result)] = self.metrics.actions.labels(action, result)
        counter.inc()
        took_ms = fields.get("took_ms")
        if isinstance(took_ms, _NUMBERS):
            histogram = self.durations.get(action)
            if histogram is None:
                histogram = self.durations[action] = self.metrics.action_seconds.labels(action)
            histogram.observe(took_ms / 1000)
