"""The runtime: one thread owns every call, and handles events, replies and timers in order.

Messages (ARI events, replies, reconnect news) are `post`ed from any thread and handled on the
owning thread, with the timers due: by `run_due` at each wake-up of the live loop
(`ari/session.py`), or message by message in the simulator and the tests. It never waits on
the network: requests go to the transport (or the web client, or the speech port), whose reply
comes back as a message.

It names no step. Each action is run by its step (`flowrunner/steps/`), which owns what it
creates: an event goes to the owner of the channel or media it concerns, a reply or a timer to
the step that asked for it, and the caller's own events are offered to the running steps before
the flow. An event about a bridge goes also to the steps of other calls that own that bridge (a
conference's participants hear of each other). A call sends one request at a time, in order;
a call's failure ends that call only.
"""

from __future__ import annotations

import queue
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from ..flow.model import THEN
from ..ports import (
    STEP_CHANNEL,
    Clock,
    Event,
    Journal,
    Keeper,
    Speech,
    Tap,
    Transport,
    WebClient,
)
from . import after_call
from .call import FLOW, Call, Running, new_call
from .context import StepContext
from .journal import record_event, recorded, reply_line, start_line, step_params, tell
from .keeping import Keeping
from .machine import CompiledFlow
from .messages import Due, NoSpeech, NoWebClient, Reconcile, Replied
from .reconcile import KeptFound, Reconciler, Stray
from .sending import Sender
from .timers import Timers

INTERNAL_ERROR = "internal error"
# What an ARI frame may be, and the messages that name their call: tuples, built once (a union
# written in the call, `dict | list | …`, is built anew each time: 10k instructions a message)
_ARI_FRAME = (dict, list, str, int, float, type(None))
_OF_A_CALL = (Replied, Due)


