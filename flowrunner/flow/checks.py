"""Checks a schema cannot make: names that must exist, states every call can reach and leave."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from statemachine import StateChart
from statemachine.io import create_machine_class_from_definition

from .errors import Hints, Problem, excerpt
from .model import THEN, Flow, Move, State, Timer, Where
from .vocabulary import outcome_of, outcomes

_TIMER_EVENT = re.compile(r"^after_[0-9]+ms$")


@cache
def _reserved() -> frozenset[str]:
    """State names become attributes of each call's machine: they must not shadow its API,
    neither the class's nor what python-statemachine sets on every instance."""
    probe = create_machine_class_from_definition(
        "Probe", {"a": {"initial": True, "on": {"go": [{"target": "b"}]}}, "b": {"final": True}}
    )()
    names = set(dir(StateChart)) | set(vars(probe)) | set(dir(probe))
    names -= {"a", "b", "go"}
    return frozenset(n for n in names if not n.startswith("_")) | {THEN}  # `then` is an event


@dataclass(frozen=True)
class Gaps:
    """What the model lacks of its file, the schema having refused it: the checks that need it
    skip what it touches (a state's outcomes, the graph) rather than guess."""

    initial: bool = False  # the initial state is not known
    states: frozenset[str] = frozenset()  # states some part of which is left out
    everywhere: bool = False  # a flow-wide transition is left out
    moves: bool = False  # a transition, timer or state is left out: the graph has holes


def check(flow: Flow, hints: Hints | None = None, gaps: Gaps = Gaps()) -> list[Problem]:
    return list(_problems(flow, hints or Hints(), gaps))


def _problems(flow: Flow, hints: Hints, gaps: Gaps) -> Iterator[Problem]:
    states = tuple(flow.states)  # one tuple for all: the hints look each name up once

    def unknown(name: str) -> str:
        hint = hints.did_you_mean(name, states, listed="states are")
        return f"unknown state '{excerpt(name)}'{hint}"

    known_initial = not gaps.initial and flow.initial in flow.states
    whole = [s for s in flow.states.values() if s.name not in gaps.states]
    yield from _names(flow)
    if not gaps.initial and not known_initial:
        yield _at(flow, flow.initial_where, unknown(flow.initial))
    yield from _targets(flow, unknown)
    yield from _finals(flow, known_initial, whole=not gaps.moves)
    yield from _timers(flow)
    yield from _shadowed(flow)
    yield from _then_always(flow, whole)
    yield from _outcomes(flow, [] if gaps.everywhere else whole)
    if known_initial and not gaps.moves:
        yield from _graph(flow)


def _at(flow: Flow, where: Where, message: str) -> Problem:
    return Problem(where.path or flow.path, where.line, where.col, message, where.trail)


def _names(flow: Flow) -> Iterator[Problem]:
    for state in flow.states.values():
        if state.name in _reserved() or _TIMER_EVENT.match(state.name):
            yield _at(flow, state.where, f"'{state.name}' is a reserved name; rename the state")


def _targets(flow: Flow, unknown: Callable[[str], str]) -> Iterator[Problem]:
    for move in _moves(flow):
        if move.target not in flow.states:
            yield _at(flow, move.where, unknown(move.target))


def _moves(flow: Flow) -> Iterator[Move]:
    for state in flow.states.values():
        yield from state.moves
    yield from flow.everywhere
    if flow.recovery is not None:
        yield flow.recovery


def _finals(flow: Flow, known_initial: bool, *, whole: bool) -> Iterator[Problem]:
    if known_initial and flow.states[flow.initial].final:
        yield _at(flow, flow.states[flow.initial].where, "the initial state cannot be final")
    for state in flow.states.values():
        if state.final and (state.transitions or state.timers):
            message = "a final state cannot have transitions (on, then, after)"
            yield _at(flow, state.where, message)
    if whole and not any(state.final for state in flow.states.values()):
        where = Where(flow.initial_where.line, flow.initial_where.col, ("states",))
        yield _at(flow, where, "no final state: add one for the call to end in, e.g. on StasisEnd")


def _timers(flow: Flow) -> Iterator[Problem]:
    for state in flow.states.values():
        seen: dict[str, str] = {}
        for timer in state.timers:
            if seen.setdefault(timer.event, timer.text) != timer.text:
                message = f"'{timer.text}' is the same delay as '{seen[timer.event]}'"
                yield _at(flow, timer.where, message)


def _shadowed(flow: Flow) -> Iterator[Problem]:
    """A transition after one for the same event with no filter can never be taken."""
    groups = [flow.everywhere, *(s.moves for s in flow.states.values())]
    for moves in groups:
        catch_all: set[str] = set()
        for move in moves:
            # the same delay written two ways is reported by _timers
            key = move.text if isinstance(move, Timer) else move.event
            if key in catch_all:
                yield _at(flow, move.where, _never_taken(move))
            if move.catches_all:
                catch_all.add(key)


def _never_taken(move: Move) -> str:
    if isinstance(move, Timer):
        return f"never taken: an earlier {move.text} timer has no guard"
    if move.event == THEN:
        return "never taken: an earlier then has no guard"
    return f"never taken: an earlier {move.event} transition has no filter or guard"


def _then_always(flow: Flow, states: Iterable[State]) -> Iterator[Problem]:
    """`then` is taken at once or never: a call whose guards all fail would stay put."""
    for state in states:
        then = [t for t in state.transitions if t.event == THEN]
        if then and not then[-1].catches_all:
            message = (
                "then needs a last choice without 'when': {goto: STATE}, for when no guard holds"
            )
            yield _at(flow, then[-1].where, message)


def _outcomes(flow: Flow, states: Iterable[State]) -> Iterator[Problem]:
    """A state running collect, dial or http must say where its success leads; and a state
    must not wait for the outcome of an action it does not run. Only `states` are judged: a
    part left out of one could be the action or the transition."""
    for state in states:
        runs = {action.name for action in state.actions}
        for action in state.actions:
            success = outcomes().get(action.name, ("", ()))[0]
            if success and not flow.handles(state, success):
                message = f"{action.name} leads nowhere: add a transition for {success}"
                yield _at(flow, action.where, message)
        for move in state.transitions:
            action_name = outcome_of().get(move.event, "")
            if action_name and action_name not in runs:
                message = f"never happens: {move.event} follows {action_name}, not run here"
                yield _at(flow, move.where, message)


def _graph(flow: Flow) -> Iterator[Problem]:
    if any(move.target not in flow.states for move in _moves(flow)):
        return  # the graph has holes; the unknown targets are already reported
    starts = {flow.initial} | ({flow.recovery.target} if flow.recovery else set())
    reachable = _closure(starts, lambda s: flow.targets_of(flow.states[s]))
    for state in flow.states.values():
        if state.name not in reachable:
            yield _at(flow, state.where, "unreachable: no transition leads to this state")
    finals = {s.name for s in flow.states.values() if s.final}
    sources: dict[str, set[str]] = {name: set() for name in flow.states}
    for state in flow.states.values():
        for target in flow.targets_of(state):
            sources[target].add(state.name)
    can_end = _closure(finals, lambda s: sources[s])
    for state in flow.states.values():
        if finals and state.name in reachable and state.name not in can_end:
            yield _at(flow, state.where, _STUCK)


_STUCK = "the call can never end from here: no path leads to a final state (add on: StasisEnd)"


def _closure(start: set[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    """Every name reachable from `start` by repeating `step`."""
    seen, todo = set(start), list(start)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
