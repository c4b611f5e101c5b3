"""Build one python-statemachine class per flow, and one instance of it, which every call of
the flow shares.

The machine only decides *where to go*. Entering and leaving a state is reported to the call,
which records it; the runtime then runs the state's actions and arms its timers. Callbacks
therefore cannot fail, and the machine stays pure.

Why one instance and not one per call: creating an instance is python-statemachine's costliest
step (a callback registry, listeners found with `dir()`, a configuration, an engine with two
locked queues: ~0.25 ms, as much as the rest of a short call), and each instance is a web of
reference cycles that only the cyclic garbage collector frees, in pauses that grow with the
number of live calls. A call's whole machine state is its current state (`call.state`), so the
one instance can decide for any call: its model is a `Seat` that points at the call while the
library decides, and the state the library reads and writes is that call's. The runtime is one
thread and callbacks only record, so one call is seated at a time.

And why most events are decided once per flow: without a guard, where an event takes a call
depends on nothing but the state it is in (the states are flat, and no move is eventless), yet
each `send` costs the library ~0.1 ms of queues, locks and callback dispatch, and a call makes
a few. So the machine decides an unguarded (state, event) once, for a stand-in in that state,
and every call follows that `Decision`; the same goes for entering a start state. A move with
a guard (`when`, event filters) reads the call and the event, so the library decides it for
each call, the call seated. An event the state has no move for is dropped before the library,
as the library would drop it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from statemachine import StateChart
from statemachine.io import create_machine_class_from_definition

from ..flow.expressions import Expression
from ..flow.model import Flow, Move, State, Transition
from ..ports import to_text


class Model(Protocol):
    """What the machine needs of a call: its state, where it records its moves, and where a
    guard that held says so (for traces)."""

    state: Any
    held: str

    def entered(self, state: str) -> None: ...
    def left(self, state: str) -> None: ...
    def scope(self, event: Any = None) -> dict[str, Any]: ...


class Seat:
    """The shared machine's model: the call it decides for, while it does (None between
    calls). The library keeps the current state in `seat.state`, which is the seated call's."""

    def __init__(self, call: Model | None = None) -> None:
        self.call = call

    @property
    def state(self) -> Any:
        return self.seated().state

    @state.setter
    def state(self, value: Any) -> None:
        self.seated().state = value

    def seated(self) -> Model:
        assert self.call is not None, "the machine is used only through CompiledFlow"
        return self.call


class _Probe:
    """A stand-in for calls, in the state a decision starts from: the moves the machine makes
    for it are the decision."""

    def __init__(self, state: str | None) -> None:
        self.state = state
        self.held = ""
        self.moves: list[tuple[str, str]] = []

    def entered(self, state: str) -> None:
        self.moves.append(("entered", state))

    def left(self, state: str) -> None:
        self.moves.append(("left", state))

    def scope(self, event: Any = None) -> dict[str, Any]:
        raise AssertionError("a guarded move is decided for each call, never probed")


@dataclass(frozen=True)
class Decision:
    """Where an unguarded event takes a call from a state: the states it leaves and enters, in
    the machine's order, and the state it ends in."""

    moves: tuple[tuple[str, str], ...]  # ("left" | "entered", state)
    state: Any


@dataclass(frozen=True)
class CompiledFlow:
    """A flow with its machine class and the one instance every call shares, built once when
    the flow is loaded."""

    flow: Flow
    machine_class: type[StateChart[Any]]
    events: frozenset[str]  # every event some state reacts to: others are never sent
    machine: StateChart[Any] = field(repr=False)
    seat: Seat = field(repr=False)
    reacts: Mapping[str, frozenset[str]] = field(repr=False)  # state -> its moves' events
    guarded: frozenset[tuple[str, str]] = field(repr=False)  # (state, event) with a guard
    decided: dict[tuple[str, str], Decision] = field(default_factory=dict, repr=False)

    def start(self, call: Model, start: str | None = None) -> None:
        """Enter the initial state (or `start`) for a new call: its `entered` records it."""
        first = start or self.flow.initial
        key = ("", first)
        decision = self.decided.get(key) or self._decide(key, None, self._activate, first)
        _follow(call, decision)

    def send(self, call: Model, event: str, ari: dict[str, Any] | None = None) -> None:
        """Give a call's event to the machine: the transition it takes, if any, moves
        `call.state` and is recorded by the call's `entered` and `left`. An event the state
        has no move for does nothing (the library would drop it)."""
        key = (call.state, event)
        if event not in self.reacts.get(call.state, ()):
            return
        if key in self.guarded:  # the guard reads this call and this event: ask each time
            with self._seated(call):
                self.machine.send(event, ari=ari)
            return
        decision = self.decided.get(key) or self._decide(key, call.state, self._send, event)
        _follow(call, decision)

    def _decide(
        self, key: tuple[str, str], state: str | None, ask: Callable[[str], None], what: str
    ) -> Decision:
        """The machine decides once, for a probe in `state`; every call then follows it."""
        probe = _Probe(state)
        with self._seated(probe):
            ask(what)
        decision = self.decided[key] = Decision(tuple(probe.moves), probe.state)
        return decision

    def _activate(self, start: str) -> None:
        self.machine.start_configuration_values = [start]
        self.machine.activate_initial_state()

    def _send(self, event: str) -> None:
        self.machine.send(event)

    @contextmanager
    def _seated(self, call: Model) -> Iterator[None]:
        seat = self.seat
        if seat.call is not None:  # a callback sent an event: they only record
            raise RuntimeError(f"the {self.flow.app} machine is busy with another call")
        seat.call = call
        try:
            yield
        finally:
            seat.call = None
            # A final state stops the library's engine; for the next call it runs again.
            self.machine._engine.running = True


