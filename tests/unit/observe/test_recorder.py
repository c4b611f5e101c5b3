"""The recorder: a call's ARI events as they came and the replies to its requests, without
what the call must keep to itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import write_file
from observed import EPOCH, OK, PIN, PRESSES, kinds, observed, pin_flow

from flowrunner.observe.callfiles import read_lines


def test_a_recording_starts_with_the_flow_version_then_the_stasis_start(tmp_path: Path) -> None:
    _, _, record = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    start, first = read_lines(record)[:2]
    assert start == {
        "t": EPOCH,
        "kind": "start",
        "channel": "sim-0001",
        "app": "pin",
        "version": start["version"],
        "flow": str(tmp_path / "pin.yaml"),
    }
    assert len(start["version"]) == 12
    assert first["event"]["type"] == "StasisStart"
    assert first["event"]["channel"]["caller"] == {"number": "100", "name": "Ada"}


def test_every_ari_request_is_recorded_with_its_status_and_time(tmp_path: Path) -> None:
    result, _, record = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    replies = [e for e in kinds(record, "reply") if "ari" in e]
    assert [(e["ari"]["action"], e["status"]) for e in replies] == [
        (s.action, s.status) for s in result.sent
    ]
    answered = [e["t"] - EPOCH for e in replies]  # the simulator answers at once
    assert answered == pytest.approx([s.at for s in result.sent], abs=1e-6)


def test_a_web_reply_is_kept_with_its_body_never_the_request_s(tmp_path: Path) -> None:
    _, _, record = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    (web,) = [e for e in kinds(record, "reply") if "web" in e]
    assert web["web"] == {"method": "POST", "url": "https://crm.test/pin"}
    assert (web["status"], web["body"], web["seconds"]) == (200, {"ok": True}, 0.3)


def test_hidden_keys_and_parameters_holding_call_data_are_not_kept(tmp_path: Path) -> None:
    _, _, record = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    keys = [e["event"]["digit"] for e in kinds(record, "event") if "digit" in e["event"]]
    assert keys == ["***"] * 4
    (variable,) = [
        e for e in kinds(record, "reply") if e.get("ari", {}).get("action") == "set_variable"
    ]
    assert variable["ari"]["params"] == {"variable": "PIN"}  # not its value
    text = record.read_text()
    for secret in (PIN, "s3cret", "t0k3n"):
        assert secret not in text


def test_the_hangup_sent_at_the_end_unanswered_is_recorded_too(tmp_path: Path) -> None:
    flow = write_file(
        tmp_path,
        "version: 1\napp: short\ninitial: hello\nstates:\n"
        "  hello: {do: [answer], then: done}\n  done: {final: true}\n",
        "short.yaml",
    )
    result, _, record = observed(flow, tmp_path, [])
    assert [s.action for s in result.sent] == ["answer", "hangup"]
    replies = [(e["ari"]["action"], e["ari"]["path"]) for e in kinds(record, "reply")]
    assert replies == [("answer", "channels/sim-0001/answer"), ("hangup", "channels/sim-0001")]
