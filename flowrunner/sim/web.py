"""Simulated web services for flow tests: canned replies matched by URL, on virtual time."""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..engine.timers import TimerHeap
from ..ports import Done, Response, WebRequest
from .clock import VirtualClock


@dataclass(frozen=True)
class CannedReply:
    url: str  # a pattern: * matches anything
    method: str = ""  # any, when empty
    status: int = 200
    json: Any = None
    after: float = 0.1
    timeout: bool = False  # never answers

    def matches(self, request: WebRequest) -> bool:
        same_method = not self.method or self.method == request.method
        return same_method and fnmatch.fnmatchcase(request.url, self.url)


@dataclass(frozen=True)
class SentWebRequest:
    at: float
    request: WebRequest
    seq: int = 0  # its place among the call's happenings, for a timeline of both


class SimulatedWeb:
    """The web client for simulated calls: the first matching reply answers, after its delay;
    a request nothing matches gets no answer (connection failed)."""

    def __init__(
        self,
        clock: VirtualClock,
        replies: list[CannedReply] | None = None,
        sequence: Iterator[int] | None = None,
    ) -> None:
        self.clock = clock
        self.sequence = sequence or itertools.count()
        self.replies = list(replies or [])
        self.sent: list[SentWebRequest] = []
        self.pending: TimerHeap[tuple[Done, Response]] = TimerHeap()

    def submit(self, request: WebRequest, done: Done) -> None:
        self.sent.append(SentWebRequest(self.clock.now(), request, next(self.sequence)))
        reply = next((r for r in self.replies if r.matches(request)), None)
        if reply is None:
            self.pending.schedule(self.clock.now(), (done, Response(0, error="connection failed")))
        elif not reply.timeout:
            response = Response(reply.status, reply.json)
            self.pending.schedule(self.clock.now() + reply.after, (done, response))

    def answer_due(self, now: float) -> None:
        for done, response in self.pending.pop_due(now):
            done(response)
