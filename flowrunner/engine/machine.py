"""Build one python-statemachine class per flow; each call gets an instance of it.

The machine only decides *where to go*. Entering and leaving a state is reported to the call
(the machine's model), which records it; the runtime then runs the state's actions and arms
its timers. Callbacks therefore cannot fail, and the machine stays pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from statemachine import StateChart
from statemachine.io import create_machine_class_from_definition

from ..flow.expressions import Expression
from ..flow.model import Flow, Move, State, Transition
from ..ports import to_text


@dataclass(frozen=True)
class CompiledFlow:
    """A flow with its machine class, built once when the flow is loaded."""

    flow: Flow
    machine_class: type[StateChart[Any]]
    events: frozenset[str]  # every event some state reacts to: others are never sent

    def new_machine(self, model: Any, start: str | None = None) -> StateChart[Any]:
        """A machine for one call, entering the initial state (or `start`), unless the model
        already holds a state: a call restored from its snapshot enters nothing."""
        return self.machine_class(model=model, start_value=start)


def compile_flow(flow: Flow) -> CompiledFlow:
    states: Any = {state.name: _definition(flow, state) for state in flow.states.values()}
    machine_class = create_machine_class_from_definition(
        _class_name(flow.app),
        states,
        catch_errors_as_events=False,  # a bug in a callback must surface, not be dropped
        # a state reached only by `recovery` is a start of its own (the loader checks the rest)
        validate_disconnected_states=flow.recovery is None,
    )
    events = {m.event for s in flow.states.values() for m in _moves(flow, s)}
    return CompiledFlow(flow, machine_class, frozenset(events))


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

    def matches(model: Any, ari: dict[str, Any] | None = None) -> bool:
        if filters and (ari is None or any(_field(ari, k) != v for k, v in filters)):
            return False
        if when is not None and not when.is_true(model.scope(ari)):
            return False
        model.held = text  # the first guard that holds is the transition taken: for traces
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
    def hook(model: Any) -> None:
        getattr(model, method)(state_name)

    hook.__name__ = f"{method}_{state_name}"
    return hook


def _class_name(app: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in app).split()
    return "".join(w.capitalize() for w in words) + "Flow"
