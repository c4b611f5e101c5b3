"""Draw a flow as a Mermaid state diagram or a Graphviz dot graph, in the flow's own words.

Readable first: a flow-wide transition (the top-level `on`) is drawn once, from "any state"; the
transitions from one state to another are one edge, their labels joined; guards tried in order
are numbered; a state's box says what its actions do (`play sound:hello-world`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import excerpt, printable
from .model import Action, Flow, Move, State, Timer
from .vocabulary import spec_of

ANY = "_any"  # the source of flow-wide transitions: no state name starts with `_`
# The parameter that says most of what an action does, in this order.
_SHOWN = ("media", "prompt", "text", "endpoint", "url", "room", "name", "variable", "extension")


def edges(flow: Flow) -> list[tuple[str, str, str]]:
    """(source, target, label) of each edge: one per source and target, flow-wide ones from
    ANY."""
    found: dict[tuple[str, str], list[str]] = {}
    for source, moves in [
        (ANY, flow.everywhere),
        *((s.name, s.moves) for s in flow.states.values()),
    ]:
        for target, label in _labels(moves):
            found.setdefault((source, target), []).append(label)
    return [(source, target, "; ".join(labels)) for (source, target), labels in found.items()]


def _labels(moves: Iterable[Move]) -> list[tuple[str, str]]:
    """(target, label) per move; moves of one event with guards are numbered in the order they
    are tried."""
    moves = list(moves)
    counts: dict[str, int] = {}
    for move in moves:
        counts[move.event] = counts.get(move.event, 0) + 1
    seen: dict[str, int] = {}
    labels = []
    for move in moves:
        seen[move.event] = seen.get(move.event, 0) + 1
        order = f"{seen[move.event]}. " if counts[move.event] > 1 else ""
        labels.append((move.target, printable(order + _label(move))))
    return labels


def _label(move: Move) -> str:
    """`DigitsCollected [choice == '1']`: the event, and what must hold for it to be taken; on
    one line (a guard may span several), so that it cannot break the diagram's syntax."""
    if isinstance(move, Timer):
        event, conditions = f"after {move.text}", []
    else:
        event, conditions = move.event, [f"{key}={value}" for key, value in move.filters]
    conditions += [move.when.text] if move.when else []
    return event + (f" [{' and '.join(conditions)}]" if conditions else "")


def _actions(state: State) -> list[str]:
    """What the state does, one line per action: its name and its main parameter."""
    return [printable(excerpt(_action(action), 60)) for action in state.actions]


def _action(action: Action) -> str:
    if spec_of(action.name).defines == "keys":  # set: the variables it sets
        return f"{action.name} {', '.join(action.params)}"
    shown = next((key for key in _SHOWN if key in action.params), None)
    if shown is None:
        return action.name
    return f"{action.name} {_text(action.params[shown])}"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return str(getattr(value, "text", value))  # a Template shows as written


def mermaid(flow: Flow) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {flow.initial}"]
    if flow.everywhere:
        lines.append(f'    state "any state" as {ANY}')
    for state in flow.states.values():
        lines += [f"    {state.name} : {line}" for line in _actions(state)]
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    lines += [f"    {source} --> {target} : {label}" for source, target, label in edges(flow)]
    return "\n".join(lines)


def dot(flow: Flow) -> str:
    # The entry point is `_start`: no state name starts with `_`, so none is drawn as it.
    lines = [f'digraph "{flow.app}" {{', "    rankdir=LR;", "    _start [shape=point];"]
    if flow.everywhere:
        lines.append(f'    {ANY} [label="any state", shape=plaintext];')
    for state in flow.states.values():
        label = "\\n".join([state.name, *(_quoted(line) for line in _actions(state))])
        shape = "doublecircle" if state.final else "box"
        lines.append(f'    {state.name} [label="{label}", shape={shape}];')
    lines.append(f"    _start -> {flow.initial};")
    for source, target, label in edges(flow):
        lines.append(f'    {source} -> {target} [label="{_quoted(label)}"];')
    return "\n".join([*lines, "}"])


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
