"""Run one simulated call through the real runtime, on virtual time."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from ..engine.call import Call
from ..engine.journal import Fanout
from ..engine.machine import CompiledFlow
from ..engine.runtime import Runtime
from ..engine.snapshot import restore, snapshot
from ..ports import Journal, SpeechRequest, Tap
from .asterisk import (
    AriReply,
    Callee,
    Failures,
    Recordings,
    Room,
    SentRequest,
    SimChannel,
    SimulatedAsterisk,
)
from .clock import VirtualClock
from .speech import SimulatedSpeech
from .web import CannedReply, SentWebRequest, SimulatedWeb

LONGEST_CALL = 4 * 3600.0  # a flow that never ends is stopped here


@dataclass(frozen=True)
class Happening:
    """One thing in a call's timeline: what the caller did, or what the engine recorded."""

    at: float
    kind: str  # caller, start, event, transition, action, end, error
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    seq: int = -1  # its place among the call's happenings and requests (-1: the caller's)


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
    ended_by: str = ""  # flow, caller, loop_guard, failure or bug; "" while it runs
    spoken: dict[str, SpeechRequest] = field(default_factory=dict)  # a say's media -> its text
    channel: str = SimChannel.id  # the caller's channel id


class _Recorder:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.timeline: list[Happening] = []
        self.final_state = ""
        self.ended = False
        self.ended_by = ""
        self.sequence = itertools.count()  # shared with the simulated Asterisk's requests

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        seq = next(self.sequence)
        self.timeline.append(Happening(self.clock.now(), kind, message, fields, seq))
        if kind == "end":
            self.ended, self.final_state = True, str(fields.get("state", ""))
            self.ended_by = str(fields.get("by", ""))

    def wants(self, kind: str, level: str) -> bool:
        return True


def simulate(
    compiled: CompiledFlow,
    caller: list[CallerStep] | None = None,
    *,
    channel: SimChannel | None = None,
    failures: Failures | None = None,
    callee: Callee | None = None,
    callees: dict[str, Callee] | None = None,
    room: Room | None = None,
    recordings: Recordings | None = None,
    replies: list[CannedReply] | None = None,
    ari_replies: list[AriReply] | None = None,
    until: float = LONGEST_CALL,
    reload: bool = False,
    at: float = 0.0,
    media: dict[str, float] | None = None,
    journal: Journal | None = None,
    tap: Tap | None = None,
    clock: VirtualClock | None = None,
) -> SimResult:
    """One simulated call. With `reload`, the call is saved after every message and restored
    into a fresh runtime (a check that a call's whole state is data: the run must not change).
    The call starts at wall-clock time `at` (epoch seconds): what `now` and `hours` see.
    `media` says how long some media play (seconds; others play 1 s). A `journal` is given
    the records too, and a `tap` what a recorder sees (as `serve --trace` and `--record`), on
    `clock` when given (its epoch then stands for `at`)."""
    clock = clock or VirtualClock(epoch=at)
    channel = channel or SimChannel()
    recorder = _Recorder(clock)
    asterisk = SimulatedAsterisk(
        clock,
        channel,
        compiled.flow.app,
        failures,
        callee=callee,
        callees=callees,
        room=room,
        ari_replies=ari_replies or (),
        sequence=recorder.sequence,
        recordings=recordings,
    )
    asterisk.media_seconds.update(media or {})
    web = SimulatedWeb(clock, replies, recorder.sequence)
    journals = Fanout(recorder, journal) if journal else recorder
    speech = SimulatedSpeech(asterisk)
    runtime = Runtime([compiled], asterisk, clock, journals, web, speech=speech, tap=tap)
    for step in caller or []:
        _schedule(asterisk, recorder, step)
    asterisk.start()
    seen: dict[str, Call] = {}  # the call as last handled (a reload makes new Call objects)
    while True:
        for event in asterisk.take_due(clock.now()):
            runtime.post(event)
        web.answer_due(clock.now())
        runtime = _run_due(runtime, reload, seen)
        seen.update(runtime.calls)
        call = seen.get(channel.id)
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
        recorder.ended_by,
        speech.spoken,
        channel.id,
    )


def _run_due(runtime: Runtime, reload: bool, seen: dict[str, Call]) -> Runtime:
    """Handle what has arrived, every timer due (not the replies they bring), then what arrived
    meanwhile, as the live loop does; with `reload`, each message is followed by a save and
    restore of every call into a new runtime."""
    runtime = _drained(runtime, reload, seen)
    for due in runtime.timers.pop_due():
        # after a reload, a Due the old runtime took is stale in the new one: ignored
        runtime = _handled(runtime, due, reload, seen)
    return _drained(runtime, reload, seen)


def _drained(runtime: Runtime, reload: bool, seen: dict[str, Call]) -> Runtime:
    while not runtime.inbox.empty():
        runtime = _handled(runtime, runtime.inbox.get_nowait(), reload, seen)
    return runtime


def _handled(runtime: Runtime, message: object, reload: bool, seen: dict[str, Call]) -> Runtime:
    """One message handled; `seen` keeps each call's object as this message leaves it (also
    when it ends the call)."""
    seen.update(runtime.calls)
    runtime.process(message)
    seen.update(runtime.calls)
    return _reloaded(runtime) if reload else runtime


def _reloaded(old: Runtime) -> Runtime:
    """A new runtime on the same inbox, transport and clock, holding the old one's calls as
    restored from their JSON snapshots."""
    sender, clock = old.sender, old.clock
    flows, journal = old.flows.values(), old.journal
    new = Runtime(
        flows,
        sender.transport,
        clock,
        journal,
        sender.web,
        old.inbox,
        speech=sender.speech,
        tap=old.tap,
    )
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
