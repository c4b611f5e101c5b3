"""One call: its channel, its machine, and what it still has to do."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..flow.model import Action
from .machine import CompiledFlow


@dataclass
class Call:
    """The per-call context; also the model the call's machine reports state changes to."""

    channel_id: str
    channel_name: str
    compiled: CompiledFlow
    started_at: float
    machine: Any = None
    generation: int = 0  # bumped on leaving a state, so that state's timers go stale
    entered_states: list[str] = field(default_factory=list)
    outbox: deque[Action] = field(default_factory=deque)
    busy: bool = False  # an action is in flight; the next waits, to keep them in order
    left_app: bool = False  # StasisEnd seen: the channel is no longer ours to control
    leaving: bool = False  # a hangup/continue was sent: StasisEnd will follow

    @property
    def flow_name(self) -> str:
        return self.compiled.flow.app

    @property
    def current(self) -> str:
        values = self.machine.configuration_values if self.machine else ()
        return next(iter(values), "")

    @property
    def finished(self) -> bool:
        return bool(self.machine and self.machine.is_terminated)

    # Called by the machine from inside `send`: record only, the dispatcher acts afterwards.
    def entered(self, state: str) -> None:
        self.entered_states.append(state)

    def left(self, state: str) -> None:
        self.generation += 1

    def take_entered(self) -> list[str]:
        entered, self.entered_states = self.entered_states, []
        return entered
