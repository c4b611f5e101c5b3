"""after_call: the flow's actions once the caller has gone, with the call's final variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.flow import FlowError, load_flow
from flowrunner.sim.asterisk import SimChannel
from flowrunner.sim.run import CallerStep, SimResult, simulate
from flowrunner.sim.web import CannedReply

SURVEY = """version: 1
app: survey
initial: ask
vars: {score: null}
on: {StasisEnd: ended}
states:
  ask:
    do:
      - answer
      - collect: {prompt: sound:rate-us, into: score, max_digits: 1, first_digit_timeout: 5s}
    on:
      DigitsCollected: thanks
      NoInput: thanks
  thanks:
    do: [{play: {media: sound:thanks}}]
    then: bye
  bye:
    do: [hangup]
  ended: {final: true}
after_call:
  do:
    - set: {summary: "{{ caller.number }} gave {{ default(score, 'nothing') }}"}
    - http:
        method: POST
        url: "http://crm.test/surveys?from={{ caller.number }}"
        body:
          summary: "{{ summary }}"
          state: "{{ call.last_state }}"
          why: "{{ call.end_reason }}"
          seconds: "{{ call.duration }}"
        timeout: 20s
        into: receipt
  within: {within}
"""


def survey(tmp_path: Path, within: str = "10s") -> CompiledFlow:
    path = tmp_path / "survey.yaml"
    path.write_text(SURVEY.replace("{within}", within))
    return compile_flow(load_flow(str(path)))


def run(
    compiled: CompiledFlow, caller: list[CallerStep], reply: CannedReply, **more: bool
) -> SimResult:
    channel = SimChannel(caller_number="+44 20&x=1")
    return simulate(compiled, caller, channel=channel, replies=[reply], **more)


def messages(result: SimResult) -> list[str]:
    return [h.message for h in result.timeline if h.kind in ("end", "action")]


def test_after_the_caller_hangs_up_the_summary_is_posted_with_the_final_variables(
    tmp_path: Path,
) -> None:
    reply = CannedReply("http://crm.test/*", json={"id": 7}, after=0.5)
    result = run(survey(tmp_path), [CallerStep(2.0, "dtmf", "4"), CallerStep(2.5, "hangup")], reply)
    (posted,) = result.web
    assert (posted.at, posted.request.method) == (2.5, "POST")
    assert posted.request.url == "http://crm.test/surveys?from=%2B44%2020%26x%3D1"  # escaped
    assert posted.request.body == {
        "summary": "+44 20&x=1 gave 4",
        "state": "thanks",  # where the caller hung up
        "why": "caller hung up",
        "seconds": 2.5,
    }
    assert result.vars["receipt"] == {"id": 7}  # its reply, after the call
    assert messages(result)[-4:] == [
        "call ended after 2.500s in ended: flow finished",
        "set summary",
        "http POST http://crm.test/surveys: 200",
        "after the call: done in 0.500s",
    ]
    assert result.ended
    assert result.duration == 3.0


def test_after_call_runs_when_the_flow_ends_the_call_too(tmp_path: Path) -> None:
    reply = CannedReply("*", json={})
    result = run(survey(tmp_path), [], reply)  # no key: NoInput, thanks, bye, hung up
    (posted,) = result.web
    assert posted.request.body["summary"] == "+44 20&x=1 gave nothing"
    assert (posted.request.body["state"], posted.request.body["why"]) == ("bye", "flow ended it")


def test_after_call_is_cut_off_at_its_bound(tmp_path: Path) -> None:
    never = CannedReply("*", timeout=True)
    result = run(survey(tmp_path, "1s"), [CallerStep(1.0, "hangup")], never)
    assert messages(result)[-3:] == [
        "call ended after 1.000s in ended: flow finished",
        "set summary",
        "after the call: cut off after 1.000s: http not done",
    ]
    assert result.duration == 2.0
    warnings = [h for h in result.timeline if h.fields.get("level") == "warning"]
    assert [h.message for h in warnings] == ["after the call: cut off after 1.000s: http not done"]


def test_the_after_call_phase_is_data_like_the_rest_of_the_call(tmp_path: Path) -> None:
    reply = CannedReply("*", json={"id": 7}, after=0.5)
    caller = [CallerStep(2.0, "dtmf", "4"), CallerStep(2.5, "hangup")]
    plain = run(survey(tmp_path), caller, reply)
    reloaded = run(survey(tmp_path), caller, reply, reload=True)
    assert messages(reloaded) == messages(plain)
    assert reloaded.vars == plain.vars


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("answer", "expected a mapping, got text"),  # a bare name: set and http need parameters
        ("{play: {media: sound:x}}", "unknown key 'play'; expected one of: http, set"),
    ],
)
def test_after_call_runs_no_action_that_needs_the_channel(
    tmp_path: Path, action: str, message: str
) -> None:
    path = tmp_path / "flow.yaml"
    text = SURVEY.replace("{within}", "10s").replace(
        "  do:\n    - set:", f"  do:\n    - {action}\n    - set:"
    )
    path.write_text(text)
    with pytest.raises(FlowError) as caught:
        load_flow(str(path))
    assert [p.message for p in caught.value.problems] == [message]


def test_after_call_starts_afresh_when_the_caller_leaves_mid_state(tmp_path: Path) -> None:
    """Hung up while the state still had actions to send, and one in flight: after_call runs
    its own actions, not the state's."""
    path = tmp_path / "flow.yaml"
    path.write_text(
        "version: 1\napp: demo\ninitial: start\nstates:\n"  # StasisEnd leads nowhere
        "  start:\n    do: [answer, {wait: {for: 2s}}, ring, {play: {media: sound:a}}, hangup]\n"
        "    after: {10s: ended}\n  ended: {final: true}\n"
        "after_call:\n  do:\n    - set: {done: yes}\n    - http: {url: 'http://crm.test/x'}\n"
    )
    compiled = compile_flow(load_flow(str(path)))
    result = simulate(compiled, [CallerStep(1.0, "hangup")], replies=[CannedReply("*")])
    assert [s.action for s in result.sent] == ["answer"]  # ring, play, hangup: never sent
    assert [web.request.url for web in result.web] == ["http://crm.test/x"]
    assert result.vars["done"] == "yes"
