"""The metrics journal, beside the log in the Fanout, on the real runtime: it counts calls,
transitions and action results from what the engine reports, with bounded labels."""

from __future__ import annotations

import pytest
from fakes import FakeKeeper, FakeTransport, Journal, Rig

from flowrunner.engine.journal import Fanout
from flowrunner.engine.machine import CompiledFlow
from flowrunner.engine.messages import Reconcile
from flowrunner.engine.reconcile import kept_calls
from flowrunner.engine.runtime import Runtime
from flowrunner.observe.journal import MetricsJournal
from flowrunner.observe.metrics import Metrics
from flowrunner.sim.clock import VirtualClock


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def counted(channel_state: CompiledFlow, metrics: Metrics) -> Rig:
    transport, clock, journal = FakeTransport(), VirtualClock(), Journal()
    both = Fanout(journal, MetricsJournal(metrics))
    return Rig(Runtime([channel_state], transport, clock, both), transport, clock, journal)


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def version(rig: Rig) -> str:
    return rig.runtime.flows["channel-state"].flow.version


def test_a_call_is_started_active_then_ended_by_flow_version_and_reason(
    counted: Rig, metrics: Metrics
) -> None:
    call = {"flow": "channel-state", "version": version(counted)}
    counted.event("StasisStart")
    counted.answer_all()
    assert value(metrics, "flowrunner_calls_started_total", **call) == 1
    assert value(metrics, "flowrunner_calls_active", **call) == 1
    counted.at(2.0)
    counted.answer_all()
    counted.at(6.0)
    counted.answer_all()  # the hangup
    counted.event("StasisEnd")
    assert value(metrics, "flowrunner_calls_active", **call) == 0
    ended = {**call, "by": "flow", "reason": "flow finished"}
    assert value(metrics, "flowrunner_calls_ended_total", **ended) == 1
    assert value(metrics, "flowrunner_calls_taken_over_total", **call) == 0


def test_two_calls_with_one_channel_name_are_counted_as_two(counted: Rig, metrics: Metrics) -> None:
    call = {"flow": "channel-state", "version": version(counted)}
    counted.event("StasisStart")
    counted.event("StasisStart", "c2", name="PJSIP/c1")  # another Asterisk numbers its own
    counted.answer_all()
    assert value(metrics, "flowrunner_calls_started_total", **call) == 2
    assert value(metrics, "flowrunner_calls_active", **call) == 2
    counted.at(2.0)
    counted.answer_all()
    counted.at(6.0)
    counted.answer_all()
    counted.event("StasisEnd")
    assert value(metrics, "flowrunner_calls_active", **call) == 1
    counted.event("StasisEnd", "c2", name="PJSIP/c1")
    assert value(metrics, "flowrunner_calls_active", **call) == 0
    ended = {**call, "by": "flow", "reason": "flow finished"}
    assert value(metrics, "flowrunner_calls_ended_total", **ended) == 2


def test_each_transition_is_counted_by_flow_source_and_target(
    counted: Rig, metrics: Metrics
) -> None:
    counted.event("StasisStart")
    counted.answer_all()
    counted.at(2.0)
    counted.answer_all()
    counted.at(6.0)
    counted.answer_all()
    counted.event("StasisEnd")
    moves = [
        ("(start)", "ringing"),
        ("ringing", "answered"),
        ("answered", "hanging_up"),
        ("hanging_up", "ended"),
    ]
    for source, target in moves:
        labels = {"flow": "channel-state", "source": source, "target": target}
        assert value(metrics, "flowrunner_transitions_total", **labels) == 1, labels
    never = {"flow": "channel-state", "source": "ringing", "target": "hanging_up"}
    assert value(metrics, "flowrunner_transitions_total", **never) is None


def test_action_results_are_counted_by_status_class_and_timed(
    counted: Rig, metrics: Metrics
) -> None:
    counted.event("StasisStart")
    counted.clock.advance_to(0.004)  # ring's reply comes 4 ms later
    counted.answer_all()
    assert value(metrics, "flowrunner_actions_total", action="ring", result="2xx") == 1
    took = value(metrics, "flowrunner_action_duration_seconds_sum", action="ring")
    assert took == pytest.approx(0.004)
    assert value(metrics, "flowrunner_action_duration_seconds_count", action="ring") == 1


def test_a_failed_action_counts_its_status_class_and_the_call_ends_by_failure(
    counted: Rig, metrics: Metrics
) -> None:
    counted.event("StasisStart")
    counted.answer_all()
    counted.at(2.0)
    counted.transport.reply(500, "Internal Server Error")  # answer
    counted.runtime.drain()
    assert value(metrics, "flowrunner_actions_total", action="answer", result="5xx") == 1
    ended = {"flow": "channel-state", "version": version(counted), "by": "failure"}
    assert value(metrics, "flowrunner_calls_ended_total", **ended, reason="answer failed") == 1


