"""One call: its channel, its machine, and what it still has to do."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..flow.model import Action
from .actions import STOP_PLAYBACKS
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
    steps: int = 0  # states entered so far: the loop guard
    playbacks: set[str] = field(default_factory=set)  # started in the current state
    playing: set[str] = field(default_factory=set)  # started and not known to be finished
    played: int = 0  # playbacks started so far, to name the next one
    dropped: list[str] = field(default_factory=list)  # unsent actions of the state just left
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
        # The flow moved on: the state's timers go stale, its unsent actions are dropped, and
        # its playbacks' events no longer concern the flow.
        self.generation += 1
        self.dropped += [action.name for action in self.outbox if action is not STOP_PLAYBACKS]
        self.outbox.clear()
        self.playbacks.clear()
        if self.playing:
            self.outbox.append(STOP_PLAYBACKS)

    def new_playback_id(self) -> str:
        self.played += 1
        playback_id = f"{self.channel_id}-play-{self.played}"
        self.playbacks.add(playback_id)
        self.playing.add(playback_id)
        return playback_id

    def playback_finished(self, event: dict[str, Any]) -> None:
        if event.get("type") == "PlaybackFinished":
            self.playing.discard(str((event.get("playback") or {}).get("id")))

    def concerns_flow(self, event: dict[str, Any]) -> bool:
        """Playback events count only for playbacks the current state started."""
        playback = event.get("playback")
        return not isinstance(playback, dict) or playback.get("id") in self.playbacks

    def take_entered(self) -> list[str]:
        entered, self.entered_states = self.entered_states, []
        return entered
