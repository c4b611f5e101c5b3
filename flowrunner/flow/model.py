"""The flow model: what a validated flow file says, as frozen, typed records.

Every record keeps `where` it was written, so later checks and runtime logs can point at the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Trail
from .expressions import Expression
from .hours import NOW_KEYS, Schedule, clock_view, zone

# The call data every call has, and its keys; guards also see `event` (the event's own fields),
# and every expression `hours` (is each of the flow's schedules open now).
CALL_KEYS: Mapping[str, frozenset[str]] = {
    "caller": frozenset({"number", "name"}),
    "call": frozenset(
        {"id", "channel", "app", "extension", "context", "args", "language"}
        | {"end_reason", "duration", "last_state"}  # set once the caller has gone
    ),
    "now": NOW_KEYS,
}
TIME_DATA = frozenset({"now", "hours"})
CALL_DATA = frozenset(CALL_KEYS) | TIME_DATA

# The event of a state's `then`: raised once the state's actions are done.
THEN = "then"


@dataclass(frozen=True)
class Where:
    line: int
    col: int
    trail: Trail
    path: str = ""  # the file, when not the flow's own (a piece's)


@dataclass(frozen=True)
class Action:
    """An action run on entering a state, e.g. `answer` or `play` with its parameters. Parameter
    values may hold templates (`Template`), rendered with the call's variables when it runs."""

    name: str
    params: Mapping[str, Any]
    where: Where


@dataclass(frozen=True)
class Transition:
    """On `event` (an ARI event name, one of flowrunner's, or a timer's), go to `target` if the
    event's fields match `filters`, e.g. (("digit", "1"),) for ChannelDtmfReceived, and the
    guard `when` holds."""

    event: str
    target: str
    where: Where
    filters: tuple[tuple[str, str], ...] = ()
    when: Expression | None = None

    @property
    def catches_all(self) -> bool:
        return not self.filters and self.when is None


@dataclass(frozen=True)
class Timer:
    """After `seconds` in a state, go to `target` if the guard `when` holds; written as `text`,
    e.g. `2s`. Several timers of one delay are tried in order."""

    seconds: float
    text: str
    target: str
    where: Where
    when: Expression | None = None

    @property
    def event(self) -> str:
        return f"after_{round(self.seconds * 1000)}ms"

    @property
    def catches_all(self) -> bool:
        return self.when is None


Move = Transition | Timer


@dataclass(frozen=True)
class State:
    name: str
    where: Where
    actions: tuple[Action, ...] = ()
    transitions: tuple[Transition, ...] = ()  # `on`, then `then` (event THEN)
    timers: tuple[Timer, ...] = ()
    final: bool = False
    max_visits: int | None = None  # entering it once more raises LimitReached

    @property
    def moves(self) -> tuple[Move, ...]:
        """Its own transitions and its timers."""
        return self.transitions + self.timers

    def timer_of(self, event: str) -> Timer:
        return next(timer for timer in self.timers if timer.event == event)

    @property
    def goes_on(self) -> bool:
        """It has a `then`: the call moves on once its actions are done."""
        return any(t.event == THEN for t in self.transitions)


@dataclass(frozen=True)
class Flow:
    path: str
    app: str
    initial: str
    states: Mapping[str, State]
    everywhere: tuple[Transition, ...] = ()  # the top-level `on`: applies in every live state
    description: str = ""
    initial_where: Where = field(default=Where(1, 1, ("initial",)))
    max_steps: int = 1000  # state changes one call may make before LimitReached
    vars: Mapping[str, Any] = field(default_factory=dict)  # flow variables, starting values
    recovery: Transition | None = None  # where a call found with no kept state starts over
    version: str = ""  # a hash of the file's text: a call stays on the version it started on
    text: str = field(default="", repr=False)  # the file's text, kept with the calls on it
    timezone: str = "UTC"  # the zone `now` is in
    hours: Mapping[str, Schedule] = field(default_factory=dict)  # `hours.NAME` in expressions
    uses_time: bool = False  # some expression reads `now` or `hours`: calls need the time
    after_call: tuple[Action, ...] = ()  # run once the caller has gone: web requests, `set`
    after_call_within: float = 10.0  # seconds they may take in all

    def time_scope(self, wall: float) -> dict[str, object]:
        """`now` and `hours` at the time `wall` (epoch seconds), for expressions."""
        return {
            "now": clock_view(wall, zone(self.timezone)),
            "hours": {name: schedule.is_open(wall) for name, schedule in self.hours.items()},
        }

    def transitions_of(self, state: State) -> tuple[Transition, ...]:
        """A state's own transitions, then the flow-wide ones, tried in that order. A state's
        transition without filters or guard overrides the flow-wide ones for its event."""
        if state.final:
            return ()
        own = {t.event for t in state.transitions if t.catches_all}
        return state.transitions + tuple(t for t in self.everywhere if t.event not in own)

    def handles(self, state: State, event: str) -> bool:
        return any(t.event == event for t in self.transitions_of(state))

    def targets_of(self, state: State) -> set[str]:
        return {t.target for t in self.transitions_of(state)} | {t.target for t in state.timers}
