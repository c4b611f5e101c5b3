"""Run one simulated call through the real runtime, on virtual time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..engine.machine import CompiledFlow
from ..engine.runtime import Runtime
from ..engine.snapshot import restore, snapshot
from .asterisk import Callee, Room, SentRequest, SimChannel, SimulatedAsterisk
from .clock import VirtualClock
from .web import CannedReply, SentWebRequest, SimulatedWeb

LONGEST_CALL = 4 * 3600.0  # a flow that never ends is stopped here


@dataclass(frozen=True)
class Happening:
    """One thing in a call's timeline: what the caller did, or what the engine recorded."""

    at: float
    kind: str  # caller, start, event, transition, action, end, error
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallerStep:
    """Something the caller does at a virtual time: hang up, or press a DTMF digit."""

    at: float
    what: str  # "hangup" or "dtmf"
    digit: str = ""


@dataclass
class SimResult:
    timeline: list[Happening]
    sent: list[SentRequest]
    final_state: str
    ended: bool
    duration: float
    vars: dict[str, Any] = field(default_factory=dict)  # the flow's variables at the end
    web: list[SentWebRequest] = field(default_factory=list)


class _Recorder:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.timeline: list[Happening] = []
        self.final_state = ""
        self.ended = False

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        self.timeline.append(Happening(self.clock.now(), kind, message, fields))
        if kind == "end":
            self.ended, self.final_state = True, str(fields.get("state", ""))


def simulate(
    compiled: CompiledFlow,
    caller: list[CallerStep] | None = None,
    *,
    channel: SimChannel | None = None,
    failures: dict[str, int] | None = None,
    callee: Callee | None = None,
    room: Room | None = None,
    replies: list[CannedReply] | None = None,
    until: float = LONGEST_CALL,
    reload: bool = False,
    at: float = 0.0,
) -> SimResult:
    """One simulated call. With `reload`, the call is saved after every message and restored
    into a fresh runtime (a check that a call's whole state is data: the run must not change).
    The call starts at wall-clock time `at` (epoch seconds): what `now` and `hours` see."""
    clock = VirtualClock(epoch=at)
    channel = channel or SimChannel()
    app = compiled.flow.app
    asterisk = SimulatedAsterisk(clock, channel, app, failures, callee=callee, room=room)
    web = SimulatedWeb(clock, replies)
    recorder = _Recorder(clock)
    runtime = Runtime([compiled], asterisk, clock, recorder, web)
    for step in caller or []:
        _schedule(asterisk, recorder, step)
    asterisk.start()
    call = None
    while True:
        for event in asterisk.take_due(clock.now()):
            runtime.post(event)
        web.answer_due(clock.now())
        runtime = _run_due(runtime, reload)
        call = runtime.calls.get(channel.id) or call
        due = (runtime.timers.next_due(), asterisk.events.next_due(), web.pending.next_due())
        upcoming = [t for t in due if t is not None]
        if not runtime.calls or not upcoming or min(upcoming) > until:
            break
        clock.advance_to(min(upcoming))
    if not recorder.ended and call is not None:
        recorder.final_state = call.current
    timeline = sorted(recorder.timeline, key=lambda happening: happening.at)
    return SimResult(
        timeline,
        asterisk.sent,
        recorder.final_state,
        recorder.ended,
        clock.now(),
        dict(call.vars) if call else {},
        web.sent,
    )


def _run_due(runtime: Runtime, reload: bool) -> Runtime:
    """Handle what has arrived and what is due; with `reload`, one message at a time, each
    followed by a save and restore of every call into a new runtime."""
    if not reload:
        runtime.drain()
        runtime.fire_due_timers()
        runtime.drain()
        return runtime
    while True:
        if not runtime.inbox.empty():
            runtime.process(runtime.inbox.get_nowait())
        elif due := runtime.timers.pop_due():
            runtime.process(due[0])  # the others are armed still: the new runtime has them
        else:
            return runtime
        runtime = _reloaded(runtime)


def _reloaded(old: Runtime) -> Runtime:
    """A new runtime on the same inbox, transport and clock, holding the old one's calls as
    restored from their JSON snapshots."""
    sender, clock = old.sender, old.clock
    new = Runtime(old.flows.values(), sender.transport, clock, old.journal, sender.web, old.inbox)
    for call in old.calls.values():
        data = json.loads(json.dumps(snapshot(call, clock)))
        new.adopt(restore(data, call.compiled, clock))
    return new


def _schedule(asterisk: SimulatedAsterisk, recorder: _Recorder, step: CallerStep) -> None:
    if step.what == "hangup":
        asterisk.caller_hangs_up(step.at)
        message = "caller hangs up"
    else:
        asterisk.dtmf(step.at, step.digit)
        message = f"caller presses {step.digit}"
    recorder.timeline.append(Happening(step.at, "caller", message))