class Runtime:
    def __init__(
        self,
        flows: Iterable[CompiledFlow],
        transport: Transport,
        clock: Clock,
        journal: Journal,
        web: WebClient | None = None,
        inbox: queue.SimpleQueue[object] | None = None,
        keeper: Keeper | None = None,
        speech: Speech | None = None,
        tap: Tap | None = None,
        keep_within: float = 0.0,
    ) -> None:
        """`keep_within`: seconds a changed call may wait to be kept with the changes that follow
        (`Keeping`); 0 keeps it after each drain (the simulator, the tests)."""
        self.flows = {compiled.flow.app: compiled for compiled in flows}
        self.clock, self.journal, self.tap = clock, journal, tap
        self.inbox: queue.SimpleQueue[object] = inbox or queue.SimpleQueue()
        self.sender = Sender(
            transport, web or NoWebClient(), clock, self.post, speech or NoSpeech(), tap
        )
        self.timers = Timers(clock)
        self.calls: dict[str, Call] = {}
        self.channels: dict[str, tuple[Call, str]] = {}  # channel -> its call, owning step
        self.bridges: dict[str, dict[str, str]] = {}  # bridge -> call id -> its owning step
        self.reconciler = Reconciler(self)
        self.keeping = Keeping(keeper, clock, keep_within)
        self.handlers: dict[type, Callable[[Any], None]] = {
            Event: self._on_event,
            Replied: self._on_reply,
            Due: self._on_timer,
            Reconcile: self.reconciler.reconcile,
            Stray: self.reconciler.stray,
            KeptFound: self.reconciler.found,
        }

    # -- the loop ----------------------------------------------------------------------------

    def post(self, message: object) -> None:
        """Thread-safe: hand a message (an ARI event dict, a reply …) to the runtime."""
        self.inbox.put(message)

    def drain(self) -> None:
        """Process every message posted so far, in order; then keep the calls they changed (once
        due: `Keeping`)."""
        self._process_inbox()
        self.keeping.flush(self.clock.now())

    def fire_due_timers(self) -> None:
        for due in self.timers.pop_due():
            self.process(due)

    def seconds_to_next_timer(self) -> float | None:
        """Until the next timer, or until the changed calls are kept if that is sooner."""
        return self._next_in(self.clock.now())

    def run_due(self) -> float | None:
        """What the live loop calls at each wake-up: the messages posted so far, the timers due
        and the messages they caused; then the calls they changed are kept (once due). Returns
        the seconds to the next timer or keeping, None if there is none."""
        self._process_inbox()
        self.fire_due_timers()
        self._process_inbox()
        now = self.clock.now()
        self.keeping.flush(now)
        return self._next_in(now)

    def _process_inbox(self) -> None:
        inbox = self.inbox
        while not inbox.empty():  # this thread alone takes from it: not empty stays so
            self.process(inbox.get_nowait())

    def _next_in(self, now: float) -> float | None:
        timer, keep = self.timers.next_due(), self.keeping.due_at()
        due = timer if keep is None else keep if timer is None else min(timer, keep)
        return None if due is None else max(0.0, due - now)

    def process(self, message: object) -> None:
        """Handle one message; then the call it changed is kept (when calls are kept)."""
        try:
            if isinstance(message, _ARI_FRAME):
                message = Event.from_ari(message)  # an ARI frame: None when not an event
                if message is None:
                    return
            handler = self.handlers.get(type(message))
            if handler is None:
                raise TypeError(f"no handler for a {type(message).__name__} message")
            handler(message)
            self.keeping.changed(self._call_of(message))
        except Exception as error:  # a bug must end at most the call it happened in
            self._on_bug(message, error)

    # -- events, replies, timers: each to its owner ------------------------------------------

    def _on_event(self, event: Event) -> None:
        owner = self.channels.get(event.channel)
        if owner is not None:
            self._channel_event(*owner, event)
        elif event.type == "StasisStart":
            self._start(event)
        if event.bridge:
            self._bridge_event(event, owner[0].channel_id if owner else "")

    def _channel_event(self, call: Call, step_id: str, event: Event) -> None:
        if step_id:  # a channel a step made, e.g. a dial's callee
            if self.tap is not None:
                self.tap.event(call.channel_id, event.fields)
            self._offer(call, step_id, event)
        else:
            self._caller_event(call, event)
        self.pump(call)

    def _bridge_event(self, event: Event, had_it: str) -> None:
        """To the owners of the bridge in the calls that did not have the event through their
        channel; each call on its own: a bug in one ends that call only."""
        for call_id, step_id in list(self.bridges.get(event.bridge, {}).items()):
            call = self.calls.get(call_id)
            if call is None or call_id == had_it:
                continue
            try:
                self._offer(call, step_id, event)
                self.pump(call)
                self.keeping.changed(call)
            except Exception as error:
                self._on_bug_in(call, error)

    def own_bridge(self, bridge: str, call: Call, step_id: str) -> None:
        self.bridges.setdefault(bridge, {})[call.channel_id] = step_id

    def disown_bridge(self, bridge: str, call: Call) -> None:
        owners = self.bridges.get(bridge, {})
        owners.pop(call.channel_id, None)
        if not owners:
            self.bridges.pop(bridge, None)

    def _caller_event(self, call: Call, event: Event) -> None:
        hide = any(running.step.hides(event) for running in call.running.values())
        if self.tap is not None:
            self.tap.event(call.channel_id, recorded(event, hide, call.secrets))
        record_event(self.journal, call, event, hide=hide)
        if event.type == "StasisEnd":
            call.left_app = True
            call.info.setdefault("last_state", call.current)  # where the caller left it
        if event.media:  # a playback's or recording's: its owner decides what the flow sees
            self._offer(call, call.resources.get(event.media, ""), event)
        elif not any(self._offer(call, step_id, event) for step_id in list(call.running)):
            self.to_flow(call, event.type, event.fields, event.type)
        if event.type == "StasisEnd":
            self._left(call)

    def _left(self, call: Call) -> None:
        """The channel left the app. If the flow had sent it away (a hangup, a continue) and
        is now in its final state, the call has finished, even with that request's answer still
        to come: a loaded Asterisk sends the StasisEnd of a hangup before the hangup's answer,
        and the order of the two must not change how the call ended."""
        state = call.compiled.flow.states.get(call.current)
        if call.leaving and state is not None and state.final:
            self._finish(call)
        else:
            self.end(call, "left the app")

    def _offer(self, call: Call, step_id: str, event: Event) -> bool:
        running = call.running.get(step_id)
        return running is not None and running.step.on_event(self.context(call, running), event)

    def _on_reply(self, replied: Replied) -> None:
        call = self.calls.get(replied.call)
        answered = self.sender.answered(call, replied) if call else None
        if call is None or answered is None:
            return  # the call is over
        pending, took_ms = answered
        running = call.running.get(pending.owner)
        if running is not None:
            ctx = self.context(call, running, took_ms)
            running.step.on_reply(ctx, pending.tag, replied.response)
        elif pending.action:  # nobody waits for it: a clean-up, or a step that is over
            line, fields = reply_line(pending.action, replied.response, took_ms)
            tell(self.journal, call, "action", line, **fields)
        self.pump(call)

    def _on_timer(self, due: Due) -> None:
        call = self.calls.get(due.call)
        deadline = self.timers.take(call, due) if call else None
        if call is None or deadline is None:
            return  # cancelled, replaced, or its call is over
        if due.owner == FLOW and due.tag == after_call.BOUND:
            after_call.over(self, call, cut=True)
        elif due.owner == FLOW and due.tag == THEN:
            self.to_flow(call, THEN, None, "actions done")
        elif due.owner == FLOW:
            late_ms = round((self.clock.now() - deadline) * 1000, 2)
            timer = call.compiled.flow.states[call.current].timer_of(due.tag)
            self.to_flow(call, due.tag, None, f"after {timer.text}", late_ms=late_ms)
        elif due.owner in call.running:
            running = call.running[due.owner]
            running.step.on_timer(self.context(call, running), due.tag)
        self.pump(call)

    def context(self, call: Call, running: Running, took_ms: float | None = None) -> StepContext:
        return StepContext(self, call, running, took_ms)

    # -- a call's start, and its machine -----------------------------------------------------

    def _start(self, event: Event) -> None:
        compiled, args = self.flows.get(event.app), event.get("args")
        if compiled is None or not event.channel or event.channel in self.calls:
            return
        if isinstance(args, list) and args[:1] == [STEP_CHANNEL]:
            return  # a channel made for a call that is over: not a call of its own
        call = new_call(event, compiled, self.clock.now())
        self.adopt(call)
        if self.tap is not None:
            flow = compiled.flow
            self.tap.started(call.channel_id, flow.app, flow.version, flow.path)
            self.tap.event(call.channel_id, event.fields)
        message, fields = start_line(call)
        tell(self.journal, call, "start", message, **fields)
        compiled.start(call)
        self.after_moves(call, "", "StasisStart")

    def adopt(self, call: Call) -> None:
        """Own a call and what its steps own: a new call, or one restored from a snapshot."""
        self.calls[call.channel_id] = call
        call.clock = self.clock
        for channel, step_id in [] if call.ended else call.channels():  # after_call: none
            self.channels[channel] = (call, step_id)
        for bridge, step_id in call.bridges():
            self.own_bridge(bridge, call, step_id)
        self.timers.rearm(call)

    def to_flow(self, call: Call, event: str, payload: Any, reason: str, **fields: Any) -> bool:
        """Give the call's machine an event; True if it took a transition."""
        if call.ended or event not in call.compiled.events:
            return False
        source, call.held = call.current, ""
        call.compiled.send(call, event, payload)
        return self.after_moves(call, source, reason, event=event, guard=call.held, **fields)

    def after_moves(self, call: Call, source: str, reason: str, **fields: Any) -> bool:
        """Act on the states the machine left and entered: exits, loop guards, entries."""
        moves, told = call.take_moves(), self.journal.wants("transition", "info")
        for move, state in moves:
            if move == "left":
                self._leave(call, state)
                continue
            if told:
                line = f"{source or '(start)'} -> {state} ({reason})"
                fields |= {"source": source, "target": state, "reason": reason}
                tell(self.journal, call, "transition", line, **fields)
            source = state
            tripped = call.count_entry(state)
            if tripped:
                self._limit(call, *tripped)
                return True
            call.enter(state, self.timers)
        self.pump(call)
        return bool(moves)

    def _leave(self, call: Call, name: str) -> None:
        """Its unsent actions are dropped, its timers cancelled, and the steps it started told
        (a prompt stops, a dial still ringing hangs up)."""
        dropped, started = call.leave(name)
        for running in started:
            running.step.on_exit(self.context(call, running))
        if dropped:  # by design (the flow moved on), but never silently: overload shows here
            message = f"left {name} before its actions were sent: dropped {', '.join(dropped)}"
            tell(self.journal, call, "action", message, level="warning")

    def _limit(self, call: Call, limit: str, message: str) -> None:
        """The first trip raises LimitReached (counts start afresh); the next ends the call."""
        first = not call.guard_tripped
        call.guard_tripped, call.steps_taken = True, 0
        call.visits.clear()
        level = "warning" if first else "error"
        tell(self.journal, call, "error", f"loop guard: {message}", level=level)
        payload = {"type": "LimitReached", "limit": limit, "state": call.current}
        self.raise_or_end(call, first, payload, f"{limit} reached", "loop guard", error=True)

    # -- actions -----------------------------------------------------------------------------

    def pump(self, call: Call) -> None:
        """Send the call's next request, else start its next action; finish when all is done."""
        while (call.after or not call.ended) and not call.sending:
            if call.queue:
                self.sender.send(call, call.queue.popleft())
            elif call.todo and not call.holder:
                self._start_action(call, call.todo.popleft())
            else:
                if not call.holder:
                    self._all_started(call)
                return

    def _all_started(self, call: Call) -> None:
        """Every action of the state has started: a final state ends the call; a state with a
        `then` moves on once its steps are done too, through a timer due at once (a timer,
        so that it is kept with the call, is cancelled by leaving, and recurses into nothing)."""
        state = call.compiled.flow.states.get(call.current)
        if call.after:
            if call.steps_done():
                after_call.over(self, call)
        elif state is None:  # not started yet
            return
        elif state.final:
            self._finish(call)
        elif state.goes_on and (FLOW, THEN) not in call.timers and call.steps_done():
            self.timers.arm(call, FLOW, THEN, 0)

    def _start_action(self, call: Call, index: int) -> None:
        running, params = call.start_step(index)
        if self.journal.wants("step", "debug"):  # for traces: the parameters it was given
            shown = step_params(params, call.secrets)
            fields = {"action": running.action, "params": shown, "level": "debug"}
            tell(self.journal, call, "step", f"{running.action} started", **fields)
        running.step.start(self.context(call, running))

    # -- failures and the end of a call ------------------------------------------------------

    def raise_or_end(
        self, call: Call, wanted: bool, payload: dict[str, Any], reason: str, why: str, error: bool
    ) -> None:
        """Raise ActionFailed or LimitReached when `wanted`; if no transition takes it, the call
        is hung up and ends (the flow-level default)."""
        if wanted and self.to_flow(call, payload["type"], payload, reason):
            return
        self.sender.hang_up(call)
        by = "loop_guard" if payload["type"] == "LimitReached" else "failure"
        self.end(call, why, error=error, by=by)

    def _finish(self, call: Call) -> None:
        """The flow reached a final state and its actions are done: release the channel."""
        by = "caller" if call.left_app and not call.leaving else "flow"  # it hung up first
        if not call.leaving:
            self.sender.hang_up(call)
        self.end(call, "flow finished", by=by)

    def end(self, call: Call, reason: str, *, error: bool = False, by: str = "") -> None:
        """The call is over. `by` says who ended it, for logs and flow tests: the flow, the
        caller, the loop guard, an unhandled failure, or a bug; by default the flow when it
        had asked the channel to leave, else the caller."""
        if call.ended:
            return
        by = by or ("flow" if call.leaving else "caller")
        call.ended = True  # from here on, what its steps send goes at once, unanswered
        for running in list(call.running.values()):
            running.step.on_end(self.context(call, running))
        call.queue.clear()
        self.keeping.ended(call)
        for channel, _ in call.channels():
            self.channels.pop(channel, None)
        for bridge, _ in call.bridges():
            self.disown_bridge(bridge, call)
        message = f"call ended after {self.clock.now() - call.started_at:.3f}s in {call.current}"
        fields = {"reason": reason, "state": call.current, "error": error, "by": by}
        level = "error" if error else "info"
        tell(self.journal, call, "end", f"{message}: {reason}", level=level, **fields)
        if call.compiled.flow.after_call and reason != INTERNAL_ERROR:
            after_call.begin(self, call, reason if error else "")
        else:
            del self.calls[call.channel_id]

    # -- bugs --------------------------------------------------------------------------------

    def _on_bug(self, message: object, error: Exception) -> None:
        self._on_bug_in(self._call_of(message), error)

    def _on_bug_in(self, call: Call | None, error: Exception) -> None:
        detail = "".join(traceback.format_exception(error)).rstrip()
        line = f"bug in flowrunner, please report: {detail}"
        if call is None:
            self.journal.record("runtime", "error", line, level="error")
        else:
            tell(self.journal, call, "error", line, level="error")
        if call is not None and not call.ended:
            self.sender.hang_up(call)
            try:
                self.end(call, INTERNAL_ERROR, error=True, by="bug")
            except Exception:  # the bug may be in a step's clean-up: the call ends anyway
                self.calls.pop(call.channel_id, None)

    def _call_of(self, message: object) -> Call | None:
        if isinstance(message, _OF_A_CALL):
            return self.calls.get(message.call)
        owner = self.channels.get(message.channel) if isinstance(message, Event) else None
        return owner[0] if owner else None
