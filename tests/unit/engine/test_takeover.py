"""Calls outlive the runner: a runner keeps each call's snapshot after every message; another
runtime (after a restart, or another runner on the same store) takes the call over when
Asterisk lists its channel in the app, and it carries on where it was: timers from their
deadlines, what happened while nobody listened asked of Asterisk, unanswered requests resent
when harmless or failed."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeKeeper, FakeTransport, Journal, write_file

from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.engine.messages import Reconcile
from flowrunner.engine.reconcile import KeptFound, kept_calls
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import load_flow
from flowrunner.ports import Response
from flowrunner.sim.clock import VirtualClock

FLOW = """\
version: 1
app: channel-state
initial: start
on: {StasisEnd: ended}
states:
  start:
    do: [answer, {play: {media: sound:hello}}]
    on: {PlaybackFinished: menu}
  menu:
    after: {5s: bye}
  bye:
    do: [hangup]
  ended: {final: true}
"""


class Runner:
    """One runtime on a fake transport, a clock shared with the next runner, and a keeper."""

    def __init__(self, compiled: CompiledFlow, clock: VirtualClock, keeper: FakeKeeper) -> None:
        self.transport, self.journal = FakeTransport(), Journal()
        self.runtime = Runtime([compiled], self.transport, clock, self.journal, keeper=keeper)
        self.clock = clock

    def post(self, message: object) -> None:
        self.runtime.post(message)
        self.runtime.drain()

    def reply(self, status: int, body: object = None) -> str:
        request, done = self.transport.waiting.pop(0)
        done(Response(status, body))
        self.runtime.drain()
        return f"{request.method} {request.path}"

    def at(self, seconds: float) -> None:
        self.clock.advance_to(seconds)
        self.runtime.fire_due_timers()
        self.runtime.drain()

    @property
    def state(self) -> str:
        return self.runtime.calls["c1"].current


def first_runner(tmp_path: Path) -> tuple[Runner, FakeKeeper, CompiledFlow]:
    compiled = compile_flow(load_flow(write_file(tmp_path, FLOW)))
    keeper = FakeKeeper()
    runner = Runner(compiled, VirtualClock(), keeper)
    channel = {"id": "c1", "name": "PJSIP/c1", "caller": {"number": "100"}}
    runner.post({"type": "StasisStart", "application": "channel-state", "channel": channel})
    return runner, keeper, compiled


def take_over(first: Runner, keeper: FakeKeeper, compiled: CompiledFlow) -> Runner:
    """A new runtime on the same clock and keeper, told Asterisk still has c1 in the app."""
    second = Runner(compiled, first.clock, keeper)
    kept, problems = kept_calls(keeper.calls, {"channel-state": compiled}, keeper.flows.get)
    assert problems == []
    second.runtime.reconciler.kept = kept
    second.post(Reconcile("channel-state", frozenset({"c1"})))
    return second


def test_every_message_leaves_a_snapshot_and_an_ended_call_none(tmp_path: Path) -> None:
    runner, keeper, _ = first_runner(tmp_path)
    assert '"state":"start"' in keeper.calls["c1"]
    runner.post({"type": "StasisEnd", "channel": {"id": "c1"}})
    assert keeper.calls == {}


def test_a_timer_carries_on_from_its_deadline(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    first.reply(204)  # answer
    first.reply(201)  # play
    first.post(
        {"type": "PlaybackFinished", "playback": {"id": "c1-play-1"}, "channel": {"id": "c1"}}
    )
    assert first.state == "menu"  # the 5 s timer runs to 5.0

    first.clock.advance_to(3.0)  # the runner dies; another one takes over at 3 s
    second = take_over(first, keeper, compiled)
    assert second.state == "menu"
    assert second.journal.messages("start") == [
        f"taken over in menu (channel-state {compiled.flow.version}), 3.0s after it was kept"
    ]
    second.at(4.999)
    assert second.transport.sent == []
    second.at(5.0)
    assert [f"{r.method} {r.path}" for r in second.transport.sent] == ["DELETE channels/c1"]


def test_a_playback_that_finished_while_nobody_listened_still_moves_the_flow_on(
    tmp_path: Path,
) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    first.reply(204)
    first.reply(201)  # the greeting plays; the runner dies before it finishes
    second = take_over(first, keeper, compiled)
    assert second.reply(404) == "GET playbacks/c1-play-1"  # it is over
    assert second.state == "menu"


def test_a_playback_still_playing_is_waited_for(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    first.reply(204)
    first.reply(201)
    second = take_over(first, keeper, compiled)
    assert second.reply(200, {"id": "c1-play-1", "state": "playing"}) == "GET playbacks/c1-play-1"
    assert second.state == "start"
    second.post(
        {"type": "PlaybackFinished", "playback": {"id": "c1-play-1"}, "channel": {"id": "c1"}}
    )
    assert second.state == "menu"


def test_a_harmless_request_whose_answer_never_came_is_sent_again(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)  # answer sent, never answered
    second = take_over(first, keeper, compiled)
    assert [f"{r.method} {r.path}" for r in second.transport.sent] == ["POST channels/c1/answer"]
    second.reply(204)
    assert second.reply(201) == "POST channels/c1/play/c1-play-1"  # and the flow goes on


def test_any_other_request_whose_answer_never_came_counts_as_failed(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    first.reply(204)  # answered; the play is sent, and never answered
    second = take_over(first, keeper, compiled)
    assert second.runtime.calls == {}  # play failed, nothing handles it: hung up
    (failure,) = second.journal.messages("error")
    assert failure == "play failed: no answer (the runner stopped before the answer came)"
    assert [f"{r.method} {r.path}" for r in second.transport.sent] == ["DELETE channels/c1"]


def test_a_kept_call_whose_channel_is_gone_is_forgotten(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    second = Runner(compiled, first.clock, keeper)
    second.runtime.reconciler.kept, _ = kept_calls(
        keeper.calls, {"channel-state": compiled}, keeper.flows.get
    )
    second.post(Reconcile("channel-state", frozenset()))
    assert keeper.calls == {}
    assert second.runtime.calls == {}


def test_a_call_on_an_older_flow_version_is_carried_on_with_that_version(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    first.reply(204)
    first.reply(201)
    newer = compile_flow(load_flow(write_file(tmp_path, FLOW.replace("5s: bye", "9s: bye"))))
    kept, problems = kept_calls(keeper.calls, {"channel-state": newer}, keeper.flows.get)
    assert problems == []
    assert kept["c1"].compiled.flow.version == compiled.flow.version != newer.flow.version


def test_after_a_reconnect_a_call_asks_what_it_missed_while_the_link_was_down(
    tmp_path: Path,
) -> None:
    runner, _, _ = first_runner(tmp_path)
    runner.reply(204)
    runner.reply(201)  # the greeting plays; the link drops, and it finishes meanwhile
    runner.post(Reconcile("channel-state", frozenset({"c1"})))
    assert runner.reply(404) == "GET playbacks/c1-play-1"
    assert runner.state == "menu"


def test_a_call_nothing_was_kept_of_starts_over_in_the_flows_recovery_state(
    tmp_path: Path,
) -> None:
    recovering = FLOW.replace("initial: start\n", "initial: start\nrecovery: {goto: sorry}\n")
    recovering += "  sorry:\n    do: [{play: {media: sound:an-error-has-occurred}}]\n"
    recovering += "    on: {PlaybackFinished: bye}\n"
    compiled = compile_flow(load_flow(write_file(tmp_path, recovering)))
    runner = Runner(compiled, VirtualClock(), FakeKeeper())
    runner.post(Reconcile("channel-state", frozenset({"c1"})))
    channel = {"id": "c1", "name": "PJSIP/c1", "caller": {"number": "100"}, "state": "Up"}
    assert runner.reply(200, channel) == "GET channels/c1"
    assert runner.state == "sorry"
    assert runner.transport.sent[-1].path == "channels/c1/play/c1-play-1"
    assert runner.journal.messages("start") == [
        "started over in sorry: nothing was kept of this call (its flow's recovery)"
    ]
    assert runner.journal.messages("transition") == ["(start) -> sorry (recovery)"]
    assert runner.runtime.calls["c1"].caller == {"number": "100", "name": ""}


def test_a_listing_of_one_connection_leaves_the_other_calls_of_the_app_alone(
    tmp_path: Path,
) -> None:
    runner, keeper, _ = first_runner(tmp_path)  # c1 came on another connection
    runner.post(Reconcile("channel-state", frozenset({"c2"}), scope=frozenset({"c2"})))
    assert "c1" in runner.runtime.calls
    assert "c1" in keeper.calls
    runner.post(Reconcile("channel-state", frozenset(), scope=frozenset({"c1"})))
    assert "c1" not in runner.runtime.calls  # its own listing: gone


def test_calls_found_in_the_store_later_are_taken_over_when_listed(tmp_path: Path) -> None:
    first, keeper, compiled = first_runner(tmp_path)
    second = Runner(compiled, first.clock, keeper)  # started before first kept anything
    kept, _ = kept_calls(keeper.calls, {"channel-state": compiled}, keeper.flows.get)
    second.post(KeptFound(kept))
    second.post(Reconcile("channel-state", frozenset({"c1"}), scope=frozenset({"c1"})))
    assert second.state == "start"
    assert second.journal.messages("start")[0].startswith("taken over in start ")


def test_a_per_call_channel_nothing_was_kept_of_starts_from_the_beginning(
    tmp_path: Path,
) -> None:
    compiled = compile_flow(load_flow(write_file(tmp_path, FLOW)))
    runner = Runner(compiled, VirtualClock(), FakeKeeper())
    listing = Reconcile("channel-state", frozenset({"c1"}), frozenset({"c1"}), "PJSIP/c1")
    runner.post(listing)
    channel = {"id": "c1", "name": "PJSIP/c1", "caller": {"number": "100"}, "state": "Up"}
    assert runner.reply(200, channel) == "GET channels/c1"
    assert runner.state == "start"
    assert runner.journal.messages("start") == [
        "started over in start: nothing was kept of this call (its first runner was gone "
        "before it kept it)"
    ]


def test_another_channel_of_a_per_call_listing_nothing_was_kept_of_is_hung_up(
    tmp_path: Path,
) -> None:
    compiled = compile_flow(load_flow(write_file(tmp_path, FLOW)))
    runner = Runner(compiled, VirtualClock(), FakeKeeper())
    runner.post(Reconcile("channel-state", frozenset({"c9"}), frozenset({"c9"}), "PJSIP/c1"))
    assert runner.reply(200, {"id": "c9", "name": "Local/callee;1"}) == "GET channels/c9"
    assert runner.runtime.calls == {}
    assert [f"{r.method} {r.path}" for r in runner.transport.sent][-1] == "DELETE channels/c9"
