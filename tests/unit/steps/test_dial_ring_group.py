"""`dial` to several endpoints (a ring group): all at once or in order, with or without a key
the callee must press to accept; on a fake transport, every request sent asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fakes import load_problems, write_file
from test_runtime_steps import HEAD, StepRig, rig_for, start

from flowrunner.engine.snapshot import restore, snapshot
from flowrunner.steps.dial import DialStep

STATES = """  start:
    do: [{dial: {endpoint: [PJSIP/alice, PJSIP/bob], timeout: 20s, into: who%s}}]
    on:
      DialAnswered: talking
      DialBusy: busy
      DialNoAnswer: unanswered
      DialFailed: failed
      ChannelDtmfReceived: gave_up
  talking: {}
  busy: {}
  unanswered: {}
  failed: {}
  gave_up: {}
"""
ALICE, BOB = "c1-dial-1", "c1-dial-2"
ELEVEN = ", ".join(f"PJSIP/u{n}" for n in range(11))


def create(endpoint: str, channel: str) -> str:
    return (
        f"POST channels/create?endpoint={endpoint}&app=channel-state"
        f"&appArgs=flowrunner-dial,c1&channelId={channel}&originator=c1"
    )


def dial(channel: str) -> str:
    return f"POST channels/{channel}/dial?timeout=20&caller=c1"


BRIDGE = "POST bridges?type=mixing&bridgeId=c1-bridge-1"


def add(channel: str) -> str:
    return f"POST bridges/c1-bridge-1/addChannel?channel=c1,{channel}"


def hangup(channel: str) -> str:
    return f"DELETE channels/{channel}"


def states(extra: str = "") -> str:
    return STATES % extra


def dial_event(rig: StepRig, channel: str, status: str) -> None:
    rig.post(type="Dial", peer={"id": channel}, dialstatus=status)


def enters(rig: StepRig, channel: str) -> None:
    """The callee's channel enters the app; its dial is sent (and answered) then."""
    rig.event("StasisStart", channel=channel, args=["flowrunner-dial", "c1"])
    rig.answer_all()


def leaves(rig: StepRig, channel: str, cause: int) -> None:
    rig.event("StasisEnd", channel=channel)
    rig.event("ChannelDestroyed", channel=channel, cause=cause)


def ringing(tmp_path: Path, extra: str = "") -> StepRig:
    """Both callees created, in the app and dialled: they ring."""
    rig = with_payloads(rig_for(tmp_path, states(extra)))
    rig.event("StasisStart")
    rig.answer_all()
    assert rig.sent() == [create("PJSIP/alice", ALICE), create("PJSIP/bob", BOB)]
    enters(rig, ALICE)
    enters(rig, BOB)
    assert rig.sent()[2:] == [dial(ALICE), dial(BOB)]
    return rig


def outcome(rig: StepRig) -> dict[str, Any]:
    """The payload of the last event given to the flow (what `event.*` reads in its guards),
    without its type."""
    payload = dict(rig.journal_of_payloads[-1])  # type: ignore[attr-defined]
    return {key: value for key, value in payload.items() if key != "type"}


def with_payloads(rig: StepRig) -> StepRig:
    """Keep the payload of every event the runtime gives the flow."""
    seen: list[Any] = []
    to_flow = rig.runtime.to_flow

    def spy(call: Any, event: str, payload: Any, reason: str, **fields: Any) -> bool:
        seen.append(payload or {})
        return to_flow(call, event, payload, reason, **fields)

    rig.runtime.to_flow = spy  # type: ignore[method-assign]
    rig.journal_of_payloads = seen  # type: ignore[attr-defined]
    return rig


# -- all at once ---------------------------------------------------------------------------


def test_the_first_to_answer_is_bridged_and_the_other_hung_up_at_once(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, BOB, "ANSWER")
    rig.answer_all()
    assert rig.sent()[4:] == [hangup(ALICE), BRIDGE, add(BOB)]
    assert rig.state == "talking"
    assert rig.vars["who"] == "PJSIP/bob"
    dial_event(rig, ALICE, "ANSWER")  # too late: it was hung up
    leaves(rig, ALICE, 16)
    rig.answer_all()
    assert rig.sent()[7:] == []
    assert rig.state == "talking"


def test_one_busy_callee_leaves_the_other_ringing(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, ALICE, "BUSY")
    rig.answer_all()
    assert rig.sent()[4:] == [hangup(ALICE)]
    assert rig.state == "start"
    dial_event(rig, BOB, "ANSWER")
    rig.answer_all()
    assert rig.sent()[5:] == [BRIDGE, add(BOB)]
    assert rig.state == "talking"