def test_an_action_that_got_no_answer_is_failed_not_a_status_class(
    counted: Rig, metrics: Metrics
) -> None:
    counted.event("StasisStart")
    counted.transport.reply(0, "timed out")
    counted.runtime.drain()
    assert value(metrics, "flowrunner_actions_total", action="ring", result="failed") == 1


def test_a_channel_gone_is_a_4xx_and_ends_the_call_by_the_caller(
    counted: Rig, metrics: Metrics
) -> None:
    counted.event("StasisStart")
    counted.answer_all(404)
    assert value(metrics, "flowrunner_actions_total", action="ring", result="4xx") == 1
    ended = {"flow": "channel-state", "version": version(counted), "by": "caller"}
    assert value(metrics, "flowrunner_calls_ended_total", **ended, reason="channel gone") == 1


def test_calls_that_vanished_while_disconnected_end_with_that_reason(
    counted: Rig, metrics: Metrics
) -> None:
    counted.event("StasisStart", channel="c1")
    counted.event("StasisStart", channel="c2")
    counted.runtime.post(Reconcile("channel-state", frozenset({"c2"})))
    counted.runtime.drain()
    call = {"flow": "channel-state", "version": version(counted)}
    reason = "channel vanished while disconnected"
    assert value(metrics, "flowrunner_calls_ended_total", **call, by="caller", reason=reason) == 1
    assert value(metrics, "flowrunner_calls_active", **call) == 1


def test_a_call_taken_over_from_the_store_counts_as_taken_over_then_ends(
    channel_state: CompiledFlow, metrics: Metrics
) -> None:
    keeper, clock = FakeKeeper(), VirtualClock()
    first = Runtime([channel_state], FakeTransport(), clock, Journal(), keeper=keeper)
    channel = {"id": "c1", "name": "PJSIP/c1", "state": "Ring"}
    first.post({"type": "StasisStart", "application": "channel-state", "channel": channel})
    first.drain()  # then the runner dies, and another one takes the call over
    transport, journal = FakeTransport(), Fanout(Journal(), MetricsJournal(metrics))
    second = Runtime([channel_state], transport, clock, journal, keeper=keeper)
    second.reconciler.kept, _ = kept_calls(keeper.calls, second.flows, keeper.flows.get)
    second.post(Reconcile("channel-state", frozenset({"c1"})))
    second.drain()
    call = {"flow": "channel-state", "version": channel_state.flow.version}
    assert value(metrics, "flowrunner_calls_taken_over_total", **call) == 1
    assert value(metrics, "flowrunner_calls_started_total", **call) == 0
    assert value(metrics, "flowrunner_calls_active", **call) == 1
    second.post({"type": "StasisEnd", "application": "channel-state", "channel": channel})
    second.drain()
    assert value(metrics, "flowrunner_calls_active", **call) == 0
    ended = {**call, "by": "caller", "reason": "left the app"}
    assert value(metrics, "flowrunner_calls_ended_total", **ended) == 1


def test_a_call_taken_over_counts_as_taken_over_not_started(metrics: Metrics) -> None:
    journal = MetricsJournal(metrics)
    fields = {"flow": "f", "version": "v1"}
    journal.record("PJSIP/a", "start", "taken over in menu (f v1)", **fields, taken_over=True)
    journal.record("PJSIP/b", "start", "started over in start", **fields, level="warning")
    assert value(metrics, "flowrunner_calls_taken_over_total", **fields) == 1
    assert value(metrics, "flowrunner_calls_started_total", **fields) == 1
    assert value(metrics, "flowrunner_calls_active", **fields) == 2


def test_records_of_calls_never_started_here_count_nothing(metrics: Metrics) -> None:
    journal = MetricsJournal(metrics)
    journal.record("PJSIP/kept", "end", "a kept call whose channel Asterisk no longer has")
    journal.record("PJSIP/kept", "transition", "a -> b", source="a", target="b")
    journal.record("PJSIP/x", "action", "collect: no input, retrying")  # names no action
    journal.record("PJSIP/x", "error", "loop guard: 50 steps", level="warning")
    families = {f.name: f for f in metrics.registry.collect()}
    for name in ("flowrunner_calls_ended", "flowrunner_transitions", "flowrunner_actions"):
        assert families[name].samples == [], name


def test_no_label_holds_a_channel_or_anything_a_caller_chose(
    counted: Rig, metrics: Metrics
) -> None:
    caller = {"number": "+15551234567", "name": "Mallory"}
    counted.event("StasisStart", channel="c9", caller=caller)
    counted.answer_all()
    counted.at(2.0)
    counted.answer_all()
    counted.event("StasisEnd", channel="c9")
    values = {
        label
        for family in metrics.registry.collect()
        for sample in family.samples
        for label in sample.labels.values()
    }
    assert not {v for v in values if "c9" in v or "5551234567" in v or "Mallory" in v}
    assert "channel-state" in values
