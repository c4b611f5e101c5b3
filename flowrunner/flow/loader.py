"""Load a flow file: YAML -> schema check -> typed model -> semantic checks, in one pass.

`load_flow` is the one way in; every mistake comes out as a `FlowError` listing each problem as
`path:line:col: key.trail: message`. The model is built from what passed the schema
(`sound.py`), so one run reports the schema's problems and those of every other check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..steps import ACTIONS
from . import checks, hours, pieces, schema, sound, yamltree
from .durations import parse_duration
from .errors import FlowError, Hints, Problem, Trail, excerpt
from .expressions import Expression, ExpressionError, parse_expression
from .model import (
    CALL_DATA,
    CALL_KEYS,
    THEN,
    TIME_DATA,
    Action,
    Flow,
    State,
    Timer,
    Transition,
    Where,
)
from .templates import Template, is_template, parse_template
from .vocabulary import spec_of


def load_flow(path: str) -> Flow:
    tree = yamltree.read(path)
    return flow_from_tree(tree, path)


def flow_from_tree(tree: yamltree.Tree, path: str) -> Flow:
    if not isinstance(tree.data, dict):
        raise FlowError([Problem(path, 1, 1, "a flow must be a mapping (app, initial, states)")])
    problems, spots = schema.findings(tree, path)
    broken = sound.Broken(spots)
    if broken.skeleton:
        raise FlowError(problems)
    builder = _Builder(tree, path, broken)
    flow = builder.flow()
    problems += builder.problems + checks.check(flow, builder.hints, builder.gaps())
    if problems:
        raise FlowError(problems)
    return flow


def check_file(path: str) -> None:
    """Load a flow file, or a piece file (one that says `piece:`), for its problems only."""
    tree = yamltree.read(path)
    data = tree.data if isinstance(tree.data, dict) else {}
    if "tests" in data and "states" not in data:
        message = f"this is a flow test file: run it with flowrunner test {path}"
        raise FlowError([Problem(path, 1, 1, message)])
    if "piece" in data and "version" not in data:
        piece_from_tree(tree, path)
    else:
        flow_from_tree(tree, path)


def load_piece(path: str) -> pieces.Piece:
    return piece_from_tree(yamltree.read(path), path)


def piece_from_tree(tree: yamltree.Tree, path: str) -> pieces.Piece:
    """A piece, checked on its own: its mistakes are reported at its own lines."""
    if not isinstance(tree.data, dict):
        message = "a piece must be a mapping (piece, initial, exits, states)"
        raise FlowError([Problem(path, 1, 1, message)])
    problems, spots = schema.findings(tree, path, "flow-piece")
    broken = sound.Broken(spots)
    if broken.skeleton:
        raise FlowError(problems)
    builder = _Builder(tree, path, broken, piece=True)
    piece = builder.piece()
    problems += builder.problems + checks.check(
        pieces.as_flow(piece), builder.hints, builder.gaps()
    )
    if problems:
        raise FlowError(problems)
    return piece


def declared_variables(data: dict[str, Any]) -> set[str]:
    """Flow variables: those under `vars`, and those an action sets (`set`, `into`). Read from
    the file as written, sound or not: an action the schema refused still names what it sets,
    and a use of that name is no unknown variable."""
    names = {name for name in _mapping(data.get("vars")) if isinstance(name, str)}
    lists = [_mapping(spec).get("do") for spec in _mapping(data.get("states")).values()]
    lists.append(_mapping(data.get("after_call")).get("do"))
    for actions in lists:
        for item in actions if isinstance(actions, list) else []:
            if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ACTIONS:
                ((name, params),) = item.items()
                params, defines = _mapping(params), spec_of(name).defines
                found = list(params) if defines == "keys" else [params.get(defines)]
                names |= {name for name in found if isinstance(name, str)}
    return names


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


_CALL_KEYS = {root: tuple(sorted(keys)) for root, keys in CALL_KEYS.items()}


class _Builder:
    """Turns schema-valid plain data into the model, noting the mistakes a schema cannot see
    (durations, expressions, unknown variables, ARI operations) on the way."""

    def __init__(
        self, tree: yamltree.Tree, path: str, broken: sound.Broken, *, piece: bool = False
    ) -> None:
        self.tree = tree
        self.path = path
        self.broken = broken
        self.data = broken.pruned(tree.data)  # what passed the schema
        self.problems: list[Problem] = []
        self.where_path = path if piece else ""  # a piece's positions name its file
        uses = self.data.get("uses") or {}
        # uses whose piece, or mapping, is wrong
        self.broken_uses = {name for name in uses if ("uses", name) in broken}
        self.pieces = self.load_pieces(uses)
        used = {name for piece in self.pieces.values() for name in piece.variables}
        params = set(self.data.get("params") or {}) if piece else set()
        self.variables = declared_variables(tree.data) | params | used | CALL_DATA
        # a variable under a `vars` the schema refused is not known to be unknown
        self.unsure = ("vars",) in broken or ("params",) in broken
        self.hints = Hints()
        # Sorted once, each the same tuple: the hints look each unknown name up once.
        self.names = tuple(sorted(self.variables))
        self.guard_names = tuple(sorted(self.variables | {"event"}))  # a guard sees `event`
        self.schedules = tuple(sorted(_mapping(tree.data.get("hours"))))
        self.uses_time = False  # an expression reads `now` or `hours`

    def gaps(self) -> checks.Gaps:
        """What the checks must not judge: the parts the schema refused, and the uses that
        could not be made."""
        return checks.Gaps(
            initial=("initial",) in self.broken,
            states=self.broken.states | self.broken_uses,
            everywhere=any(unit[:1] == ("on",) for unit in self.broken.units),
            moves=self.broken.moves or bool(self.broken_uses),
        )

    def where(self, trail: Trail, *, key: bool = False) -> Where:
        return Where(*self.tree.where(trail, key=key), trail, self.where_path)

    def problem(
        self, trail: Trail, message: str, at: tuple[int, int] | None = None, *, key: bool = False
    ) -> None:
        """A problem at `trail`: at its value, or at its key (`key`), unless `at` says where."""
        line, col = at or self.tree.where(trail, key=key)
        self.problems.append(Problem(self.path, line, col, message, trail))

    def flow(self) -> Flow:
        data = self.data
        states = {name: self.state(name, spec or {}) for name, spec in data["states"].items()}
        for name, use in (data.get("uses") or {}).items():
            if name in data["states"]:
                at: Trail = ("uses", name)
                message = f"a state is named '{name}' too: rename the use or the state"
                self.problem(at, message, key=True)
                self.broken_uses.add(name)
                continue
            if name in self.broken_uses:  # the schema's, or its piece's, problems are said
                states[name] = State(name, self.where(("uses", name), key=True), final=True)
                continue
            states |= self.use(name, use, set(states) | set(data.get("uses") or {}))
        texts = [self.tree.text, *(piece.text for piece in self.pieces.values())]
        timezone = self.timezone(data.get("timezone", "UTC"), ("timezone",))
        return Flow(
            path=self.path,
            app=data.get("app", ""),
            initial=data.get("initial", ""),
            states=states,
            everywhere=self.transitions(data.get("on") or {}, ("on",)),
            description=data.get("description", ""),
            initial_where=self.where(("initial",)),
            max_steps=data.get("limits", {}).get("max_steps", Flow.max_steps),
            vars=data.get("vars") or {},
            recovery=self.recovery(data.get("recovery")),
            version=hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12],
            text=self.tree.text,
            timezone=timezone,
            hours={
                name: self.schedule(spec, timezone, ("hours", name))
                for name, spec in (data.get("hours") or {}).items()
            },
            uses_time=self.uses_time or any(p.uses_time for p in self.pieces.values()),
            **self.after_call(data.get("after_call")),
        )

    def after_call(self, spec: dict[str, Any] | None) -> dict[str, Any]:
        """`after_call: {do: [...], within: 10s}`: its actions, and their time bound."""
        if spec is None:
            return {}
        trail: Trail = ("after_call",)
        actions = tuple(
            self.action(item, (*trail, "do", i)) for i, item in sound.items(spec.get("do") or [])
        )
        within = {"within": spec.get("within", "10s")}
        self.durations({"within": 300.0}, within, trail)
        seconds = within["within"] if isinstance(within["within"], float) else 10.0
        return {"after_call": actions, "after_call_within": seconds}

    # -- pieces ------------------------------------------------------------------------------

    def load_pieces(self, uses: dict[str, Any]) -> dict[str, pieces.Piece]:
        """The piece of each use, each file read and checked once; a piece's own mistakes are
        noted at its own lines (once, however many uses it has)."""
        found, loaded = {}, {}
        for name, use in uses.items():
            if name in self.broken_uses:
                continue
            path = str(Path(self.path).parent / use["piece"])
            if path not in loaded:
                loaded[path] = self.load_piece(path, ("uses", name, "piece"), use["piece"])
            piece = loaded[path]
            if piece is None:
                self.broken_uses.add(name)
            else:
                found[name] = piece
        return found

    def load_piece(self, path: str, trail: Trail, written: str) -> pieces.Piece | None:
        try:
            return load_piece(path)
        except FlowError as error:
            for problem in error.problems:
                if problem.line == 0:  # no file to point at: point at the use
                    self.problem(trail, f"piece '{excerpt(written)}': {problem.message}")
                else:
                    self.problems.append(problem)
            return None

    def use(self, name: str, spec: dict[str, Any], states: set[str]) -> dict[str, State]:
        """The states a use adds, checked against its piece: its parameters and exits. A use
        that cannot be made is a final state, so that its mistakes are said once."""
        trail: Trail = ("uses", name)
        where = self.where(trail, key=True)
        piece = self.pieces.get(name)
        if piece is None:
            return {name: State(name, where, final=True)}
        given = spec.get("with") or {}
        values = {key: self.value(value, (*trail, "with", key)) for key, value in given.items()}
        problems = len(self.problems)  # those of the templates in `with` are not the use's
        for param in sorted(set(given) - set(piece.params)):
            hint = self.hints.did_you_mean(param, tuple(piece.params), listed="parameters are")
            at: Trail = (*trail, "with", param)
            message = f"the piece has no parameter '{param}'{hint}"
            self.problem(at, message, key=True)
        for param in [p for p in piece.required if p not in given]:
            self.problem((*trail, "with"), f"the piece needs the parameter '{param}'")
        exits = spec["exits"]
        for exit in sorted(set(exits) - set(piece.exits)):
            hint = self.hints.did_you_mean(exit, tuple(piece.exits), listed="its exits are")
            at = (*trail, "exits", exit)
            self.problem(at, f"the piece has no exit '{exit}'{hint}", key=True)
        for exit in [e for e in piece.exits if e not in exits]:
            self.problem((*trail, "exits"), f"the piece's exit '{exit}' leads nowhere: map it")
        for exit, target in exits.items():
            if target not in states:
                hint = self.hints.did_you_mean(target, tuple(sorted(states)), listed="states are")
                self.problem((*trail, "exits", exit), f"unknown state '{excerpt(target)}'{hint}")
        if len(self.problems) > problems:
            self.broken_uses.add(name)
            return {name: State(name, where, final=True)}
        return pieces.instantiate(
            piece, name, where, {**piece.vars, **piece.params, **values}, exits
        )

    def piece(self) -> pieces.Piece:
        """The piece this builder's file holds."""
        data = self.data
        states = {name: self.state(name, spec or {}) for name, spec in data["states"].items()}
        params = data.get("params") or {}
        for i, name in enumerate(data.get("required") or ()):
            if name not in params:
                self.problem(("required", i), f"'{name}' is not one of the params: add it there")
        return pieces.Piece(
            path=self.path,
            initial=data.get("initial", ""),
            initial_where=self.where(("initial",)),
            exits={exit: self.where(("exits", i)) for i, exit in enumerate(data["exits"])},
            params={key: self.value(value, ("params", key)) for key, value in params.items()},
            required=tuple(data.get("required") or ()),
            vars=data.get("vars") or {},
            states=states,
            variables=frozenset(self.variables - CALL_DATA),
            uses_time=self.uses_time,
            text=self.tree.text,
        )

    # -- time --------------------------------------------------------------------------------

    def timezone(self, name: str, trail: Trail) -> str:
        try:
            hours.zone(name)
        except hours.HoursError as error:
            self.problem(trail, str(error))
            return "UTC"
        return name

    def schedule(self, spec: dict[str, Any], timezone: str, trail: Trail) -> hours.Schedule:
        """A schedule of `hours:`, each mistake noted where it is written."""
        zone = hours.zone(self.timezone(spec.get("timezone", timezone), (*trail, "timezone")))
        week: dict[int, hours.Ranges] = {}
        for text, value in spec["week"].items():
            at: Trail = (*trail, "week", text)
            opening = self.checked(hours.ranges, value, at) or ()
            for day in self.checked(hours.days, text, at, key=True) or []:
                if day in week:
                    self.problem(at, f"{hours.DAYS[day]} is given twice", key=True)
                week[day] = opening
        closed = {
            self.checked(hours.day_of, text, (*trail, "closed", i))
            for i, text in enumerate(spec.get("closed") or [])
        }
        dates = {}
        for text, value in (spec.get("dates") or {}).items():
            at = (*trail, "dates", text)
            day = self.checked(hours.day_of, text, at, key=True)
            opening = self.checked(hours.ranges, value, at) or ()
            if day is not None:
                dates[day] = opening
        return hours.Schedule(zone, week, frozenset(closed - {None}), dates)

    def checked(self, parse: Any, value: Any, trail: Trail, *, key: bool = False) -> Any:
        """`parse(value)`, or None with its HoursError noted at `trail`."""
        try:
            return parse(value)
        except hours.HoursError as error:
            self.problem(trail, str(error), key=key)
            return None

    def recovery(self, spec: dict[str, Any] | None) -> Transition | None:
        """`recovery: {goto: STATE}`: where a call is started again that a runner finds in
        its app with nothing kept of it (it would be hung up otherwise)."""
        if spec is None:
            return None
        return Transition("(recovery)", spec["goto"], self.where(("recovery", "goto")))

    def state(self, name: str, spec: dict[str, Any]) -> State:
        trail: Trail = ("states", name)
        return State(
            name=name,
            where=self.where(trail, key=True),
            actions=tuple(
                self.action(a, (*trail, "do", i)) for i, a in sound.items(spec.get("do") or [])
            ),
            transitions=self.transitions(
                {**(spec.get("on") or {}), **({THEN: spec["then"]} if "then" in spec else {})},
                (*trail, "on"),
                then=(*trail, "then"),
            ),
            timers=self.timers(spec.get("after") or {}, (*trail, "after")),
            final=bool(spec.get("final", False)),
            max_visits=spec.get("max_visits"),
        )

    # -- actions -----------------------------------------------------------------------------

    def action(self, item: str | dict[str, Any], trail: Trail) -> Action:
        if isinstance(item, str):
            self.needs_no_parameters(item, trail)
            return Action(item, {}, self.where(trail))
        ((name, raw),) = item.items()
        at: Trail = (*trail, name)
        spec = spec_of(name)
        derived = spec.check(raw or {}, _Checker(self, at)) if spec.check else None
        params = {key: self.value(value, (*at, key)) for key, value in (raw or {}).items()}
        self.durations(spec.durations, params, at)
        params |= derived or {}
        return Action(name, params, self.where(trail))

    def needs_no_parameters(self, name: str, trail: Trail) -> None:
        spec = spec_of(name)
        if spec.required or spec.defines == "keys":
            wanted = ", ".join(spec.required) or "variable: value"
            self.problem(trail, f"{name} needs parameters ({wanted}): write {{{name}: {{…}}}}")

    def value(self, value: Any, trail: Trail) -> Any:
        """A parameter value, with every `{{ … }}` text compiled into a Template."""
        if isinstance(value, dict):
            return {key: self.value(item, (*trail, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, (*trail, i)) for i, item in enumerate(value)]
        if isinstance(value, str) and is_template(value):
            return self.template(value, trail)
        return value

    def template(self, text: str, trail: Trail) -> Template | str:
        try:
            template = parse_template(text)
        except ExpressionError as error:
            at = self.tree.where_in_text(trail, error.offset)
            self.problem(trail, f"bad template: {excerpt(error.message, 200)}", at)
            return text
        self.known(template.references, trail)
        self.known_keys(template.keys, trail)
        return template

    def durations(self, longest: Mapping[str, float], params: dict[str, Any], trail: Trail) -> None:
        """Durations (`5s`) become seconds here, each within its action's bound; a dotted key
        (`accept.timeout`) is one in a mapping parameter."""
        for key, most in longest.items():
            *outer, name = key.split(".")
            holder: Any = params
            for part in outer:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if not isinstance(holder, dict) or name not in holder:
                continue
            try:
                holder[name] = parse_duration(holder[name])
            except ValueError as error:
                self.problem((*trail, *outer, name), str(error))
                continue
            if holder[name] > most:
                self.problem((*trail, *outer, name), f"'{name}' must be at most {most:g}s")

    # -- transitions and timers --------------------------------------------------------------

    def transitions(
        self, spec: dict[str, Any], trail: Trail, then: Trail = ()
    ) -> tuple[Transition, ...]:
        """`EVENT: state`, `EVENT: {goto: state, when: …, FILTER: value}`, or a list of those.
        A state's `then` comes in as the event THEN, written at `then`."""
        found = []
        for event, value in spec.items():
            base = then if event == THEN else (*trail, event)
            if isinstance(value, str):
                found.append(Transition(event, value, self.where(base)))
                continue
            items = value if isinstance(value, list) else [value]
            for i, item in sound.items(items):
                at = (*base, i) if isinstance(value, list) else base
                filters = tuple((k, str(v)) for k, v in item.items() if k not in ("goto", "when"))
                when = self.guard(item["when"], (*at, "when")) if "when" in item else None
                where = self.where((*at, "goto"))
                found.append(Transition(event, item["goto"], where, filters, when))
        return tuple(found)

    def guard(self, text: str, trail: Trail) -> Expression:
        try:
            expression = parse_expression(text)
        except ExpressionError as error:
            at = self.tree.where_in_text(trail, error.offset)
            self.problem(trail, f"bad expression: {excerpt(error.message, 200)}", at)
            return parse_expression("false")  # still a guard: no "never taken" after it
        self.known(expression.references, trail, guard=True)
        self.known_keys(expression.keys, trail)
        return expression

    def known(
        self, references: tuple[tuple[str, int], ...], trail: Trail, *, guard: bool = False
    ) -> None:
        """Every variable an expression uses must exist: a typo is a load error, not a blank."""
        names = self.guard_names if guard else self.names
        for name, offset in references:
            self.uses_time |= name in TIME_DATA
            if self.broken_uses or self.unsure:  # a piece that could not be read may set it
                continue
            if name not in self.variables and not (guard and name == "event"):
                at = self.tree.where_in_text(trail, offset)
                hint = self.hints.did_you_mean(name, names, listed="known")
                self.problem(trail, f"unknown variable '{excerpt(name)}'{hint}", at)

    def known_keys(self, keys: tuple[tuple[str, str, int], ...], trail: Trail) -> None:
        """`caller` and `call` have fixed keys: `caller.nmber` is a load error too."""
        for root, key, offset in keys:
            allowed = self.schedules if root == "hours" else _CALL_KEYS.get(root)
            if allowed is not None and key not in allowed:
                at = self.tree.where_in_text(trail, offset)
                hint = self.hints.did_you_mean(key, allowed, listed="known")
                if not allowed:
                    hint = ": the flow has no hours; add them under hours:"
                self.problem(trail, f"{root} has no '{excerpt(key)}'{hint}", at)

    def timers(self, spec: dict[str, Any], trail: Trail) -> tuple[Timer, ...]:
        """`DURATION: state`, `DURATION: {goto: state, when: …}`, or a list of those."""
        timers = []
        for text, value in spec.items():
            where = self.where((*trail, text), key=True)
            try:
                seconds = parse_duration(text)
            except ValueError as error:
                self.problems.append(Problem(self.path, where.line, where.col, str(error), trail))
                continue
            if isinstance(value, str):
                timers.append(Timer(seconds, text, value, where))
                continue
            items = value if isinstance(value, list) else [value]
            for i, item in sound.items(items):
                at = (*trail, text, i) if isinstance(value, list) else (*trail, text)
                when = self.guard(item["when"], (*at, "when")) if "when" in item else None
                timers.append(Timer(seconds, text, item["goto"], self.where((*at, "goto")), when))
        return tuple(timers)


class _Checker:
    """What an action's own load-time check sees of the loader: positions and hints."""

    def __init__(self, builder: _Builder, trail: Trail) -> None:
        self.builder, self.trail = builder, trail

    def problem(self, where: tuple[str | int, ...], message: str) -> None:
        self.builder.problem((*self.trail, *where), message)

    def did_you_mean(
        self, word: str, options: Iterable[str], *, listed: str = "expected one of"
    ) -> str:
        return self.builder.hints.did_you_mean(word, tuple(options), listed=listed)

    def is_template(self, value: Any) -> bool:
        return isinstance(value, str) and is_template(value)
