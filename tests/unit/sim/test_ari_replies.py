"""A flow test gives the `ari` action's reply: its status and JSON body, by operation."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrunner.cli import main
from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.flow import load_flow
from flowrunner.sim.asterisk import AriReply
from flowrunner.sim.run import simulate

FLOW = """\
version: 1
app: h1-ari-replies
initial: ask
on: {StasisEnd: done}
states:
  ask:
    do:
      - ari:
          method: GET
          path: channels/{channelId}/variable
          params: {variable: ACCOUNT}
          into: account
    then: done
    on: {ActionFailed: failed}
  failed:
    do: [{set: {why: failed}}]
    then: done
  done:
    final: true
"""


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    path = tmp_path / "ask.yaml"
    path.write_text(FLOW)
    return path


def compiled(flow: Path) -> CompiledFlow:
    return compile_flow(load_flow(str(flow)))


def test_without_a_canned_reply_the_escape_hatch_gets_nothing(flow: Path) -> None:
    result = simulate(compiled(flow))
    assert (result.sent[0].status, result.vars["account"]) == (204, None)


def test_a_reply_by_operation_fits_whatever_the_values(flow: Path) -> None:
    reply = AriReply("channels/{channelId}/variable", "GET", json={"value": "42"}, operation=True)
    result = simulate(compiled(flow), ari_replies=[reply])
    assert (result.sent[0].status, result.vars["account"]) == (200, {"value": "42"})


def test_a_reply_by_path_fits_that_path_and_another_method_does_not(flow: Path) -> None:
    wrong = AriReply("channels/sim-0001/variable", "POST", json={"value": "1"})
    right = AriReply("channels/*/variable", json={"value": "2"})
    result = simulate(compiled(flow), ari_replies=[wrong, right])
    assert result.vars["account"] == {"value": "2"}


def test_a_failing_reply_is_the_action_failing(flow: Path) -> None:
    result = simulate(compiled(flow), ari_replies=[AriReply("channels/*", status=500)])
    assert (result.sent[0].status, result.vars.get("why")) == (500, "failed")


def test_a_flow_test_case_cans_the_reply(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tests = flow.with_name("ask.test.yaml")
    tests.write_text(
        "tests:\n"
        "  - name: the account is read\n"
        "    ari_replies:\n"
        "      - {method: GET, path: 'channels/{channelId}/variable', json: {value: '42'}}\n"
        "    expect:\n"
        "      actions:\n"
        "        - '0s ari': {method: GET, params: {variable: ACCOUNT}}\n"
        "        - 0s hangup\n"
        "      vars: {account: {value: '41'}}\n"
    )
    assert main(["test", str(tests)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "    vars.account: expected {value: '41'}, got {value: '42'}"
    tests.write_text(tests.read_text().replace("'41'", "'42'"))
    assert main(["test", str(tests)]) == 0
