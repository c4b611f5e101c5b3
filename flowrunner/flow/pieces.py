"""Reusable pieces: states kept in a file of their own, used by several flows.

A flow's `uses: {NAME: {piece: FILE, with: {…}, exits: {EXIT: STATE}}}` makes the piece's states
its own, each named `NAME__STATE`, plus a state `NAME` that enters the piece: it sets the
piece's variables and parameters, then goes on to its initial state. A transition of the piece
that names an exit goes to the state the use maps it to. Checked twice: the piece alone (at its
own file:line:col), and each use against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import THEN, Action, Flow, State, Transition, Where


@dataclass(frozen=True)
class Piece:
    path: str
    initial: str
    initial_where: Where
    exits: Mapping[str, Where]  # exit name -> where it is declared
    params: Mapping[str, Any]  # name -> default (a value, or a compiled template)
    required: tuple[str, ...]
    vars: Mapping[str, Any]  # set on entering the piece
    states: Mapping[str, State]
    variables: frozenset[str]  # every variable it reads or sets: the using flow's too
    uses_time: bool = False
    text: str = ""


def as_flow(piece: Piece) -> Flow:
    """The piece as a flow of its own, its exits final states: what the flow checks check."""
    exits = {name: State(name, where, final=True) for name, where in piece.exits.items()}
    return Flow(
        piece.path,
        "piece",
        piece.initial,
        {**piece.states, **exits},
        initial_where=piece.initial_where,
    )


def state_name(use: str, state: str) -> str:
    return f"{use}__{state}"


def instantiate(
    piece: Piece, use: str, where: Where, values: Mapping[str, Any], exits: Mapping[str, str]
) -> dict[str, State]:
    """The states a use of the piece adds to its flow: its entry `use`, then the piece's own,
    renamed, their exits leading where the use says."""
    targets = {name: state_name(use, name) for name in piece.states} | dict(exits)
    entry_actions = (Action("set", dict(values), where),) if values else ()
    entry = State(
        use,
        where,
        actions=entry_actions,
        transitions=(Transition(THEN, targets[piece.initial], where),),
    )
    states = {use: entry}
    for state in piece.states.values():
        renamed = dataclasses.replace(
            state,
            name=targets[state.name],
            transitions=tuple(
                dataclasses.replace(t, target=targets.get(t.target, t.target))
                for t in state.transitions
            ),
            timers=tuple(
                dataclasses.replace(t, target=targets.get(t.target, t.target)) for t in state.timers
            ),
        )
        states[renamed.name] = renamed
    return states
