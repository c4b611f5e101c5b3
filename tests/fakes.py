"""Fakes for unit tests: an ARI transport the test answers by hand, a recording journal,
a rig that drives the real dispatcher with them on a virtual clock, and flow files in tmp."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flowrunner.ari.messages import AriRequest, AriResponse, Done
from flowrunner.engine.dispatcher import Dispatcher
from flowrunner.flow import FlowError, load_flow
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
    waiting: list[tuple[AriRequest, Done]] = field(default_factory=list)
    sent: list[AriRequest] = field(default_factory=list)

    def submit(self, request: AriRequest, done: Done) -> None:
        self.sent.append(request)
        self.waiting.append((request, done))

    def reply(self, status: int = 204, error: str = "") -> AriRequest:
        request, done = self.waiting.pop(0)
        done(AriResponse(status, error=error))
        return request

    def reply_all(self, status: int = 204) -> None:
        while self.waiting:
            self.reply(status)


@dataclass
class Journal:
    records: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        self.records.append((channel, kind, message, fields))

    def kinds(self, channel: str) -> list[str]:
        return [kind for ch, kind, _, _ in self.records if ch == channel]

    def messages(self, kind: str) -> list[str]:
        return [message for _, k, message, _ in self.records if k == kind]


@dataclass
class Rig:
    dispatcher: Dispatcher
    transport: FakeTransport
    clock: VirtualClock
    journal: Journal

    def event(self, kind: str, channel: str = "c1", **fields: Any) -> None:
        event = {
            "type": kind,
            "application": "channel-state",
            "channel": {"id": channel, "name": f"PJSIP/{channel}", "state": "Ring"},
        }
        event.update(fields)
        self.dispatcher.post(event)
        self.dispatcher.drain()

    def at(self, seconds: float) -> None:
        """Move the clock to `seconds` and run what is due."""
        self.clock.advance_to(seconds)
        self.dispatcher.fire_due_timers()
        self.dispatcher.drain()

    def answer_all(self, status: int = 204) -> None:
        """Answer requests (and the ones they unlock) until none is waiting."""
        while self.transport.waiting:
            self.transport.reply(status)
            self.dispatcher.drain()

    def actions(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.transport.sent]
