from __future__ import annotations

from fakes import Rig

from flowrunner.engine.messages import Reconcile
from flowrunner.ports import Response

RING, ANSWER, SILENCE, HANGUP = (
    "POST channels/c1/ring",
    "POST channels/c1/answer",
    "POST channels/c1/silence",
    "DELETE channels/c1",
)


def test_the_reference_call_runs_ring_answer_silence_hangup_on_time(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.answer_all()
    assert rig.actions() == [RING]
    rig.at(1.999)
    assert rig.actions() == [RING]
    rig.at(2.0)
    rig.answer_all()
    assert rig.actions() == [RING, ANSWER, SILENCE]
    rig.at(5.999)
    assert len(rig.actions()) == 3
    rig.at(6.0)
    rig.answer_all()
    assert rig.actions() == [RING, ANSWER, SILENCE, HANGUP]
    rig.event("StasisEnd")
    assert rig.runtime.calls == {}
    assert rig.journal.messages("transition") == [
        "(start) -> ringing (StasisStart)",
        "ringing -> answered (after 2s)",
        "answered -> hanging_up (after 4s)",
        "hanging_up -> ended (StasisEnd)",
    ]


def test_the_stasis_end_of_a_hangup_before_its_answer_still_ends_the_flow_as_finished(
    rig: Rig,
) -> None:
    """Seen on a loaded Asterisk: the StasisEnd a hangup causes came before the hangup's
    RESTResponse. The call ended as the caller leaving, not as its flow finishing."""
    rig.event("StasisStart")
    rig.answer_all()
    rig.at(2.0)
    rig.answer_all()
    rig.at(6.0)
    assert rig.actions()[-1] == HANGUP  # sent, not answered yet
    rig.event("StasisEnd")
    assert rig.runtime.calls == {}
    (ended,) = [
        (fields["reason"], fields["by"]) for _, k, _, fields in rig.journal.records if k == "end"
    ]
    assert ended == ("flow finished", "flow")


def test_a_call_sends_its_next_action_only_after_the_previous_one_is_answered(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.answer_all()
    rig.at(2.0)
    assert rig.actions()[-1] == ANSWER  # silence waits for answer's reply
    rig.transport.reply()
    rig.runtime.drain()
    assert rig.actions()[-1] == SILENCE


def test_stasis_end_cancels_timers_and_nothing_is_sent_afterwards(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.answer_all()
    rig.at(1.0)
    rig.event("StasisEnd")
    rig.at(10.0)
    assert rig.actions() == [RING]
    assert rig.runtime.calls == {}
    assert len(rig.runtime.timers) == 0


def test_404_means_the_channel_is_gone_and_ends_the_call_quietly(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.answer_all()
    rig.at(2.0)
    rig.answer_all(404)
    assert rig.runtime.calls == {}
    assert rig.actions() == [RING, ANSWER]  # no silence, no hangup of a gone channel
    assert "error" not in rig.journal.kinds("PJSIP/c1")
    assert rig.journal.messages("end")[-1].endswith("channel gone")


def test_a_failing_action_hangs_up_that_call_and_leaves_others_alone(rig: Rig) -> None:
    rig.event("StasisStart", channel="c1")
    rig.event("StasisStart", channel="c2")
    rig.answer_all()
    rig.at(2.0)
    rig.transport.reply(500, "Internal Server Error")  # c1's answer
    rig.runtime.drain()
    rig.answer_all()
    assert list(rig.runtime.calls) == ["c2"]
    assert "DELETE channels/c1" in rig.actions()
    assert "error" in rig.journal.kinds("PJSIP/c1")
    rig.at(6.0)
    rig.answer_all()
    assert rig.actions()[-1] == "DELETE channels/c2"


def test_no_answer_from_asterisk_is_a_failure_too(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.transport.reply(0, "timed out")
    rig.runtime.drain()
    assert rig.runtime.calls == {}
    assert any("ring failed: no answer (timed out)" in m for m in rig.journal.messages("error"))


def test_events_for_channels_we_do_not_own_are_ignored(rig: Rig) -> None:
    rig.event("ChannelStateChange", channel="stranger")
    rig.event("StasisEnd", channel="stranger")
    rig.event("StasisStart", channel="c1", application="another-app")
    assert rig.runtime.calls == {}
    assert rig.journal.records == []


def test_a_repeated_stasis_start_does_not_restart_the_call(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.event("StasisStart")
    assert rig.actions() == [RING]


def test_reconcile_ends_calls_whose_channel_vanished(rig: Rig) -> None:
    rig.event("StasisStart", channel="c1")
    rig.event("StasisStart", channel="c2")
    rig.runtime.post(Reconcile("channel-state", frozenset({"c2"})))
    rig.runtime.drain()
    assert list(rig.runtime.calls) == ["c2"]
    assert "vanished" in rig.journal.messages("end")[0]


def test_a_bug_in_one_call_ends_that_call_only(rig: Rig) -> None:
    rig.event("StasisStart", channel="c1")
    rig.event("StasisStart", channel="c2")
    rig.answer_all()
    broken = rig.runtime.calls["c1"]
    broken.state = "nowhere"  # any exception inside the engine for this call
    rig.at(2.0)
    assert list(rig.runtime.calls) == ["c2"]
    assert any("bug in flowrunner" in m for m in rig.journal.messages("error"))
    rig.answer_all()
    assert "POST channels/c2/answer" in rig.actions()


def test_timer_lateness_is_reported_with_the_transition(rig: Rig) -> None:
    rig.event("StasisStart")
    rig.answer_all()
    rig.at(2.25)
    fields = [f for _, kind, _, f in rig.journal.records if kind == "transition"][-1]
    assert fields["late_ms"] == 250.0


def test_reconcile_hangs_up_a_channel_in_the_app_that_no_call_owns(rig: Rig) -> None:
    rig.event("StasisStart", channel="c1")
    rig.answer_all()
    rig.runtime.post(Reconcile("channel-state", frozenset({"c1", "orphan"})))
    rig.runtime.drain()
    assert rig.actions()[-1] == "GET channels/orphan"  # first, is it still there?
    _, done = rig.transport.waiting.pop()
    done(Response(200, {"id": "orphan", "name": "PJSIP/left-behind"}))
    rig.runtime.drain()
    assert rig.actions()[-1] == "DELETE channels/orphan"
    assert rig.journal.messages("error") == [
        "channel in the app, but no call of this runner owns it: hung up"
    ]
    assert list(rig.runtime.calls) == ["c1"]


def test_reconcile_leaves_a_channel_whose_call_started_meanwhile(rig: Rig) -> None:
    rig.runtime.post(Reconcile("channel-state", frozenset({"c2"})))
    rig.runtime.drain()
    rig.event("StasisStart", channel="c2")  # it entered just as we connected
    asked = next(done for request, done in rig.transport.waiting if request.path == "channels/c2")
    asked(Response(200, {"id": "c2"}))
    rig.runtime.drain()
    assert "DELETE channels/c2" not in rig.actions()
    assert list(rig.runtime.calls) == ["c2"]


def test_a_message_of_a_kind_the_runtime_has_no_handler_for_is_a_bug_not_silence(
    rig: Rig,
) -> None:
    class Unheard:
        pass

    rig.runtime.post(Unheard())
    rig.runtime.drain()
    (error,) = rig.journal.messages("error")
    assert error.startswith("bug in flowrunner, please report: ")
    assert error.endswith("TypeError: no handler for a Unheard message")


def test_every_record_of_a_call_has_its_id(rig: Rig) -> None:
    """Its channel's name names it for people; only the id tells it from another server's."""
    rig.reference_call()
    kinds = [kind for _, kind, _, _ in rig.journal.records]
    assert {"start", "event", "transition", "action", "end"} <= set(kinds)
    assert {(channel, fields["id"]) for channel, _, _, fields in rig.journal.records} == {
        ("PJSIP/c1", "c1")
    }
