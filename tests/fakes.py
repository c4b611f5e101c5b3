"""Fakes for unit tests: an ARI transport the test answers by hand, a recording journal,
a rig that drives the real runtime with them on a virtual clock, and flow files in tmp."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flowrunner.engine.runtime import Runtime
from flowrunner.flow import FlowError, load_flow
from flowrunner.ports import Done, Request, Response
from flowrunner.sim.clock import VirtualClock

REPO = Path(__file__).parents[1]


def write_file(tmp_path: Path, text: str | bytes, name: str = "flow.yaml") -> str:
    """A file holding `text` (dedented) or exactly `bytes`; returns its path."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def load_problems(path: str) -> list[str]:
    """The problems loading the flow file at `path` gives (it must give some)."""
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    return [str(p) for p in caught.value.problems]


@dataclass
class FakeTransport:
    """Keeps requests until the test answers them: `reply(status)` answers the oldest."""

    name: str = "fake"
    waiting: list[tuple[Request, Done]] = field(default_factory=list)
    sent: list[Request] = field(default_factory=list)

    def submit(self, request: Request, done: Done) -> None:
        self.sent.append(request)
        self.waiting.append((request, done))

    def reply(self, status: int = 204, error: str = "") -> Request:
        request, done = self.waiting.pop(0)
        done(Response(status, error=error))
        return request

    def reply_all(self, status: int = 204) -> None:
        while self.waiting:
            self.reply(status)


@dataclass
class Journal:
    records: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    reads: frozenset[str] | None = None  # the kinds it says it wants; None: every kind

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        self.records.append((channel, kind, message, fields))

    def wants(self, kind: str, level: str) -> bool:
        return self.reads is None or kind in self.reads

    def kinds(self, channel: str) -> list[str]:
        return [kind for ch, kind, _, _ in self.records if ch == channel]

    def messages(self, kind: str) -> list[str]:
        return [message for _, k, message, _ in self.records if k == kind]


@dataclass
class Rig:
    runtime: Runtime
    transport: FakeTransport
    clock: VirtualClock
    journal: Journal

    def event(self, kind: str, channel: str = "c1", name: str = "", **fields: Any) -> None:
        """An event of `channel`, named PJSIP/<channel> unless `name` says otherwise."""
        event = {
            "type": kind,
            "application": "channel-state",
            "channel": {"id": channel, "name": name or f"PJSIP/{channel}", "state": "Ring"},
        }
        event.update(fields)
        self.runtime.post(event)
        self.runtime.drain()

    def at(self, seconds: float) -> None:
        """Move the clock to `seconds` and run what is due."""
        self.clock.advance_to(seconds)
        self.runtime.fire_due_timers()
        self.runtime.drain()

    def answer_all(self, status: int = 204) -> None:
        """Answer requests (and the ones they unlock) until none is waiting."""
        while self.transport.waiting:
            self.transport.reply(status)
            self.runtime.drain()

    def actions(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.transport.sent]

    def reference_call(self) -> None:
        """The reference flow's whole call on c1, every request answered at once."""
        self.event("StasisStart")
        self.answer_all()
        self.at(2.0)
        self.answer_all()
        self.at(6.0)
        self.answer_all()
        self.event("StasisEnd")


@dataclass
class FakeContext:
    """A step's Context that records what the step asked for, for step unit tests."""

    channel: str = "c"
    app: str = "channel-state"
    in_own_state: bool = True
    caller_left: bool = False
    sent: list[tuple[Request, str | None]] = field(default_factory=list)
    outcomes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: list[tuple[str, int]] = field(default_factory=list)
    timers: dict[str, float] = field(default_factory=dict)
    resources: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    to_flows: list[str] = field(default_factory=list)
    finished: bool = False
    released: bool = False
    ids: int = 0

    def new_id(self, kind: str) -> str:
        self.ids += 1
        return f"{self.channel}-{kind}-{self.ids}"

    def send(self, request: Request, tag: str | None = None) -> None:
        self.sent.append((request, tag))

    def withdraw(self, tag: str) -> bool:
        return False

    def web(self, request: Any, tag: str) -> None:
        self.sent.append((request, tag))

    def speak(self, request: Any, tag: str) -> None:
        self.sent.append((request, tag))

    def after(self, seconds: float, tag: str) -> None:
        self.timers[tag] = seconds

    def cancel(self, tag: str) -> None:
        self.timers.pop(tag, None)

    def own(self, resource: str) -> None:
        self.resources.append(resource)

    def disown(self, resource: str) -> None:
        self.resources.remove(resource)

    def owned(self, kind: str) -> list[str]:
        return [r.split(":", 1)[1] for r in self.resources if r.startswith(f"{kind}:")]

    def set_vars(self, values: Any) -> None:
        self.vars.update(values)

    def outcome(self, event: str, **payload: Any) -> None:
        self.outcomes.append((event, payload))

    def to_flow(self, event: str, payload: Any) -> bool:
        self.to_flows.append(event)
        return True

    def fail(self, reason: str, status: int = 0, action: str = "") -> None:
        self.failures.append((reason, status))

    def release(self) -> None:
        self.released = True

    def finish(self) -> None:
        self.finished = self.released = True

    def hang_up(self) -> None:
        self.notes.append("hang up")

    def gone(self) -> None:
        self.notes.append("gone")

    def leaving(self) -> None:
        self.notes.append("leaving")

    def hide(self, value: str) -> None:
        self.notes.append("hidden")

    def redact(self, text: str) -> str:
        return text

    def note(self, message: str, **fields: Any) -> None:
        self.notes.append(message)

    def log_event(self, event: Any, who: str = "") -> None:
        self.notes.append(f"{who}event {event.type}")


@dataclass
class FakeKeeper:
    """Keeps the runtime's snapshots in a dict, as a store would (no thread, no file)."""

    calls: dict[str, str] = field(default_factory=dict)
    flows: dict[str, str] = field(default_factory=dict)

    def keep(self, channel: str, snapshot: str, version: str, flow_text: str) -> None:
        self.calls[channel] = snapshot
        self.flows[version] = flow_text

    def forget(self, channel: str) -> None:
        self.calls.pop(channel, None)
