"""One call's whole state, as data: where its flow is, its variables, the steps it runs, the
requests it has queued or in flight, and its timers. `snapshot.py` writes it as JSON and reads
it back. The flow's machine is shared by its calls: a call's part of it is `state`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..flow.model import Action
from ..flow.templates import render
from ..ports import Clock, Event, Request, to_text
from ..steps import ACTIONS, Step
from .machine import CompiledFlow

if TYPE_CHECKING:
    from .timers import Timers

FLOW = ""  # the owner of the flow's own timers (`after:`) and of requests nobody waits for


@dataclass
class Queued:
    """A request waiting for its turn: the call sends one at a time, in order."""

    number: int
    request: Request
    owner: str  # the step id, or FLOW when no reply is wanted
    tag: str


@dataclass
class Pending:
    """A request (ARI or web) sent and not answered yet."""

    owner: str
    tag: str
    action: str
    sent_at: float
    request: Request | None = None  # an ARI request (None: a web or speech request)


@dataclass
class Running:
    """A step the call runs, and the state entry that started it."""

    id: str  # e.g. "dial-2": unique in the call
    action: str
    entry: int
    step: Step


@dataclass
class Call:
    """The per-call context; also the model the flow's machine reports state changes to."""

    channel_id: str
    channel_name: str
    compiled: CompiledFlow
    started_at: float
    state: Any = None  # the machine's current state: python-statemachine keeps it here
    caller: dict[str, Any] = field(default_factory=dict)  # `caller` in expressions
    info: dict[str, Any] = field(default_factory=dict)  # `call` in expressions
    vars: dict[str, Any] = field(default_factory=dict)  # the flow's variables
    entry: int = 0  # states entered so far, including re-entries: names the current one
    steps_taken: int = 0  # for max_steps (starts afresh when a loop guard trips)
    visits: Counter[str] = field(default_factory=Counter)
    guard_tripped: bool = False  # LimitReached was raised once; the next trip ends the call
    todo: deque[int] = field(default_factory=deque)  # the current state's actions to start
    holder: str = ""  # the step the next action waits for
    queue: deque[Queued] = field(default_factory=deque)
    sending: int = 0  # the request in flight (its number), 0 when none
    pending: dict[int, Pending] = field(default_factory=dict)
    timers: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)
    running: dict[str, Running] = field(default_factory=dict)  # in the order they started
    resources: dict[str, str] = field(default_factory=dict)  # "playback:ID" -> step id
    counters: Counter[str] = field(default_factory=Counter)  # ids made so far, by kind
    left_app: bool = False  # StasisEnd seen: the channel is no longer ours to control
    leaving: bool = False  # a hangup/continue was sent: StasisEnd will follow
    ended: bool = False  # the call is over: what its steps still send goes at once
    after: bool = False  # ended, and running the flow's after_call actions
    secrets: list[str] = field(default_factory=list)  # values never to be logged (a PIN)
    moves: list[tuple[str, str]] = field(default_factory=list)  # ("left"|"entered", state)
    held: str = ""  # the guard of the transition the machine just took (not kept: one send)
    clock: Clock | None = field(default=None, repr=False)  # the runtime's: `now`, `hours`

    def __post_init__(self) -> None:
        if not self.vars:
            # A copy per call; values are only ever replaced (set, into), never changed in place.
            self.vars = dict(self.compiled.flow.vars)

    @property
    def flow_name(self) -> str:
        return self.compiled.flow.app

    @property
    def current(self) -> str:
        return str(self.state or "")

    def scope(self, event: Any = None) -> dict[str, Any]:
        """What expressions and templates see: the flow's variables and the call data."""
        scope = {**self.vars, "caller": self.caller, "call": self.info}
        if self.compiled.flow.uses_time and self.clock is not None:
            scope |= self.compiled.flow.time_scope(self.clock.wall())
        if event is not None:
            scope["event"] = event
        return scope

    # -- its states --------------------------------------------------------------------------

    def enter(self, name: str, timers: Timers) -> None:
        """A new entry of state `name`: its timers armed, its actions to do."""
        state = self.compiled.flow.states[name]
        self.entry += 1
        for timer in state.timers:
            timers.arm(self, FLOW, timer.event, timer.seconds)
        self.todo.extend(range(len(state.actions)))

    def leave(self, name: str) -> tuple[list[str], list[Running]]:
        """Leave state `name`: its unsent actions (returned by name) dropped and its timers
        disarmed; returns also the steps it started, to be told."""
        actions = self.compiled.flow.states[name].actions
        dropped = [actions[index].name for index in self.todo]
        self.todo.clear()
        self.holder = ""
        self.timers = {key: due for key, due in self.timers.items() if key[0] != FLOW}
        return dropped, [r for r in self.running.values() if r.entry == self.entry]

    def actions(self) -> tuple[Action, ...]:
        """What `todo` counts in: the current state's actions, or the flow's after_call."""
        flow = self.compiled.flow
        return flow.after_call if self.after else flow.states[self.current].actions

    def start_step(self, index: int) -> tuple[Running, dict[str, Any]]:
        """The step for action `index` of the current state (or of after_call), and its
        parameters, rendered; it holds the next actions until it releases them."""
        action = self.actions()[index]
        spec = ACTIONS[action.name]
        params = {}
        if action.params:  # only then is the scope worth building
            scope, escaped = self.scope(), spec.escaped
            params = {
                key: render(v, scope, escaped.get(key, "")) for key, v in action.params.items()
            }
        self.counters["step"] += 1
        step_id = f"{action.name}-{self.counters['step']}"
        running = Running(step_id, action.name, self.entry, spec.step.create(spec, params))
        self.running[step_id], self.holder = running, step_id
        return running, params

    def steps_done(self) -> bool:
        """The steps the current state started are all over (answered, played …)."""
        return all(running.entry != self.entry for running in self.running.values())

    def count_entry(self, name: str) -> tuple[str, str] | None:
        """Count entering a state against the loop guards: the guard it trips and why, if any."""
        flow, state = self.compiled.flow, self.compiled.flow.states[name]
        self.steps_taken += 1
        if self.steps_taken > flow.max_steps:
            return "max_steps", f"more than {flow.max_steps} state changes"
        if state.max_visits:  # counted only where a limit is set
            self.visits[name] += 1
            if self.visits[name] > state.max_visits:
                return "max_visits", f"entered {name} more than {state.max_visits} times"
        return None

    def channels(self) -> list[tuple[str, str]]:
        """Its channels and who owns each: its own (the flow), and those its steps made."""
        made = [
            (resource.removeprefix("channel:"), step_id)
            for resource, step_id in self.resources.items()
            if resource.startswith("channel:")
        ]
        return [(self.channel_id, FLOW), *made]

    def bridges(self) -> list[tuple[str, str]]:
        """The bridges its steps own, and which step owns each."""
        return [
            (resource.removeprefix("bridge:"), step_id)
            for resource, step_id in self.resources.items()
            if resource.startswith("bridge:")
        ]

    def next_id(self, kind: str) -> str:
        self.counters[kind] += 1
        return f"{self.channel_id}-{kind}-{self.counters[kind]}"

    # Called by the machine from inside `send`: record only, the runtime acts afterwards.
    def entered(self, state: str) -> None:
        self.moves.append(("entered", state))

    def left(self, state: str) -> None:
        self.moves.append(("left", state))

    def take_moves(self) -> list[tuple[str, str]]:
        moves, self.moves = self.moves, []
        return moves

    # -- its requests ------------------------------------------------------------------------

    def enqueue(self, request: Request, owner: str, tag: str) -> None:
        """A step's request, after the others it queued but before the flow's next actions."""
        self.counters["request"] += 1
        self.queue.append(Queued(self.counters["request"], request, owner, tag))

    def withdraw(self, owner: str, tag: str) -> bool:
        """Take a queued request back; True if it was still waiting."""
        for item in self.queue:
            if item.owner == owner and item.tag == tag:
                self.queue.remove(item)
                return True
        return False

    def new_request_number(self) -> int:
        self.counters["request"] += 1
        return self.counters["request"]


def new_call(event: Event, compiled: CompiledFlow, now: float) -> Call:
    """The call of the channel a StasisStart announces, with its call data."""
    channel = event.section("channel")
    call = Call(event.channel, str(channel.get("name") or event.channel), compiled, now)
    call.caller, call.info = call_data(call, channel, event.get("args"))
    return call


def call_data(
    call: Call, channel: Mapping[str, Any], args: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What `caller` and `call` hold in expressions, from the channel of its StasisStart."""
    caller, dialplan = _section(channel, "caller"), _section(channel, "dialplan")
    info = {
        "id": call.channel_id,
        "channel": call.channel_name,
        "app": call.flow_name,
        "extension": to_text(dialplan.get("exten", "")),
        "context": to_text(dialplan.get("context", "")),
        "args": [to_text(arg) for arg in args] if isinstance(args, list) else [],
        "language": to_text(channel.get("language", "")),
    }
    number, name = to_text(caller.get("number", "")), to_text(caller.get("name", ""))
    return {"number": number, "name": name}, info


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def hangup_request(channel_id: str) -> Request:
    return Request("DELETE", f"channels/{quote(channel_id, safe='')}", action="hangup")
