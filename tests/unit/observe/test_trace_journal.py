"""The trace journal: every record of a call in its file, with the time; secrets stay masked."""

from __future__ import annotations

import time
from pathlib import Path

from observed import EPOCH, OK, PIN, PRESSES, kinds, observed, pin_flow

from flowrunner.observe.callfiles import HOLD_FOR, CallFiles, read_lines
from flowrunner.observe.trace import TraceJournal


def test_a_trace_has_every_transition_with_the_guard_that_held(tmp_path: Path) -> None:
    result, trace, _ = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    moves = [(e["source"], e["target"], e.get("guard", "")) for e in kinds(trace, "transition")]
    assert moves == [
        ("", "ask", ""),
        ("ask", "check", ""),
        ("check", "bye", "reply.ok == true"),
        ("bye", "done", ""),
        ("done", "ended", ""),
    ]
    simulated = [h.message for h in result.timeline if h.kind == "transition"]
    assert [e["message"] for e in kinds(trace, "transition")] == simulated


def test_each_entry_has_its_time_and_the_start_names_the_call(tmp_path: Path) -> None:
    _, trace, _ = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    entries = read_lines(trace)
    start = entries[0]
    assert (start["kind"], start["channel"], start["id"]) == (
        "start",
        "PJSIP/sim-00000001",
        "sim-0001",
    )
    assert (start["flow"], start["caller"], start["t"]) == ("pin", "100", EPOCH)
    assert "level" not in start
    (end,) = kinds(trace, "end")
    assert end["by"] == "flow"
    assert end["t"] == EPOCH + 1.8 + 0.3 + 1.0  # the last key, the reply, the goodbye


def test_actions_with_their_parameters_and_results(tmp_path: Path) -> None:
    _, trace, _ = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    steps = {e["action"]: e["params"] for e in kinds(trace, "step")}
    assert steps["play"] == {"media": "sound:goodbye"}
    assert steps["collect"]["prompt"] == "sound:enter-pin"
    results = [(e["message"], e.get("status")) for e in kinds(trace, "action")]
    assert ("answer ok", 204) in results
    assert ("http POST https://crm.test/pin: 200", 200) in results


def test_the_collected_pin_never_reaches_the_trace(tmp_path: Path) -> None:
    _, trace, _ = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    keys = [e["fields"]["digit"] for e in kinds(trace, "event") if "digit" in e["fields"]]
    assert keys == ["***"] * 4
    assert {"pin": "***"} in [e["vars"] for e in kinds(trace, "vars")]
    steps = {e["action"]: e["params"] for e in kinds(trace, "step")}
    assert steps["set_variable"] == {"variable": "PIN", "value": "***"}
    assert steps["http"]["url"] == "https://crm.test/pin"  # no query: it holds a key
    assert steps["http"]["headers"] == steps["http"]["body"] == "(not shown)"
    text = trace.read_text()
    for secret in (PIN, "s3cret", "t0k3n"):
        assert secret not in text


def test_variables_set_are_traced_with_their_values(tmp_path: Path) -> None:
    _, trace, _ = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK)
    assert [e["vars"] for e in kinds(trace, "vars")] == [{"pin": "***"}, {"reply": {"ok": True}}]


def test_an_ended_call_is_written_at_once_not_when_held_long_enough(tmp_path: Path) -> None:
    files = CallFiles(tmp_path / "traces", 10**6, 3600.0)
    journal = TraceJournal(files)
    journal.record("PJSIP/1", "start", "entered")
    journal.record("PJSIP/1", "end", "call ended", level="info")
    deadline = time.monotonic() + HOLD_FOR / 2
    # The file is made, then filled: wait for both records, not for the file.
    while len(kinds_written(files.directory)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kinds_written(files.directory) == ["start", "end"]
    files.close()


def kinds_written(directory: Path) -> list[str]:
    """The kinds of the records in the one trace file so far ([] while there is none)."""
    paths = list(directory.glob("*.jsonl"))
    return [entry["kind"] for path in paths for entry in read_lines(path)]


def test_two_calls_with_one_channel_name_have_a_trace_each(tmp_path: Path) -> None:
    """Two Asterisk servers each number their channels: a name can be two calls' at once."""
    files = CallFiles(tmp_path / "traces", 10**6, 3600.0)
    journal = TraceJournal(files)
    for call in ("a", "b"):
        journal.record("PJSIP/1", "start", "entered", id=call)
    journal.record("PJSIP/1", "transition", "ringing -> answered", id="a")
    for call in ("b", "a"):
        journal.record("PJSIP/1", "end", "call ended", id=call)
    files.close()
    traces = [read_lines(path) for path in files.directory.glob("*.jsonl")]
    assert sorted([(e["id"], e["kind"]) for e in trace] for trace in traces) == [
        [("a", "start"), ("a", "transition"), ("a", "end")],
        [("b", "start"), ("b", "end")],
    ]
