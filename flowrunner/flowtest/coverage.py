"""Which states and transitions of a flow its test cases never reach: coverage.py's "lines never
run", for flows. A transition is a state's move (`on`, `then`, `after`) to its target on its
event; a flow-wide one (the top-level `on`) counts once, reached from whichever state. A piece's
states count in each flow that uses it, under that flow; what was missed there says where the
piece writes it, since the flow's file does not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..flow.model import Flow, Timer, Where
from ..sim.run import SimResult

EVERYWHERE = "*"  # the source of a flow-wide transition


@dataclass
class Coverage:
    flow: Flow
    entered: set[str] = field(default_factory=set)
    taken: set[tuple[str, str, str]] = field(default_factory=set)  # (source, event, target)

    def add(self, result: SimResult) -> None:
        """What one simulated call reached."""
        for happening in result.timeline:
            if happening.kind != "transition":
                continue
            fields = happening.fields
            self.entered.add(str(fields.get("target", "")))
            move = (str(fields.get("source", "")), str(fields.get("event", "")))
            self.taken.add((*move, str(fields.get("target", ""))))

    @property
    def moves(self) -> list[tuple[str, str, str]]:
        """Every transition of the flow, once: (source or EVERYWHERE, event, target)."""
        found = {(EVERYWHERE, t.event, t.target): None for t in self.flow.everywhere}
        for state in self.flow.states.values():
            for move in state.moves:
                found[(state.name, move.event, move.target)] = None
        return list(found)

    def missed(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        """The states no case entered, and the transitions no case took."""
        flow_wide = {(event, target) for _, event, target in self.taken}
        states = [name for name in self.flow.states if name not in self.entered]
        moves = [
            move
            for move in self.moves
            if move not in self.taken and not (move[0] == EVERYWHERE and move[1:] in flow_wide)
        ]
        return states, moves

    def report(self) -> tuple[list[str], int, int]:
        """The lines saying what was missed, and (reached, all) over states and transitions."""
        states, moves = self.missed()
        all_states, all_moves = len(self.flow.states), len(self.moves)
        total = all_states + all_moves
        reached = total - len(states) - len(moves)
        lines = [
            f"{self.flow.path}: {percent(reached, total)} "
            f"(states {all_states - len(states)}/{all_states}, "
            f"transitions {all_moves - len(moves)}/{all_moves})"
        ]
        if states:
            entered = (name + _in_piece(self.flow.states[name].where) for name in states)
            lines.append("    never entered: " + ", ".join(entered))
        lines += [f"    never taken: {self.describe(move)}" for move in moves]
        return lines, reached, total

    def describe(self, move: tuple[str, str, str]) -> str:
        source, event, target = move
        text = f"{source} -> {target} ({_event_text(self.flow, source, event)})"
        state = self.flow.states.get(source)  # none for EVERYWHERE: the flow's own `on`
        moves = state.moves if state else ()
        where = next((m.where for m in moves if (m.event, m.target) == (event, target)), None)
        return text + (_in_piece(where) if where else "")


def _in_piece(where: Where) -> str:
    """` in flows/pieces/goodbye.yaml:16` for what a piece writes; nothing for the flow's own."""
    return f" in {where.path}:{where.line}" if where.path else ""


def _event_text(flow: Flow, source: str, event: str) -> str:
    """The event as the flow writes it: `after 2s` for a timer's."""
    state = flow.states.get(source)
    timers: Iterable[Timer] = state.timers if state else ()
    return next((f"after {t.text}" for t in timers if t.event == event), event)


def percent(reached: int, total: int) -> str:
    """One decimal; never 100.0% while something was missed (`--fail-under 100` fails then)."""
    shown = f"{100.0 * reached / total:.1f}" if total else "100.0"
    return f"{'99.9' if reached < total and shown == '100.0' else shown}%"
