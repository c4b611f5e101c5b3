"""Simulated calls observed as `serve --trace DIR --record DIR` observes real ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakes import write_file

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import load_flow
from flowrunner.observe.callfiles import CallFiles, read_lines
from flowrunner.observe.record import Recorder
from flowrunner.observe.trace import TraceJournal
from flowrunner.sim.asterisk import SimChannel
from flowrunner.sim.clock import VirtualClock
from flowrunner.sim.run import CallerStep, SimResult, simulate
from flowrunner.sim.web import CannedReply

EPOCH = 1_796_000_000.0  # 2026-11-30

PIN_FLOW = """\
version: 1
app: pin
initial: ask
vars: {pin: "", reply: null}
on:
  StasisEnd: ended
states:
  ask:
    do:
      - answer
      - collect: {prompt: sound:enter-pin, into: pin, max_digits: 4, secret: true}
    on:
      DigitsCollected: check
      NoInput: bye
      NoMatch: bye
  check:
    do:
      - set_variable: {variable: PIN, value: "{{ pin }}"}
      - http:
          url: "https://crm.test/pin?key=s3cret"
          method: POST
          headers: {Authorization: "Bearer t0k3n"}
          body: {pin: "{{ pin }}"}
          into: reply
    on:
      HttpSucceeded: {goto: bye, when: "reply.ok == true"}
      HttpFailed: bye
      HttpTimedOut: bye
  bye:
    do: [{play: {media: sound:goodbye}}]
    on: {PlaybackFinished: done}
  done:
    do: [hangup]
  ended: {final: true}
"""


def pin_flow(tmp_path: Path, text: str = PIN_FLOW) -> str:
    return write_file(tmp_path, text, "pin.yaml")


def observed(
    flow: str,
    folder: Path,
    caller: list[CallerStep],
    replies: list[CannedReply] | None = None,
    **options: Any,
) -> tuple[SimResult, Path, Path]:
    """One simulated call, traced and recorded in `folder`; its trace file and record file."""
    clock = VirtualClock(epoch=EPOCH)
    traces = CallFiles(folder / "traces", 10**6, 86400.0, wall=clock.wall)
    records = CallFiles(folder / "records", 10**6, 86400.0, "record", wall=clock.wall)
    channel = options.pop("channel", SimChannel(caller_number="100", caller_name="Ada"))
    result = simulate(
        compile_flow(load_flow(flow)),
        caller,
        channel=channel,
        replies=replies,
        journal=TraceJournal(traces, clock.wall),
        tap=Recorder(records, clock.wall),
        clock=clock,
        at=EPOCH,
        **options,
    )
    traces.close()
    records.close()
    (trace,) = (folder / "traces").glob("*.jsonl")
    (record,) = (folder / "records").glob("*.jsonl")
    return result, trace, record


def kinds(path: Path, kind: str) -> list[dict[str, Any]]:
    return [entry for entry in read_lines(path) if entry["kind"] == kind]


OK = [CannedReply("https://crm.test/*", json={"ok": True}, after=0.3)]
PIN = "9731"
PRESSES = [CallerStep(1.5 + n / 10, "dtmf", digit) for n, digit in enumerate(PIN)]
