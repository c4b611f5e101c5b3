"""Load a flow file: YAML -> schema check -> typed model -> semantic checks.

`load_flow` is the one way in; every mistake comes out as a `FlowError` listing each problem as
`path:line:col: key.trail: message`.
"""

from __future__ import annotations

from typing import Any

from . import checks, schema, yamltree
from .durations import parse_duration
from .errors import FlowError, Problem, Trail
from .model import Action, Flow, State, Timer, Transition, Where


def load_flow(path: str) -> Flow:
    tree = yamltree.read(path)
    return flow_from_tree(tree, path)


def flow_from_tree(tree: yamltree.Tree, path: str) -> Flow:
    if not isinstance(tree.data, dict):
        raise FlowError([Problem(path, 1, 1, "a flow must be a mapping (app, initial, states)")])
    problems = schema.check(tree, path)
    if problems:
        raise FlowError(problems)
    builder = _Builder(tree, path)
    flow = builder.flow()
    problems = builder.problems + checks.check(flow)
    if problems:
        raise FlowError(problems)
    return flow


class _Builder:
    """Turns schema-valid plain data into the model, noting bad durations on the way."""

    def __init__(self, tree: yamltree.Tree, path: str) -> None:
        self.tree = tree
        self.path = path
        self.problems: list[Problem] = []

    def where(self, trail: Trail, *, key: bool = False) -> Where:
        return Where(*self.tree.where(trail, key=key), trail)

    def flow(self) -> Flow:
        data = self.tree.data
        states = {name: self.state(name, spec or {}) for name, spec in data["states"].items()}
        return Flow(
            path=self.path,
            app=data["app"],
            initial=data["initial"],
            states=states,
            everywhere=self.transitions(data.get("on") or {}, ("on",)),
            description=data.get("description", ""),
            initial_where=self.where(("initial",)),
            max_steps=data.get("limits", {}).get("max_steps", Flow.max_steps),
        )

    def state(self, name: str, spec: dict[str, Any]) -> State:
        trail: Trail = ("states", name)
        return State(
            name=name,
            where=self.where(trail, key=True),
            actions=tuple(
                self.action(a, (*trail, "do", i)) for i, a in enumerate(spec.get("do") or [])
            ),
            transitions=self.transitions(spec.get("on") or {}, (*trail, "on")),
            timers=self.timers(spec.get("after") or {}, (*trail, "after")),
            final=bool(spec.get("final", False)),
        )

    def action(self, item: str | dict[str, Any], trail: Trail) -> Action:
        if isinstance(item, str):
            return Action(item, {}, self.where(trail))
        ((name, params),) = item.items()
        return Action(name, params or {}, self.where(trail))

    def transitions(self, spec: dict[str, Any], trail: Trail) -> tuple[Transition, ...]:
        """`EVENT: state`, `EVENT: {goto: state, FILTER: value}`, or a list of the latter."""
        found = []
        for event, value in spec.items():
            if isinstance(value, str):
                found.append(Transition(event, value, self.where((*trail, event))))
                continue
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                at = (*trail, event, i) if isinstance(value, list) else (*trail, event)
                filters = tuple((k, str(v)) for k, v in item.items() if k != "goto")
                found.append(Transition(event, item["goto"], self.where((*at, "goto")), filters))
        return tuple(found)

    def timers(self, spec: dict[str, str], trail: Trail) -> tuple[Timer, ...]:
        timers = []
        for text, target in spec.items():
            where = self.where((*trail, text), key=True)
            try:
                timers.append(Timer(parse_duration(text), text, target, where))
            except ValueError as error:
                self.problems.append(Problem(self.path, where.line, where.col, str(error), trail))
        return tuple(timers)
