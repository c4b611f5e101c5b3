"""The dispatcher: one thread owns every call, and handles events, replies and timers in order.

Messages (ARI events, action replies, reconnect news) are `post`ed, from any thread, and handled
by `drain` on the owning thread, which also runs `fire_due_timers`: the live loop in
`ari/session.py` or the simulator. The dispatcher never waits on the network: actions go to the
transport, whose reply comes back as a message.
A call's actions run one at a time, in order; a call's failure ends that call and no other.
"""

from __future__ import annotations

import queue
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..ari.messages import AriResponse, Transport
from ..flow.model import Action
from .actions import LEAVING, hangup_request, request_for
from .call import Call
from .clock import Clock
from .journal import Journal
from .machine import CompiledFlow
from .timers import TimerHeap

QUIET_EVENTS = frozenset({"ChannelVarset"})  # five a call; logged at debug level only


@dataclass(frozen=True)
class ActionDone:
    call: Call
    action: Action
    response: AriResponse
    started: float
    playback_id: str = ""


@dataclass(frozen=True)
class Reconcile:
    """After a reconnect: the channels Asterisk still has in `app`."""

    app: str
    channel_ids: frozenset[str]


@dataclass(frozen=True)
class _Timeout:
    call: Call
    generation: int
    event: str
    text: str
    due: float


