"""Every request a step makes can be failed by name in a flow test (`ari: {NAME: STATUS}`),
and a name no step's request has is refused with a did-you-mean."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from flowrunner.cli import main
from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.flow import load_flow
from flowrunner.flowtest.cases import Case, load_test_file
from flowrunner.flowtest.runner import run_case
from flowrunner.sim.run import SimResult
from flowrunner.steps import request_names

REPO = Path(__file__).parents[3]

# The requests no shipped flow makes, in one call: every one-request action, the escape hatch,
# a recording stopped, then a way out of the app (LEAVE).
EVERY_REQUEST = """\
version: 1
app: h1-every-request
initial: a
on: {StasisEnd: done}
states:
  a:
    do:
      - answer
      - ring
      - ring_stop
      - start_silence
      - stop_silence
      - start_moh
      - stop_moh
      - hold
      - unhold
      - mute
      - unmute
      - send_dtmf: {dtmf: "1"}
      - set_variable: {variable: X, value: "1"}
      - get_variable: {variable: X, into: x}
      - ari: {method: GET, path: "channels/{channelId}"}
      - record: {name: msg, maxDurationSeconds: 5}
      - stop_recording
    then: b
  b:
    do: [LEAVE]
  done:
    final: true
"""
LEAVES = ("{redirect: {endpoint: PJSIP/elsewhere}}", "{move: {app: elsewhere}}")


def _calls(tmp_path: Path) -> list[tuple[CompiledFlow, Case]]:
    """Every shipped case, and a call of each synthetic flow."""
    calls = []
    for path in sorted((REPO / "flows").glob("*.test.yaml")):
        test_file = load_test_file(str(path))
        compiled = compile_flow(load_flow(test_file.flow_path))
        calls += [(compiled, case) for case in test_file.cases]
    for n, leave in enumerate(LEAVES):
        flow = tmp_path / f"every-{n}.yaml"
        flow.write_text(EVERY_REQUEST.replace("LEAVE", leave))
        tests = tmp_path / f"every-{n}.test.yaml"
        tests.write_text("tests:\n  - name: all\n    expect: {ended: true}\n")
        compiled = compile_flow(load_flow(str(flow)))
        calls += [(compiled, case) for case in load_test_file(str(tests)).cases]
    return calls


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[CompiledFlow, Case, SimResult]]:
    found = _calls(tmp_path_factory.mktemp("every"))
    return [(compiled, case, run_case(compiled, case).result) for compiled, case in found]


ARI_REQUESTS = sorted(request_names() - {"speech"})  # speech is the say's rendering


@pytest.mark.parametrize("name", ARI_REQUESTS)
def test_each_request_can_be_failed_by_name(
    name: str, calls: list[tuple[CompiledFlow, Case, SimResult]]
) -> None:
    making = [(c, case) for c, case, result in calls if any(s.action == name for s in result.sent)]
    assert making, f"no call makes a {name} request"
    compiled, case = making[0]
    failed = replace(case, failures={name: 503})
    sent = [s for s in run_case(compiled, failed).result.sent if s.action == name]
    assert sent[0].status == 503
    assert all(s.status != 503 for s in sent[1:])  # the first one only


def test_every_request_the_calls_make_has_a_name_a_test_can_fail(
    calls: list[tuple[CompiledFlow, Case, SimResult]],
) -> None:
    made = {s.action for _, _, result in calls for s in result.sent}
    assert made == set(ARI_REQUESTS)


def test_a_says_speech_can_be_failed(calls: list[tuple[CompiledFlow, Case, SimResult]]) -> None:
    compiled, case = next((c, case) for c, case, _ in calls if c.flow.app == "tts-greeting")
    result = run_case(compiled, replace(case, failures={"speech": 503})).result
    assert "say failed: speech failed: 503 simulated failure" in [
        h.message for h in result.timeline
    ]


def test_a_name_no_request_has_is_refused_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "every.yaml").write_text(EVERY_REQUEST.replace("LEAVE", LEAVES[0]))
    tests = tmp_path / "every.test.yaml"
    tests.write_text(
        "tests:\n  - name: x\n    ari: {stop_recordng: 500}\n    expect: {ended: true}\n"
    )
    assert main(["test", str(tests)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tests}:3:11: tests[0].ari.stop_recordng: no request is called 'stop_recordng'; "
        "did you mean 'stop_recording'?"
    )
