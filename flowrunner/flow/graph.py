"""Draw a flow as a Mermaid state diagram or a Graphviz dot graph, in the flow's own words."""

from __future__ import annotations

from .errors import printable
from .model import Flow, State, Transition


def _edges(flow: Flow, state: State) -> list[tuple[str, str]]:
    """(target, label) for a state's timers and transitions, flow-wide ones included."""
    edges = [
        (
            timer.target,
            printable(f"after {timer.text}" + (f" [{timer.when.text}]" if timer.when else "")),
        )
        for timer in state.timers
    ]
    return edges + [(t.target, _label(t)) for t in flow.transitions_of(state)]


def _label(transition: Transition) -> str:
    """`DigitsCollected [choice == '1']`: the event, and what must hold for it to be taken; on
    one line (a guard may span several), so that it cannot break the diagram's syntax."""
    conditions = [f"{key}={value}" for key, value in transition.filters]
    conditions += [transition.when.text] if transition.when else []
    return printable(transition.event + (f" [{' and '.join(conditions)}]" if conditions else ""))


def _actions(state: State) -> str:
    return ", ".join(action.name for action in state.actions)


def mermaid(flow: Flow) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {flow.initial}"]
    for state in flow.states.values():
        if state.actions:
            lines.append(f"    {state.name} : do {_actions(state)}")
        lines += [
            f"    {state.name} --> {target} : {label}" for target, label in _edges(flow, state)
        ]
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines)


def dot(flow: Flow) -> str:
    # The entry point is `_start`: no state name starts with `_`, so none is drawn as it.
    lines = [f'digraph "{flow.app}" {{', "    rankdir=LR;", "    _start [shape=point];"]
    for state in flow.states.values():
        label = state.name + (f"\\ndo {_actions(state)}" if state.actions else "")
        shape = "doublecircle" if state.final else "box"
        lines.append(f'    {state.name} [label="{label}", shape={shape}];')
    lines.append(f"    _start -> {flow.initial};")
    for state in flow.states.values():
        for target, label in _edges(flow, state):
            label = label.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'    {state.name} -> {target} [label="{label}"];')
    return "\n".join([*lines, "}"])