class Dispatcher:
    def __init__(
        self,
        flows: Iterable[CompiledFlow],
        transport: Transport,
        clock: Clock,
        journal: Journal,
    ) -> None:
        self.flows = {compiled.flow.app: compiled for compiled in flows}
        self.transport = transport
        self.clock = clock
        self.journal = journal
        self.calls: dict[str, Call] = {}
        self.timers: TimerHeap[_Timeout] = TimerHeap()
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()

    # -- the loop ----------------------------------------------------------------------------

    def post(self, message: object) -> None:
        """Thread-safe: hand a message (an ARI event dict, ActionDone, …) to the dispatcher."""
        self.inbox.put(message)

    def seconds_to_next_timer(self) -> float | None:
        next_due = self.timers.next_due()
        return None if next_due is None else max(0.0, next_due - self.clock.now())

    def drain(self) -> None:
        """Process every message posted so far, in order."""
        while True:
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            self.process(message)

    def process(self, message: object) -> None:
        try:
            if isinstance(message, dict):
                self._on_event(message)
            elif isinstance(message, ActionDone):
                self._on_action_done(message)
            elif isinstance(message, _Timeout):
                self._on_timeout(message)
            elif isinstance(message, Reconcile):
                self._on_reconcile(message)
        except Exception as error:  # a bug must end at most the call it happened in
            self._on_bug(message, error)

    def fire_due_timers(self) -> None:
        for timeout in self.timers.pop_due(self.clock.now()):
            self.process(timeout)

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if kind == "StasisStart":
            self._start(event)
            return
        call = self.calls.get(_channel_id(event))
        if call is None:
            return  # not a call we own
        self._record_event(call, kind, event)
        if kind == "StasisEnd":
            call.left_app = True
        call.playback_finished(event)
        if kind in call.compiled.events and call.concerns_flow(event):
            self._send(call, kind, kind, ari=event)
        if kind == "StasisEnd" and self.calls.get(call.channel_id) is call:
            self._end(call, "left the app")

    def _on_timeout(self, timeout: _Timeout) -> None:
        call = timeout.call
        if self.calls.get(call.channel_id) is call and call.generation == timeout.generation:
            late_ms = round((self.clock.now() - timeout.due) * 1000, 2)
            self._send(call, timeout.event, f"after {timeout.text}", late_ms=late_ms)

    def _start(self, event: dict[str, Any]) -> None:
        channel = event.get("channel") or {}
        compiled = self.flows.get(event.get("application", ""))
        channel_id = channel.get("id", "")
        if compiled is None or not channel_id or channel_id in self.calls:
            return
        call = Call(channel_id, channel.get("name", channel_id), compiled, self.clock.now())
        self.calls[channel_id] = call
        caller = (channel.get("caller") or {}).get("number", "")
        exten = (channel.get("dialplan") or {}).get("exten", "")
        self.journal.record(
            call.channel_name,
            "start",
            f"entered {compiled.flow.app} (caller {caller or '-'}, extension {exten or '-'})",
            flow=compiled.flow.app,
            caller=caller,
            exten=exten,
        )
        call.machine = compiled.new_machine(call)
        self._after_step(call, "", "StasisStart")

    def _record_event(self, call: Call, kind: str, event: dict[str, Any]) -> None:
        detail = _event_detail(kind, event)
        message = f"event {kind}" + (f" ({detail})" if detail else "")
        level = "debug" if kind in QUIET_EVENTS else "info"
        self.journal.record(call.channel_name, "event", message, event=kind, level=level)

    # -- the machine -------------------------------------------------------------------------

    def _send(
        self, call: Call, event: str, reason: str, ari: dict[str, Any] | None = None, **fields: Any
    ) -> bool:
        """Give the machine an event; True if it changed state."""
        source = call.current
        call.machine.send(event, ari=ari)
        return self._after_step(call, source, reason, **fields)

    def _after_step(self, call: Call, source: str, reason: str, **fields: Any) -> bool:
        entered = call.take_entered()
        call.steps += len(entered)
        if call.steps > call.compiled.flow.max_steps:
            message = f"loop guard: more than {call.compiled.flow.max_steps} state changes"
            self.journal.record(call.channel_name, "error", message, level="error")
            self._hang_up(call)
            self._end(call, "loop guard", error=True)
            return True
        if call.dropped:
            # By design (the flow moved on), but never silently: under overload it shows here.
            message = (
                f"left {source} before its actions were sent: dropped {', '.join(call.dropped)}"
            )
            self.journal.record(call.channel_name, "action", message, level="warning")
            call.dropped = []
        for target in entered:
            self.journal.record(
                call.channel_name,
                "transition",
                f"{source or '(start)'} -> {target} ({reason})",
                source=source,
                target=target,
                reason=reason,
                **fields,
            )
            source = target
            self._enter(call, target)
        self._pump(call)
        return bool(entered)

    def _enter(self, call: Call, name: str) -> None:
        state = call.compiled.flow.states[name]
        now = self.clock.now()
        for timer in state.timers:
            due = now + timer.seconds
            self.timers.schedule(due, _Timeout(call, call.generation, timer.event, timer.text, due))
        call.outbox.extend(state.actions)

    # -- actions -----------------------------------------------------------------------------

    def _pump(self, call: Call) -> None:
        """Send the call's next action, if none is in flight; finish the call when all is done."""
        if call.busy:
            return
        if call.outbox:
            action = call.outbox.popleft()
            playback_id = self._playback_for(call, action)
            if action.name == "stop_playback" and not playback_id:
                self._pump(call)  # nothing is playing: nothing to stop
                return
            call.busy = True
            call.leaving |= action.name in LEAVING
            started = self.clock.now()
            self.transport.submit(
                request_for(action, call.channel_id, playback_id),
                lambda response: self.post(
                    ActionDone(call, action, response, started, playback_id)
                ),
            )
        elif call.finished:
            self._finish(call)

    def _playback_for(self, call: Call, action: Action) -> str:
        """The playback a play starts, or the next one a stop_playback stops (one per request)."""
        if action.name == "play":
            return call.new_playback_id()
        if action.name == "stop_playback" and call.playing:
            playback_id = call.playing.pop()
            if call.playing:
                call.outbox.appendleft(action)  # and then the next one
            return playback_id
        return ""

    def _on_action_done(self, done: ActionDone) -> None:
        call, action, response = done.call, done.action, done.response
        call.busy = False
        if self.calls.get(call.channel_id) is not call:
            return  # the call ended while this action was in flight
        took_ms = round((self.clock.now() - done.started) * 1000, 1)
        fields = {"action": action.name, "status": response.status, "took_ms": took_ms}
        if response.ok or (response.gone and action.name == "stop_playback"):
            # A playback that is gone had simply finished: that is what we wanted.
            self.journal.record(call.channel_name, "action", f"{action.name} ok", **fields)
            self._pump(call)
        elif response.gone:
            self.journal.record(
                call.channel_name, "action", f"{action.name}: channel gone", **fields
            )
            self._end(call, "channel gone")
        else:
            call.playing.discard(done.playback_id)  # a play that failed plays nothing
            self._on_action_failed(call, action, response, fields)

    def _on_action_failed(
        self, call: Call, action: Action, response: AriResponse, fields: dict[str, Any]
    ) -> None:
        """The flow's ActionFailed transition handles it, if it has one that matches;
        otherwise the call is hung up. Either way the state's remaining actions are dropped."""
        call.outbox.clear()
        handles = "ActionFailed" in call.compiled.events
        message = f"{action.name} failed: {response.describe()}"
        level = "warning" if handles else "error"
        self.journal.record(call.channel_name, "error", message, level=level, **fields)
        failure = {"type": "ActionFailed", "action": action.name, "status": response.status}
        if handles and self._send(call, "ActionFailed", f"{action.name} failed", ari=failure):
            return
        self._hang_up(call)
        self._end(call, f"{action.name} failed", error=True)

    def _finish(self, call: Call) -> None:
        """The flow reached a final state and its actions are done: release the channel."""
        if not (call.left_app or call.leaving):
            self._hang_up(call)
        self._end(call, "flow finished")

    def _hang_up(self, call: Call) -> None:
        if not call.left_app:
            self.transport.submit(hangup_request(call.channel_id), lambda response: None)

    def _end(self, call: Call, reason: str, *, error: bool = False) -> None:
        if self.calls.get(call.channel_id) is not call:
            return
        del self.calls[call.channel_id]
        call.generation += 1  # its timers go stale
        call.outbox.clear()
        seconds = self.clock.now() - call.started_at
        self.journal.record(
            call.channel_name,
            "end",
            f"call ended after {seconds:.3f}s in {call.current}: {reason}",
            reason=reason,
            state=call.current,
            error=error,
            level="error" if error else "info",
        )

    # -- reconnects and bugs -----------------------------------------------------------------

    def _on_reconcile(self, reconcile: Reconcile) -> None:
        for call in list(self.calls.values()):
            if call.flow_name == reconcile.app and call.channel_id not in reconcile.channel_ids:
                self._end(call, "channel vanished while disconnected")

    def _on_bug(self, message: object, error: Exception) -> None:
        call = self._call_of(message)
        where = call.channel_name if call else "dispatcher"
        detail = "".join(traceback.format_exception(error)).rstrip()
        self.journal.record(
            where, "error", f"bug in flowrunner, please report: {detail}", level="error"
        )
        if call is not None:
            self._hang_up(call)
            self._end(call, "internal error", error=True)

    def _call_of(self, message: object) -> Call | None:
        if isinstance(message, ActionDone | _Timeout):
            return message.call
        if isinstance(message, dict):
            return self.calls.get(_channel_id(message))
        return None


def _channel_id(event: dict[str, Any]) -> str:
    """The channel an event concerns: its `channel`, or a playback/recording's target."""
    channel = event.get("channel")
    if isinstance(channel, dict):
        return str(channel.get("id", ""))
    for key in ("playback", "recording"):
        target = (event.get(key) or {}).get("target_uri", "")
        if target.startswith("channel:"):
            return str(target[len("channel:") :])
    return ""


def _event_detail(kind: str, event: dict[str, Any]) -> str:
    channel = event.get("channel") or {}
    if kind == "ChannelStateChange":
        return str(channel.get("state", ""))
    if kind == "ChannelDtmfReceived":
        return f"digit {event.get('digit', '')}"
    if kind == "ChannelVarset":
        return f"{event.get('variable', '')}"
    if kind in ("ChannelHangupRequest", "ChannelDestroyed"):
        return f"cause {event.get('cause', '')}"
    return ""
