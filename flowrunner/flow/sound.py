"""What of a flow (or piece) file the schema refused, by unit, so that the semantic checks run in
the same pass on all the rest.

A unit is the smallest part the model can do without: one action of a `do` list, one transition
(or one item of a list of them), one timer, one other key of a state, one use, one schedule, one
other top-level key. A unit with a schema problem anywhere in it is left out of the model, and
the checks that need what it would have said (where a state leads, whether it is final) skip
what it touches. So a problem is said once, by the schema, and no check sees a shape it cannot
read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .errors import Trail

HOLE = object()  # stands for a left-out item of a list, so the items after it keep their index

_KEYED = ("on", "after")  # mappings of transitions, by event or by delay
# Without these, nothing the model says can be trusted: only the schema's problems are said.
_SKELETON = {(), ("states",), ("uses",), ("exits",)}
# Parts that say where a call goes: one left out leaves a hole in the graph; of a state, all
# but these.
_MOVES = {"states", "on", "initial", "recovery", "uses"}
_NO_MOVES = {"do", "description", "max_visits"}


def unit(spot: Trail) -> Trail:
    """The unit a schema problem at `spot` lies in."""
    top, rest = spot[:1], spot[1:]
    if top == ("states",) and rest:
        return (*top, rest[0], *_part(rest[1:]))
    if top == ("on",):
        return (*top, *_keyed(rest))
    if top == ("after_call",):
        return (*top, *_part(rest))
    if top in (("uses",), ("hours",)):
        return spot[:2]
    return top


def _part(rest: Trail) -> Trail:
    """A key of a state (or of after_call), with the index or the event it holds."""
    if not rest:
        return ()
    if rest[0] in _KEYED:
        return (rest[0], *_keyed(rest[1:]))
    return (rest[0], *_index(rest[1:]))


def _keyed(rest: Trail) -> Trail:
    """An event's (or delay's) transitions, or one of them when they are a list."""
    return (*rest[:1], *_index(rest[1:])) if rest else ()


def _index(rest: Trail) -> Trail:
    return rest[:1] if rest and isinstance(rest[0], int) else ()


class Broken:
    """The units of one file with a schema problem."""

    def __init__(self, spots: Iterable[Trail]) -> None:
        self.units = frozenset(unit(spot) for spot in spots)

    def __contains__(self, trail: object) -> bool:
        """`trail` is a broken unit, or lies in one."""
        if not isinstance(trail, tuple):
            return False
        return any(trail[:n] in self.units for n in range(len(trail) + 1))

    @property
    def skeleton(self) -> bool:
        """The file's frame is broken: its states, uses or exits are not there to check."""
        return bool(self.units & _SKELETON)

    @property
    def states(self) -> frozenset[str]:
        """The states some part of which is left out."""
        return frozenset(str(u[1]) for u in self.units if u[0] == "states" and len(u) > 1)

    @property
    def moves(self) -> bool:
        """A transition, timer, state, use or the initial state is left out (an action is not
        a move): the graph has holes, so reachability cannot be judged."""
        return any(u[0] in _MOVES and not set(u[2:3]) & _NO_MOVES for u in self.units if u)

    def pruned(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of `data` without its broken units: a key left out, a list item a HOLE, a
        state or a use kept as an empty mapping (its name is no unknown state). `data` itself
        when nothing is broken: the model is built without changing it."""
        if not self.units:
            return data
        data = copy.deepcopy(data)
        for trail in self.units:
            *outer, last = trail
            holder: Any = data
            for part in outer:
                holder = _child(holder, part)
            if isinstance(holder, list) and isinstance(last, int) and last < len(holder):
                holder[last] = HOLE
            elif isinstance(holder, dict) and last in holder:
                if len(trail) == 2 and trail[0] in ("states", "uses"):
                    holder[last] = {}
                else:
                    del holder[last]
        return data


def _child(holder: Any, part: str | int) -> Any:
    if isinstance(holder, dict):
        return holder.get(part)
    if isinstance(holder, list) and isinstance(part, int) and part < len(holder):
        return holder[part]
    return None


def items(values: list[Any]) -> Iterable[tuple[int, Any]]:
    """(index, item) of each item of a list that is not left out."""
    return ((i, item) for i, item in enumerate(values) if item is not HOLE)
