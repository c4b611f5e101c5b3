"""One call: its channel, its machine, its variables, and what it still has to do."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..flow.model import Action
from .actions import STOP_PLAYBACKS, STOP_RECORDINGS, TEARDOWN
from .machine import CompiledFlow

if TYPE_CHECKING:
    from .collect import Collector
    from .dial import DialLeg


@dataclass
class Call:
    """The per-call context; also the model the call's machine reports state changes to."""

    channel_id: str
    channel_name: str
    compiled: CompiledFlow
    started_at: float
    machine: Any = None
    caller: dict[str, Any] = field(default_factory=dict)  # `caller` in expressions
    info: dict[str, Any] = field(default_factory=dict)  # `call` in expressions
    vars: dict[str, Any] = field(default_factory=dict)  # the flow's variables
    generation: int = 0  # bumped on leaving a state, so that state's timers go stale
    steps: int = 0  # states entered so far: the loop guard
    visits: Counter[str] = field(default_factory=Counter)
    guard_tripped: bool = False  # LimitReached was raised once; the next trip ends the call
    playbacks: set[str] = field(default_factory=set)  # started in the current state
    playing: set[str] = field(default_factory=set)  # started and not known to be finished
    recording: set[str] = field(default_factory=set)  # live recordings, by name
    played: int = 0  # playbacks started so far, to name the next one
    collector: Collector | None = None  # a `collect` of the current state, still collecting
    dial: DialLeg | None = None  # the callee of the last `dial`
    dialled: int = 0  # dials so far, to name the next callee channel
    webhooks: set[int] = field(default_factory=set)  # http requests awaiting their outcome
    dropped: list[str] = field(default_factory=list)  # unsent actions of the state just left
    entered_states: list[str] = field(default_factory=list)
    outbox: deque[Action] = field(default_factory=deque)
    busy: bool = False  # an action is in flight; the next waits, to keep them in order
    left_app: bool = False  # StasisEnd seen: the channel is no longer ours to control
    leaving: bool = False  # a hangup/continue was sent: StasisEnd will follow

    def __post_init__(self) -> None:
        # A copy per call; values are only ever replaced (set, into), never changed in place.
        self.vars = dict(self.compiled.flow.vars)

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

    def scope(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """What expressions and templates see: the flow's variables and the call data."""
        scope = {**self.vars, "caller": self.caller, "call": self.info}
        if event is not None:
            scope["event"] = event
        return scope

    # Called by the machine from inside `send`: record only, the dispatcher acts afterwards.
    def entered(self, state: str) -> None:
        self.entered_states.append(state)

    def left(self, state: str) -> None:
        # The flow moved on: the state's timers and pending outcomes go stale, its unsent
        # actions are dropped (not the clean-up of a dial), and its prompts and recordings are
        # stopped.
        self.generation += 1
        kept = [action for action in self.outbox if action.name in TEARDOWN]
        stops = (STOP_PLAYBACKS, STOP_RECORDINGS)
        self.dropped += [a.name for a in self.outbox if a not in stops and a.name not in TEARDOWN]
        self.outbox.clear()
        self.outbox.extend(kept)
        self.playbacks.clear()
        self.collector = None
        self.webhooks.clear()
        if self.playing and not self.left_app:
            self.outbox.append(STOP_PLAYBACKS)
        if self.recording and not self.left_app:
            self.outbox.append(STOP_RECORDINGS)
        if self.dial is not None and not self.dial.settled:
            self.dial.give_up()  # the state that waited for the answer is gone
            self.outbox.extend(self.dial.tear_down())

    def new_playback_id(self) -> str:
        self.played += 1
        playback_id = f"{self.channel_id}-play-{self.played}"
        self.playbacks.add(playback_id)
        self.playing.add(playback_id)
        return playback_id

    def track_media(self, event: dict[str, Any]) -> None:
        """Forget playbacks and recordings that have ended."""
        kind = event.get("type")
        if kind == "PlaybackFinished":
            self.playing.discard(str((event.get("playback") or {}).get("id")))
        elif kind in ("RecordingFinished", "RecordingFailed"):
            self.recording.discard(str((event.get("recording") or {}).get("name")))

    def concerns_flow(self, event: dict[str, Any]) -> bool:
        """Playback events count only for playbacks the current state started."""
        playback = event.get("playback")
        return not isinstance(playback, dict) or playback.get("id") in self.playbacks

    def take_entered(self) -> list[str]:
        entered, self.entered_states = self.entered_states, []
        return entered
