"""The engine behind the new steps (set, collect, dial, http, record, get_variable, ari) and
the language around them (templates, `when` guards, loop guards), on a fake transport, a fake
web client and a virtual clock. Requests are answered by hand, so every line sent is asserted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeTransport, Journal, Rig

from flowrunner.engine.machine import compile_flow
from flowrunner.engine.runtime import Runtime
from flowrunner.flow import load_flow
from flowrunner.flow.model import CALL_KEYS
from flowrunner.ports import Done, Request, Response, WebRequest
from flowrunner.sim.clock import VirtualClock

HEAD = "version: 1\napp: channel-state\ninitial: start\non: {StasisEnd: ended}\nstates:\n"
END = "  ended: {final: true}\n"


@dataclass
class FakeWeb:
    """Keeps web requests until the test answers them."""

    waiting: list[tuple[WebRequest, Done]] = field(default_factory=list)
    sent: list[WebRequest] = field(default_factory=list)

    def submit(self, request: WebRequest, done: Done) -> None:
        self.sent.append(request)
        self.waiting.append((request, done))


@dataclass
class StepRig(Rig):
    web: FakeWeb = field(default_factory=FakeWeb)

    def post(self, **event: Any) -> None:
        """An event exactly as given (the rig's `event` always adds channel c1)."""
        self.runtime.post(event)
        self.runtime.drain()

    def reply(self, status: int = 204, body: Any = None) -> Request:
        """Answer the oldest waiting ARI request."""
        request, done = self.transport.waiting.pop(0)
        done(Response(status, body))
        self.runtime.drain()
        return request

    def web_reply(self, status: int, body: Any = None) -> None:
        _, done = self.web.waiting.pop(0)
        done(Response(status, body))
        self.runtime.drain()

    def sent(self) -> list[str]:
        """`METHOD path?key=value&…` for every request sent, in order, params unencoded."""
        lines = []
        for r in self.transport.sent:
            query = "&".join(f"{key}={value}" for key, value in r.params.items())
            lines.append(f"{r.method} {r.path}" + (f"?{query}" if query else ""))
        return lines

    def transitions(self) -> list[str]:
        return self.journal.messages("transition")

    @property
    def state(self) -> str:
        return self.runtime.calls["c1"].current

    @property
    def vars(self) -> dict[str, Any]:
        return self.runtime.calls["c1"].vars

    @property
    def ended(self) -> bool:
        return "c1" not in self.runtime.calls

    def levels(self, kind: str) -> list[tuple[str, str]]:
        return [(m, f.get("level", "")) for _, k, m, f in self.journal.records if k == kind]


def rig_for(tmp_path: Path, states: str, head: str = HEAD) -> StepRig:
    path = tmp_path / "flow.yaml"
    path.write_text(head + states + END)
    transport, clock, journal, web = FakeTransport(), VirtualClock(), Journal(), FakeWeb()
    runtime = Runtime([compile_flow(load_flow(str(path)))], transport, clock, journal, web)
    return StepRig(runtime, transport, clock, journal, web)


def started(rig: StepRig) -> str:
    """The journal's line for the call's start: it names the flow version the call runs."""
    version = rig.runtime.flows["channel-state"].flow.version
    return f"entered channel-state (caller -, extension -; version {version})"


def with_vars(text: str) -> str:
    return HEAD.replace("states:\n", f"vars: {text}\nstates:\n")


def start(rig: StepRig, number: str = "100", exten: str = "200") -> None:
    rig.post(
        type="StasisStart",
        application="channel-state",
        args=[],
        channel={
            "id": "c1",
            "name": "PJSIP/c1",
            "state": "Ring",
            "caller": {"number": number, "name": "Alice"},
            "dialplan": {"context": "default", "exten": exten, "priority": 1},
        },
    )


# -- set, templates and guards -------------------------------------------------------------

SET = """  start:
    do:
      - {set: {n: "{{ n + 1 }}"}}
      - {set: {n: "{{ n + 1 }}"}}
      - {play: {media: "sound:{{ n }}-{{ caller.number }}-{{ call.extension }}"}}
"""


def test_set_keeps_the_type_and_later_actions_render_the_variables(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, SET, with_vars("{n: 0}"))
    start(rig)
    assert rig.vars == {"n": 2}
    assert rig.sent() == ["POST channels/c1/play/c1-play-1?media=sound:2-100-200"]
    assert rig.journal.messages("action") == ["set n", "set n"]  # names, never values


def test_the_call_data_has_the_keys_the_loader_allows(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, SET, with_vars("{n: 0}"))
    start(rig)
    call = rig.runtime.calls["c1"]
    scope = call.scope()
    call_data = {root: keys for root, keys in CALL_KEYS.items() if root != "now"}
    after_call = {"end_reason", "duration", "last_state"}  # once the caller has gone
    assert {root: frozenset(scope[root]) for root in call_data} == call_data | {
        "call": call_data["call"] - after_call
    }
    assert "now" not in scope  # only a flow that reads the time gets it
    assert scope["call"]["extension"] == "200"


GUARDS = """  start:
    on:
      ChannelDtmfReceived:
        - {goto: vip, when: "caller.number in vips"}
        - {goto: star, when: "event.digit == '*'"}
        - {goto: other}
  vip: {}
  star: {}
  other: {}
"""


@pytest.mark.parametrize(
    ("number", "digit", "state"),
    [("100", "1", "vip"), ("555", "*", "star"), ("555", "1", "other"), ("100", "*", "vip")],
)
def test_when_guards_choose_by_variables_and_event_fields(
    tmp_path: Path, number: str, digit: str, state: str
) -> None:
    rig = rig_for(tmp_path, GUARDS, with_vars("{vips: ['100']}"))
    start(rig, number=number)
    rig.event("ChannelDtmfReceived", digit=digit)
    assert rig.state == state


# -- collect -------------------------------------------------------------------------------

COLLECT = """  start:
    do:
      - collect:
          into: pin
          prompt: sound:enter
          retry_prompt: sound:again
          max_digits: 3
          first_digit_timeout: 5s
          inter_digit_timeout: 2s
          retries: 1
          VALID
    on:
      DigitsCollected: got
      NoInput: silent
      NoMatch: wrong
      ChannelDtmfReceived: keyed
      ChannelHold: away
  got: {}
  silent: {}
  wrong: {}
  keyed: {}
  away: {on: {ChannelDtmfReceived: keyed}}
"""
PROMPT = "POST channels/c1/play/c1-play-1?media=sound:enter"
RETRY = "POST channels/c1/play/c1-play-2?media=sound:again,sound:enter"


def collect_rig(tmp_path: Path, valid: str = "") -> StepRig:
    rig = rig_for(tmp_path, COLLECT.replace("VALID", valid))
    rig.event("StasisStart")
    return rig


def keys(rig: StepRig, digits: str) -> None:
    for digit in digits:
        rig.event("ChannelDtmfReceived", digit=digit)


def test_collect_plays_the_prompt_and_waits_for_it_before_the_first_digit_timer(
    tmp_path: Path,
) -> None:
    rig = collect_rig(tmp_path)
    assert rig.sent() == [PROMPT]
    rig.reply(201)
    rig.at(30.0)  # far past first_digit_timeout: the prompt is still playing
    assert (rig.state, len(rig.sent())) == ("start", 1)
    rig.event("PlaybackFinished", playback={"id": "c1-play-1"})
    rig.at(34.999)
    assert rig.journal.messages("action") == ["play ok"]
    rig.at(35.0)
    assert rig.journal.messages("action")[-1] == "collect: no input, retrying"
    assert rig.sent() == [PROMPT, RETRY]


def test_a_key_stops_the_prompt_and_max_digits_completes_the_entry(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path)
    rig.reply(201)
    keys(rig, "1")
    assert rig.sent() == [PROMPT, "DELETE playbacks/c1-play-1"]
    keys(rig, "23")
    assert (rig.state, rig.vars["pin"]) == ("got", "123")
    assert rig.transitions() == [
        "(start) -> start (StasisStart)",
        "start -> got (digits collected)",
    ]


def test_the_terminator_ends_the_entry_early_and_is_not_kept(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path)
    rig.reply(201)
    keys(rig, "4#")
    assert (rig.state, rig.vars["pin"]) == ("got", "4")


def test_the_inter_digit_timeout_ends_the_entry_with_the_digits_so_far(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path)
    rig.reply(201)
    rig.at(1.0)
    keys(rig, "12")
    rig.at(2.999)
    assert rig.state == "start"
    rig.at(3.0)
    assert (rig.state, rig.vars["pin"]) == ("got", "12")


def test_no_key_retries_with_the_retry_prompt_then_no_input(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path)
    rig.reply(201)
    rig.event("PlaybackFinished", playback={"id": "c1-play-1"})
    rig.at(5.0)
    rig.reply(201)
    assert rig.sent() == [PROMPT, RETRY]
    rig.event("PlaybackFinished", playback={"id": "c1-play-2"})
    rig.at(9.999)
    assert rig.state == "start"
    rig.at(10.0)
    assert (rig.state, rig.vars["pin"]) == ("silent", "")
    assert rig.transitions()[-1] == "start -> silent (no input)"


@pytest.mark.parametrize("valid", ["valid: ['123', '456']", "valid: '[1-4]{3}'"])
def test_an_invalid_entry_is_no_match_after_the_retries(tmp_path: Path, valid: str) -> None:
    rig = collect_rig(tmp_path, valid)
    rig.reply(201)
    keys(rig, "999")
    assert rig.state == "start"
    assert rig.journal.messages("action")[-1] == "collect: no match, retrying"
    rig.answer_all()  # the stop of the first prompt, then the retry prompt
    assert rig.sent()[-1] == RETRY
    keys(rig, "998")
    assert (rig.state, rig.vars["pin"]) == ("wrong", "998")


def test_a_secret_entry_stays_out_of_the_logs(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path, "secret: true")
    rig.reply(201)
    keys(rig, "4")
    keys(rig, "7")
    keys(rig, "1")
    assert (rig.state, rig.vars["pin"]) == ("got", "471")  # the flow has it
    logged = " ".join(f"{message} {fields}" for _, _, message, fields in rig.journal.records)
    assert "471" not in logged
    assert not re.search(r"\(digit \w\)", logged)  # a key press's line names no key either
    assert rig.journal.messages("event").count("event ChannelDtmfReceived (a key, hidden)") == 3
    assert "collect: digits collected 3 key(s), hidden" in rig.journal.messages("action")


def test_valid_entries_may_come_from_variables(tmp_path: Path) -> None:
    flow = COLLECT.replace("VALID", "valid: ['{{ secret }}']")
    rig = rig_for(tmp_path, flow, with_vars("{secret: '321'}"))
    rig.event("StasisStart")
    rig.reply(201)
    keys(rig, "123")
    assert rig.state == "start"  # no match: retrying
    rig.answer_all()
    keys(rig, "321")
    assert (rig.state, rig.vars["pin"]) == ("got", "321")


@pytest.mark.parametrize("valid", ["valid: ['123', '456']", "valid: '[1-4]{3}'"])
def test_a_valid_entry_is_collected(tmp_path: Path, valid: str) -> None:
    rig = collect_rig(tmp_path, valid)
    rig.reply(201)
    keys(rig, "123")
    assert (rig.state, rig.vars["pin"]) == ("got", "123")


def test_keys_while_collecting_do_not_fire_the_states_dtmf_transitions(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path)
    rig.reply(201)
    keys(rig, "1")
    assert rig.state == "start"  # not `keyed`


def test_leaving_the_state_cancels_the_collect(tmp_path: Path) -> None:
    rig = collect_rig(tmp_path)
    rig.reply(201)
    rig.event("PlaybackFinished", playback={"id": "c1-play-1"})
    rig.at(1.0)
    keys(rig, "1")  # the inter-digit timer now runs to 3s
    rig.at(2.0)
    rig.event("ChannelHold")
    assert rig.state == "away"
    rig.at(60.0)  # every collect timer went stale with the state
    assert rig.state == "away"
    keys(rig, "5")  # a key is no longer collected: the state's transition fires
    assert rig.state == "keyed"
    assert "pin" not in rig.vars


# -- unhandled failure outcomes ------------------------------------------------------------

SILENT = """  start:
    do: [{collect: {into: pin, retries: 0, first_digit_timeout: 1s}}]
    on: {DigitsCollected: got}
  got: {}
"""


def test_an_unhandled_outcome_goes_to_the_action_failed_handler(tmp_path: Path) -> None:
    rig = rig_for(
        tmp_path, SILENT + "  sorry: {}\n", HEAD.replace("ended}", "ended, ActionFailed: sorry}")
    )
    rig.event("StasisStart")
    rig.at(1.0)
    assert rig.state == "sorry"
    assert rig.levels("error") == [("collect failed: NoInput", "warning")]


def test_an_unhandled_outcome_without_a_handler_hangs_up_at_warning(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, SILENT)
    rig.event("StasisStart")
    rig.at(1.0)
    assert rig.ended
    assert rig.sent() == ["DELETE channels/c1"]
    assert rig.levels("error") == [("collect failed: NoInput", "warning")]
    assert rig.levels("end") == [("call ended after 1.000s in start: collect failed", "info")]


# -- dial ----------------------------------------------------------------------------------

DIAL = """  start:
    do: [{dial: {endpoint: PJSIP/alice, timeout: 20s}}]
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
CREATE = (
    "POST channels/create?endpoint=PJSIP/alice&app=channel-state"
    "&appArgs=flowrunner-dial,c1&channelId=c1-dial-1&originator=c1"
)
DIAL_START = "POST channels/c1-dial-1/dial?timeout=20&caller=c1"
BRIDGE = "POST bridges?type=mixing&bridgeId=c1-bridge-1"
ADD = "POST bridges/c1-bridge-1/addChannel?channel=c1,c1-dial-1"
CALLEE = "c1-dial-1"


def callee(rig: StepRig, kind: str, **fields: Any) -> None:
    rig.event(kind, channel=CALLEE, **fields)


def dial_event(rig: StepRig, status: str) -> None:
    rig.post(type="Dial", peer={"id": CALLEE}, dialstatus=status)


def ringing(tmp_path: Path, states: str = DIAL) -> StepRig:
    """A call whose callee was created, entered the app and is being dialled."""
    rig = rig_for(tmp_path, states)
    rig.event("StasisStart")
    assert rig.sent() == [CREATE]
    rig.reply(200)
    assert rig.sent() == [CREATE]  # nothing until the callee is in the app
    callee(rig, "StasisStart", args=["flowrunner-dial", "c1"])
    assert rig.sent() == [CREATE, DIAL_START]
    rig.reply(204)
    dial_event(rig, "RINGING")
    return rig


def test_dial_answered_bridges_the_two_channels(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, "ANSWER")
    assert rig.sent()[2:] == [BRIDGE]
    rig.reply(200)
    assert rig.sent()[2:] == [BRIDGE, ADD]
    assert rig.state == "start"
    rig.reply(204)
    assert rig.state == "talking"
    assert rig.transitions()[-1] == "start -> talking (dial answered)"


def test_a_bridge_that_cannot_be_made_is_a_failed_dial_and_both_go(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, "ANSWER")
    rig.reply(200)  # the bridge is made
    rig.reply(500)  # adding the channels is not
    assert rig.state == "failed"
    rig.answer_all()  # the clean-up, one request at a time
    assert rig.sent()[2:] == [
        BRIDGE,
        ADD,
        "DELETE bridges/c1-bridge-1",
        "DELETE channels/c1-dial-1",
    ]
    callee(rig, "StasisEnd")
    callee(rig, "ChannelDestroyed", cause=16)
    assert rig.state == "failed"  # no CalleeHungUp after the outcome: it was DialFailed


def test_the_callees_stasis_start_starts_no_flow(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    assert list(rig.runtime.calls) == ["c1"]
    assert rig.journal.messages("start") == [started(rig)]


def test_dial_busy_hangs_up_the_callee(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    dial_event(rig, "BUSY")
    assert rig.sent()[2:] == ["DELETE channels/c1-dial-1"]
    assert rig.state == "busy"


def test_a_dial_timeout_is_no_answer_once_the_callee_is_destroyed(tmp_path: Path) -> None:
    # What Asterisk 22.10 sends when its dial timeout expires: no final Dial event, a soft
    # hangup request (cause 32), StasisEnd, then ChannelDestroyed with the real cause (19).
    rig = ringing(tmp_path)
    callee(rig, "ChannelHangupRequest", cause=32, soft=True)
    callee(rig, "StasisEnd")
    assert rig.state == "start"  # still dialling: why it left is not known yet
    callee(rig, "ChannelDestroyed", cause=19, cause_txt="User alerting, no answer")
    assert rig.state == "unanswered"
    assert rig.sent()[2:] == []  # it is gone already


def test_a_callee_destroyed_for_another_cause_is_a_failed_dial(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    callee(rig, "StasisEnd")
    callee(rig, "ChannelDestroyed", cause=34)
    assert rig.transitions()[-1].endswith("(dial failed)")


def answered(tmp_path: Path, states: str = DIAL) -> StepRig:
    rig = ringing(tmp_path, states)
    dial_event(rig, "ANSWER")
    rig.reply(200)
    rig.reply(204)
    assert rig.state == "talking"
    return rig


def test_the_callee_hanging_up_after_the_answer_destroys_the_bridge(tmp_path: Path) -> None:
    rig = answered(
        tmp_path,
        DIAL.replace("talking: {}", "talking: {on: {CalleeHungUp: alone}}") + "  alone: {}\n",
    )
    callee(rig, "StasisEnd")
    assert rig.sent()[4:] == ["DELETE bridges/c1-bridge-1"]
    assert rig.state == "alone"


def test_an_unhandled_callee_hangup_hangs_up_the_caller(tmp_path: Path) -> None:
    rig = answered(tmp_path)
    callee(rig, "StasisEnd")
    rig.answer_all()
    assert rig.sent()[4:] == ["DELETE bridges/c1-bridge-1", "DELETE channels/c1"]


def test_the_caller_leaving_while_bridged_tears_everything_down(tmp_path: Path) -> None:
    rig = answered(tmp_path)
    rig.event("StasisEnd")
    assert rig.ended
    assert rig.sent()[4:] == ["DELETE bridges/c1-bridge-1", "DELETE channels/c1-dial-1"]


def test_the_caller_leaving_while_it_rings_hangs_up_the_callee(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    rig.event("StasisEnd")
    assert rig.ended
    assert rig.sent()[2:] == ["DELETE channels/c1-dial-1"]


def test_the_caller_leaving_while_the_callee_is_being_created_hangs_it_up(
    tmp_path: Path,
) -> None:
    rig = rig_for(tmp_path, DIAL)
    rig.event("StasisStart")
    rig.event("StasisEnd")  # channels/create not answered yet
    rig.answer_all()
    assert rig.ended
    assert rig.sent() == [CREATE, "DELETE channels/c1-dial-1"]


def test_leaving_the_dialling_state_before_an_answer_hangs_up_the_callee(tmp_path: Path) -> None:
    rig = ringing(tmp_path)
    rig.event("ChannelDtmfReceived", digit="*")
    assert rig.state == "gave_up"
    assert rig.sent()[2:] == ["DELETE channels/c1-dial-1"]
    dial_event(rig, "ANSWER")  # too late: the callee is no longer ours
    rig.answer_all()
    assert (rig.state, rig.sent()[2:]) == ("gave_up", ["DELETE channels/c1-dial-1"])


def test_a_failed_channel_create_is_dial_failed(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, DIAL)
    rig.event("StasisStart")
    rig.reply(500)
    assert rig.state == "failed"
    assert rig.sent() == [CREATE, "DELETE channels/c1-dial-1"]


# -- http ----------------------------------------------------------------------------------

HTTP = """  start:
    do:
      - http:
          url: "https://api.test/who/{{ caller.number }}?key=s3cret"
          method: POST
          headers: {Authorization: "Bearer {{ token }}"}
          body: {caller: "{{ caller.number }}", n: "{{ n }}", tags: [a, "{{ token }}"]}
          timeout: 2s
          into: reply
      - {play: {media: sound:wait}}
    on:
      HttpSucceeded: ok
      HttpFailed:
        - {goto: missing, when: "event.status == 404 or event.status == 500"}
        - {goto: broken}
      HttpTimedOut: slow
      ChannelDtmfReceived: {digit: "0", goto: left}
      PlaybackFinished: played
  ok: {}
  missing: {}
  broken: {}
  slow: {}
  left: {}
  played: {}
"""
# The flow-wide HttpSucceeded would take a reply that reached a state left since.
HTTP_HEAD = with_vars("{token: t0k3n, n: 7}").replace("ended}", "ended, HttpSucceeded: ok}")


def http_rig(tmp_path: Path) -> StepRig:
    rig = rig_for(tmp_path, HTTP, HTTP_HEAD)
    start(rig)
    return rig


def test_http_builds_its_request_from_rendered_parameters(tmp_path: Path) -> None:
    rig = http_rig(tmp_path)
    assert rig.web.sent == [
        WebRequest(
            "POST",
            "https://api.test/who/100?key=s3cret",
            {"Authorization": "Bearer t0k3n"},
            {"caller": "100", "n": 7, "tags": ["a", "t0k3n"]},
            2.0,
        )
    ]


def test_the_call_goes_on_while_the_request_is_in_flight(tmp_path: Path) -> None:
    rig = http_rig(tmp_path)
    assert rig.sent() == ["POST channels/c1/play/c1-play-1?media=sound:wait"]
    rig.reply(201)
    rig.event("ChannelStateChange")  # another event, handled meanwhile
    assert rig.journal.messages("event")[-1] == "event ChannelStateChange (Ring)"
    rig.web_reply(200, {"tier": "gold"})
    assert (rig.state, rig.vars["reply"]) == ("ok", {"tier": "gold"})


@pytest.mark.parametrize(("status", "state"), [(500, "missing"), (403, "broken")])
def test_a_failure_status_is_usable_in_a_guard(tmp_path: Path, status: int, state: str) -> None:
    rig = http_rig(tmp_path)
    rig.web_reply(status, {"error": "x"})
    assert rig.state == state
    assert rig.transitions()[-1] == f"start -> {state} (http failed)"


def test_no_reply_in_time_is_http_timed_out_and_a_late_reply_is_ignored(tmp_path: Path) -> None:
    rig = http_rig(tmp_path)
    rig.at(1.999)
    assert rig.state == "start"
    rig.at(2.0)
    assert rig.state == "slow"
    rig.web_reply(200, {"tier": "gold"})
    assert rig.state == "slow"
    assert "reply" not in rig.vars


def test_a_reply_after_the_state_was_left_is_ignored(tmp_path: Path) -> None:
    rig = http_rig(tmp_path)
    rig.event("ChannelDtmfReceived", digit="0")
    assert rig.state == "left"
    rig.web_reply(200, {"tier": "gold"})
    rig.at(5.0)  # nor does its timeout fire
    assert rig.state == "left"
    assert "reply" not in rig.vars


def test_a_reply_after_leaving_for_a_state_that_handles_it_is_still_ignored(
    tmp_path: Path,
) -> None:
    rig = http_rig(tmp_path)
    rig.reply(201)
    rig.event("PlaybackFinished", playback={"id": "c1-play-1"})
    assert rig.state == "played"
    rig.web_reply(200, {"tier": "gold"})
    assert rig.state == "played"


def test_the_journal_never_holds_header_values_or_the_query_string(tmp_path: Path) -> None:
    rig = http_rig(tmp_path)
    rig.web_reply(200, {"tier": "gold"})
    assert "http POST https://api.test/who/100: 200" in rig.journal.messages("action")
    text = repr(rig.journal.records)
    assert "t0k3n" not in text
    assert "s3cret" not in text


# -- record --------------------------------------------------------------------------------

RECORD = """  start:
    do: [{record: {name: "vm-{{ caller.number }}"}}]
    after: {5s: done}
    on: {ActionFailed: done}
  done: {}
"""


def test_record_renders_its_name_and_defaults_to_wav(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, RECORD)
    start(rig)
    assert rig.sent() == ["POST channels/c1/record?name=vm-100&format=wav"]


def test_leaving_the_state_stops_the_live_recording(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, RECORD)
    start(rig)
    rig.reply(201)
    rig.at(5.0)
    assert rig.sent()[1:] == ["POST recordings/live/vm-100/stop"]


def test_a_failed_record_leaves_nothing_to_stop(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, RECORD)
    start(rig)
    rig.reply(409)
    rig.at(5.0)
    assert rig.state == "done"
    assert rig.sent() == ["POST channels/c1/record?name=vm-100&format=wav"]


# -- get_variable --------------------------------------------------------------------------

GET = """  start:
    do:
      - {get_variable: {variable: ACCOUNT, into: account}}
      - {play: {media: "sound:{{ account }}"}}
"""


def test_get_variable_keeps_the_value(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, GET)
    rig.event("StasisStart")
    assert rig.sent() == ["GET channels/c1/variable?variable=ACCOUNT"]
    rig.reply(200, {"value": "42"})
    assert rig.vars["account"] == "42"
    assert rig.sent()[-1] == "POST channels/c1/play/c1-play-1?media=sound:42"


def test_get_variable_of_a_missing_variable_is_none_and_the_call_goes_on(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, GET)
    rig.event("StasisStart")
    rig.reply(404)
    assert not rig.ended
    assert rig.vars["account"] is None
    assert rig.sent()[-1] == "POST channels/c1/play/c1-play-1?media=sound:"


# -- loop guards ---------------------------------------------------------------------------

LOOP = """  start: {max_visits: 2, after: {1s: pong}}
  pong: {after: {1s: start}}
  limited: {after: {1s: start}}
"""


def loop(tmp_path: Path, states: str, head: str) -> StepRig:
    rig = rig_for(tmp_path, states, head)
    rig.event("StasisStart")
    for second in range(1, 30):
        rig.at(float(second))
    return rig


def test_max_visits_raises_limit_reached_once_then_ends_the_call(tmp_path: Path) -> None:
    head = HEAD.replace("ended}", "ended, LimitReached: {limit: max_visits, goto: limited}}")
    rig = loop(tmp_path, LOOP, head)
    assert rig.ended
    assert rig.levels("error") == [
        ("loop guard: entered start more than 2 times", "warning"),
        ("loop guard: entered start more than 2 times", "error"),
    ]
    assert rig.transitions().count("start -> limited (max_visits reached)") == 1
    assert rig.sent() == ["DELETE channels/c1"]
    assert rig.levels("end")[0][1] == "error"


def test_max_steps_raises_limit_reached_once_then_ends_the_call(tmp_path: Path) -> None:
    states = LOOP.replace("max_visits: 2, ", "")
    head = HEAD.replace(
        "ended}\n",
        "ended, LimitReached: {limit: max_steps, goto: limited}}\nlimits: {max_steps: 4}\n",
    )
    rig = loop(tmp_path, states, head)
    assert rig.ended
    assert rig.levels("error") == [
        ("loop guard: more than 4 state changes", "warning"),
        ("loop guard: more than 4 state changes", "error"),
    ]
    assert sum("(max_steps reached)" in t for t in rig.transitions()) == 1
    assert rig.sent() == ["DELETE channels/c1"]


# -- the ari escape hatch ------------------------------------------------------------------

ARI = """  start:
    do:
      - ari:
          method: POST
          path: "channels/{channelId}/variable"
          params: {variable: WHO, value: "{{ caller.number }}"}
      - {ari: {method: GET, path: "channels/{channelId}", into: channel}}
"""


def test_the_escape_hatch_fills_the_channel_sends_params_and_keeps_the_reply(
    tmp_path: Path,
) -> None:
    rig = rig_for(tmp_path, ARI)
    start(rig)
    rig.reply(204)
    rig.reply(200, {"id": "c1", "state": "Up"})
    assert rig.sent() == ["POST channels/c1/variable?variable=WHO&value=100", "GET channels/c1"]
    assert rig.vars["channel"] == {"id": "c1", "state": "Up"}


def test_a_404_from_the_escape_hatch_does_not_abandon_the_channel(tmp_path: Path) -> None:
    states = """  start:
    do:
      - {ari: {method: GET, path: "channels/{channelId}/variable", params: {variable: X}}}
      - {play: {media: sound:next}}
    on: {ActionFailed: sorry}
  sorry: {}
"""
    rig = rig_for(tmp_path, states)
    rig.event("StasisStart")
    rig.reply(404)
    assert not rig.ended
    assert (
        rig.state == "sorry" or rig.sent()[-1] == "POST channels/c1/play/c1-play-1?media=sound:next"
    )


# -- two dials in a row (bug B1) -----------------------------------------------------------

TWO_DIALS = """  start:
    do: [{dial: {endpoint: PJSIP/alice, timeout: 20s}}]
    on: {DialAnswered: talking, DialBusy: second, DialNoAnswer: second, DialFailed: second}
  second:
    do: [{dial: {endpoint: PJSIP/bob, timeout: 20s}}]
    on: {DialAnswered: talking, DialBusy: failed, DialNoAnswer: failed, DialFailed: failed}
  talking: {}
  failed: {}
"""


@pytest.mark.parametrize("first", ["busy", "dial_start fails"])
def test_a_second_dial_after_a_busy_or_failed_one_is_not_taken_for_the_first(
    tmp_path: Path, first: str
) -> None:
    rig = rig_for(tmp_path, TWO_DIALS)
    rig.event("StasisStart")
    rig.reply(200)  # the first callee is created
    callee(rig, "StasisStart", args=["flowrunner-dial", "c1"])
    if first == "busy":
        rig.reply(204)
        dial_event(rig, "BUSY")
    else:
        rig.reply(500)  # its dial is refused: DialFailed
    assert rig.state == "second"
    rig.reply(204)  # the first callee is hung up ...
    # ... and goes, after the second dial began: none of this is about the second callee
    callee(rig, "ChannelHangupRequest", cause=16)
    callee(rig, "StasisEnd")
    callee(rig, "ChannelDestroyed", cause=16)
    assert rig.state == "second"
    rig.reply(200)  # the second callee is created
    rig.event("StasisStart", channel="c1-dial-2", args=["flowrunner-dial", "c1"])
    rig.reply(204)
    rig.post(type="Dial", peer={"id": "c1-dial-2"}, dialstatus="ANSWER")
    rig.reply(200)
    rig.reply(204)
    assert rig.state == "talking"
    assert rig.sent()[-3:] == [
        "POST channels/c1-dial-2/dial?timeout=20&caller=c1",
        "POST bridges?type=mixing&bridgeId=c1-bridge-2",
        "POST bridges/c1-bridge-2/addChannel?channel=c1,c1-dial-2",
    ]
    assert rig.journal.messages("start") == [started(rig)]


def test_a_callee_channel_whose_call_is_over_never_starts_a_call(tmp_path: Path) -> None:
    rig = rig_for(tmp_path, DIAL)
    rig.event("StasisStart")
    rig.event("StasisEnd")  # the caller leaves while its callee is being created
    rig.answer_all()
    rig.event("StasisStart", channel="c1-dial-1", args=["flowrunner-dial", "c1"])
    assert rig.runtime.calls == {}
    assert rig.journal.messages("start") == [started(rig)]