def test_nobody_answering_is_no_answer_once_the_last_callee_is_gone(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, ALICE, "BUSY")
    rig.answer_all()
    leaves(rig, ALICE, 16)
    leaves(rig, BOB, 19)  # Asterisk's dial timeout
    assert rig.state == "unanswered"  # one rang in vain: better news than busy
    assert rig.vars["who"] == ""
    assert rig.transitions()[-1] == "start -> unanswered (dial no answer)"


def test_all_busy_is_busy(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, ALICE, "BUSY")
    dial_event(rig, BOB, "BUSY")
    rig.answer_all()
    assert rig.sent()[4:] == [hangup(ALICE), hangup(BOB)]
    assert rig.state == "busy"


def test_a_callee_that_cannot_be_created_leaves_the_other_ringing(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, states())
    rig.event("StasisStart")
    rig.reply(500)  # alice's channel
    rig.answer_all()
    assert rig.sent() == [create("PJSIP/alice", ALICE), create("PJSIP/bob", BOB), hangup(ALICE)]
    enters(rig, BOB)
    dial_event(rig, BOB, "ANSWER")
    rig.answer_all()
    assert rig.state == "talking"


def test_the_caller_leaving_hangs_up_every_callee(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    rig.event("StasisEnd")
    assert rig.ended
    assert rig.sent()[4:] == [hangup(ALICE), hangup(BOB)]


def test_leaving_the_state_hangs_up_every_callee(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    rig.event("ChannelDtmfReceived", digit="*")
    rig.answer_all()
    assert rig.state == "gave_up"
    assert rig.sent()[4:] == [hangup(ALICE), hangup(BOB)]


def test_the_safety_net_hangs_up_every_callee_still_ringing(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    rig.at(24.9)
    assert rig.state == "start"
    rig.at(25.0)  # timeout + 5 s, and Asterisk said nothing
    rig.answer_all()
    assert rig.sent()[4:] == [hangup(ALICE), hangup(BOB)]
    assert rig.state == "unanswered"


# -- in order ------------------------------------------------------------------------------


def test_in_order_the_next_callee_is_called_once_the_first_will_not_answer(
    tmp_path: Path,
) -> None:
    rig = with_payloads(rig_for(tmp_path, states(", ring: in_order")))
    rig.event("StasisStart")
    rig.answer_all()
    assert rig.sent() == [create("PJSIP/alice", ALICE)]
    enters(rig, ALICE)
    leaves(rig, ALICE, 19)  # no answer in 20 s
    rig.answer_all()
    assert rig.sent()[2:] == [create("PJSIP/bob", BOB)]
    enters(rig, BOB)
    dial_event(rig, BOB, "ANSWER")
    rig.answer_all()
    assert rig.sent()[3:] == [dial(BOB), BRIDGE, add(BOB)]
    assert (rig.state, rig.vars["who"]) == ("talking", "PJSIP/bob")
    assert outcome(rig) == {"callee": BOB, "endpoint": "PJSIP/bob", "index": 1}


def test_in_order_each_callee_has_its_own_safety_net(tmp_path: Path) -> None:
    rig = with_payloads(rig_for(tmp_path, states(", ring: in_order")))
    rig.event("StasisStart")
    rig.answer_all()
    enters(rig, ALICE)
    rig.at(25.0)
    rig.answer_all()
    assert rig.sent()[2:] == [hangup(ALICE), create("PJSIP/bob", BOB)]
    enters(rig, BOB)
    rig.at(49.9)
    assert rig.state == "start"
    rig.at(50.0)
    rig.answer_all()
    assert rig.state == "unanswered"


def test_in_order_the_outcome_comes_after_the_last_callee(tmp_path: Path) -> None:
    rig = with_payloads(rig_for(tmp_path, states(", ring: in_order")))
    rig.event("StasisStart")
    rig.answer_all()
    enters(rig, ALICE)
    dial_event(rig, ALICE, "CHANUNAVAIL")
    rig.answer_all()
    assert rig.state == "start"
    enters(rig, BOB)
    dial_event(rig, BOB, "BUSY")
    rig.answer_all()
    assert rig.state == "busy"
    assert outcome(rig) == {"dialstatus": "BUSY", "endpoint": "PJSIP/bob", "index": 1}


# -- accept --------------------------------------------------------------------------------

ACCEPT = ", accept: {prompt: sound:press-1, timeout: 8s}"


def prompt(channel: str, n: int) -> str:
    return f"POST channels/{channel}/play/c1-play-{n}?media=sound:press-1"


def test_a_callee_who_presses_1_is_bridged_and_the_prompt_stopped(tmp_path: Path) -> None:
    rig = ringing(tmp_path, ACCEPT)
    dial_event(rig, ALICE, "ANSWER")
    rig.answer_all()
    assert rig.sent()[4:] == [prompt(ALICE, 1)]
    assert rig.state == "start"  # not until alice accepts; bob still rings
    rig.event("ChannelDtmfReceived", channel=ALICE, digit="2")  # not the key
    rig.event("ChannelDtmfReceived", channel=ALICE, digit="1")
    rig.answer_all()
    assert rig.sent()[5:] == ["DELETE playbacks/c1-play-1", hangup(BOB), BRIDGE, add(ALICE)]
    assert (rig.state, rig.vars["who"]) == ("talking", "PJSIP/alice")


def test_a_callee_who_does_not_accept_in_time_is_hung_up_and_the_other_rings_on(
    tmp_path: Path,
) -> None:
    rig = ringing(tmp_path, ACCEPT)
    rig.at(2.0)
    dial_event(rig, ALICE, "ANSWER")
    rig.answer_all()
    rig.post(
        type="PlaybackFinished", playback={"id": "c1-play-1", "target_uri": f"channel:{ALICE}"}
    )
    rig.at(9.9)
    assert rig.sent()[5:] == []
    rig.at(10.0)  # 8 s after the answer
    rig.answer_all()
    assert rig.sent()[5:] == [hangup(ALICE)]
    assert rig.state == "start"
    dial_event(rig, BOB, "ANSWER")
    rig.event("ChannelDtmfReceived", channel=BOB, digit="1")
    rig.answer_all()
    assert rig.sent()[6:] == [prompt(BOB, 2), "DELETE playbacks/c1-play-2", BRIDGE, add(BOB)]
    assert rig.state == "talking"


def test_a_callee_who_hangs_up_instead_of_accepting_did_not_answer(tmp_path: Path) -> None:
    rig = ringing(tmp_path, ACCEPT)
    dial_event(rig, ALICE, "ANSWER")
    rig.answer_all()
    leaves(rig, ALICE, 16)
    dial_event(rig, BOB, "BUSY")
    rig.answer_all()
    assert rig.sent()[5:] == [hangup(BOB)]
    assert rig.state == "unanswered"
    assert outcome(rig)["endpoint"] == "PJSIP/alice"


def test_the_winner_takes_back_another_callees_prompt_still_queued(tmp_path: Path) -> None:
    rig = ringing(tmp_path, ACCEPT)
    dial_event(rig, ALICE, "ANSWER")
    dial_event(rig, BOB, "ANSWER")  # bob's prompt waits behind alice's
    rig.event("ChannelDtmfReceived", channel=ALICE, digit="1")
    rig.answer_all()
    assert rig.sent()[4:] == [  # bob's prompt never goes
        prompt(ALICE, 1),
        "DELETE playbacks/c1-play-1",
        hangup(BOB),
        BRIDGE,
        add(ALICE),
    ]


# -- snapshots and the language ------------------------------------------------------------


def test_a_ring_group_is_plain_json_and_goes_on_after_a_restore(tmp_path: Path) -> None:
    rig = ringing(tmp_path, ACCEPT)
    dial_event(rig, ALICE, "ANSWER")
    rig.answer_all()
    call = rig.runtime.calls["c1"]
    data = json.loads(json.dumps(snapshot(call, rig.clock)))
    rig.runtime.calls.clear()
    rig.runtime.adopt(restore(data, call.compiled, rig.clock))
    rig.event("ChannelDtmfReceived", channel=ALICE, digit="1")
    rig.answer_all()
    assert rig.sent()[5:] == ["DELETE playbacks/c1-play-1", hangup(BOB), BRIDGE, add(ALICE)]
    assert rig.state == "talking"


def test_a_dial_saved_before_ring_groups_is_restored_as_one_callee() -> None:
    old = {
        "action": "dial",
        "endpoint": "PJSIP/alice",
        "timeout": 20.0,
        "caller_id": "",
        "peer": "c1-dial-1",
        "bridge": "c1-bridge-1",
        "phase": "connected",
        "callee": "alive",
        "bridged": True,
        "cause": 0,
        "callee_handled": False,
    }
    step = DialStep.restore(old)
    assert isinstance(step, DialStep)
    (leg,) = step.legs
    assert (leg.endpoint, leg.id, leg.channel, leg.fate) == (
        "PJSIP/alice",
        "c1-dial-1",
        "alive",
        "won",
    )
    assert (step.winner, step.phase, step.bridged) == (0, "connected", True)


@pytest.mark.parametrize(
    ("dial", "message"),
    [
        (
            f"{{endpoint: [{ELEVEN}]}}",
            "dial.endpoint: at most 10 items, not 11",
        ),
        ("{endpoint: []}", "dial.endpoint: must not be empty"),
        ("{endpoint: [PJSIP/a, PJSIP/a]}", "dial.endpoint: lists the same item twice"),
        (
            "{endpoint: [PJSIP/a], ring: random}",
            "dial.ring: 'random' is not allowed here; expected one of: all, in_order",
        ),
        ("{endpoint: [PJSIP/a], accept: {digit: '12'}}", "dial.accept.digit: '12' is not valid"),
        (
            "{endpoint: [PJSIP/a], accept: {timeout: 11m}}",
            "dial.accept.timeout: 'timeout' must be at most 600s",
        ),
    ],
)
def test_a_ring_group_is_checked_when_the_flow_loads(
    tmp_path: Path, dial: str, message: str
) -> None:
    text = HEAD + f"  start:\n    do: [{{dial: {dial}}}]\n    on: {{DialAnswered: ended}}\n"
    problems = load_problems(write_file(tmp_path, text + "  ended: {final: true}\n"))
    assert any(message in problem for problem in problems), problems


def test_a_template_giving_more_than_10_endpoints_fails_the_action(tmp_path: Path) -> None:
    head = HEAD.replace("states:\n", f"vars: {{team: [{ELEVEN}]}}\nstates:\n")
    rig = rig_for(tmp_path, states().replace("[PJSIP/alice, PJSIP/bob]", '"{{ team }}"'), head)
    rig.event("StasisStart")
    rig.answer_all()
    assert rig.sent() == ["DELETE channels/c1"]  # no ActionFailed transition: hung up
    assert any("11 endpoints to dial" in m for m in rig.journal.messages("error"))


def test_each_templated_endpoint_of_a_group_is_escaped(tmp_path: Path) -> None:
    group = '["PJSIP/{{ caller.number }}", "Local/{{ call.extension }}@internal"]'
    rig = rig_for(tmp_path, states().replace("[PJSIP/alice, PJSIP/bob]", group))
    start(rig, number="100@evil/x", exten="2&3")
    rig.answer_all()
    assert rig.sent() == [
        create("PJSIP/100_evil_x", ALICE),  # a caller cannot pick another context or device
        create("Local/2_3@internal", BOB),
    ]


def resume(rig: StepRig) -> None:
    """What a runner that was away does: each step asks Asterisk about what it waits for."""
    call = rig.runtime.calls["c1"]
    for running in list(call.running.values()):
        running.step.on_resume(rig.runtime.context(call, running))
    rig.runtime.pump(call)


def test_after_a_restore_each_callee_is_asked_about_and_one_that_answered_wins(
    tmp_path: Path,
) -> None:
    rig = ringing(tmp_path)
    resume(rig)
    assert rig.sent()[4:] == [f"GET channels/{ALICE}"]  # one request at a time
    rig.reply(200, {"id": ALICE, "state": "Ring"})
    assert rig.sent()[5:] == [f"GET channels/{BOB}"]
    rig.reply(200, {"id": BOB, "state": "Up"})  # bob answered while nobody listened
    rig.answer_all()
    assert rig.sent()[6:] == [hangup(ALICE), BRIDGE, add(BOB)]
    assert rig.state == "talking"


def test_after_a_restore_a_callee_gone_meanwhile_is_one_fewer(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    resume(rig)
    rig.reply(404)  # alice is gone
    rig.reply(200, {"id": BOB, "state": "Ring"})
    assert rig.state == "start"
    dial_event(rig, BOB, "BUSY")
    rig.answer_all()
    assert rig.state == "busy"  # alice went for no known cause (failed): busy is the news


def test_a_prompt_that_cannot_be_played_loses_that_callee_only(tmp_path: Path) -> None:
    rig = ringing(tmp_path, ACCEPT)
    dial_event(rig, ALICE, "ANSWER")
    rig.reply(500)  # alice's prompt
    rig.answer_all()
    assert rig.sent()[4:] == [prompt(ALICE, 1), hangup(ALICE)]
    assert rig.state == "start"
    dial_event(rig, BOB, "BUSY")
    rig.answer_all()
    assert rig.state == "busy"  # alice failed, bob was busy: busy is the news
    assert outcome(rig) == {"dialstatus": "BUSY", "endpoint": "PJSIP/bob", "index": 1}


def test_accept_with_no_settings_waits_10s_for_a_1_and_plays_nothing(tmp_path: Path) -> None:
    rig = ringing(tmp_path, ", accept: {}")
    dial_event(rig, ALICE, "ANSWER")
    rig.event("ChannelDtmfReceived", channel=ALICE, digit="2")
    rig.at(9.9)
    assert (rig.sent()[4:], rig.state) == ([], "start")
    rig.at(10.0)
    rig.answer_all()
    assert rig.sent()[4:] == [hangup(ALICE)]
    dial_event(rig, BOB, "ANSWER")
    rig.event("ChannelDtmfReceived", channel=BOB, digit="1")
    rig.answer_all()
    assert rig.sent()[5:] == [BRIDGE, add(BOB)]