def _follow(call: Model, decision: Decision) -> None:
    for move, state in decision.moves:
        if move == "left":
            call.left(state)
        else:
            call.entered(state)
    call.state = decision.state


def compile_flow(flow: Flow) -> CompiledFlow:
    states: Any = {state.name: _definition(flow, state) for state in flow.states.values()}
    machine_class = create_machine_class_from_definition(
        _class_name(flow.app),
        states,
        catch_errors_as_events=False,  # a bug in a callback must surface, not be dropped
        # a state reached only by `recovery` is a start of its own (the loader checks the rest)
        validate_disconnected_states=flow.recovery is None,
    )
    moves = {state.name: _moves(flow, state) for state in flow.states.values()}
    reacts = {name: frozenset(m.event for m in ms) for name, ms in moves.items()}
    guarded = {(name, m.event) for name, ms in moves.items() for m in ms if not m.catches_all}
    seat = Seat(_Probe(flow.initial))  # in a state already: building enters nothing
    machine = machine_class(model=seat)
    seat.call = None
    events = frozenset().union(*reacts.values())
    return CompiledFlow(flow, machine_class, events, machine, seat, reacts, frozenset(guarded))


def _definition(flow: Flow, state: State) -> dict[str, Any]:
    moves: dict[str, list[dict[str, Any]]] = {}
    for move in _moves(flow, state):
        transition: dict[str, Any] = {"target": move.target}
        if not move.catches_all:
            filters = move.filters if isinstance(move, Transition) else ()
            transition["cond"] = [_matches(filters, move.when)]
        moves.setdefault(move.event, []).append(transition)
    definition: dict[str, Any] = {
        "initial": state.name == flow.initial,
        "final": state.final,
        "enter": [_hook("entered", state.name)],
        "exit": [_hook("left", state.name)],
    }
    if moves:
        definition["on"] = moves
    return definition


def _moves(flow: Flow, state: State) -> tuple[Move, ...]:
    return flow.transitions_of(state) + state.timers


def _matches(filters: tuple[tuple[str, str], ...], when: Expression | None) -> Callable[..., bool]:
    """A guard: does the event (passed to `send` as `ari=`) have these field values, and does
    the `when` expression hold for the call (the machine's model)?"""

    names = [f"{key}={value}" for key, value in filters] + ([when.text] if when else [])
    text = " and ".join(names)

    def matches(model: Seat, ari: dict[str, Any] | None = None) -> bool:
        if filters and (ari is None or any(_field(ari, k) != v for k, v in filters)):
            return False
        call = model.seated()
        if when is not None and not when.is_true(call.scope(ari)):
            return False
        call.held = text  # the first guard that holds is the transition taken: for traces
        return True

    matches.__name__ = text
    return matches


def _field(event: dict[str, Any], key: str) -> str:
    """An event's field, as text; Asterisk's frames are not trusted to have the types it says."""
    if key == "state":  # ChannelStateChange: the state the channel is now in
        channel = event.get("channel")
        return to_text(channel.get("state", "")) if isinstance(channel, dict) else ""
    return str(event.get(key, ""))


def _hook(method: str, state_name: str) -> Callable[..., None]:
    def hook(model: Seat) -> None:
        getattr(model.seated(), method)(state_name)

    hook.__name__ = f"{method}_{state_name}"
    return hook


def _class_name(app: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in app).split()
    return "".join(w.capitalize() for w in words) + "Flow"
