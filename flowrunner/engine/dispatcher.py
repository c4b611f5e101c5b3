"""The dispatcher: one thread owns every call, and handles events, replies and timers in order.

Messages (ARI events, action replies, web replies, reconnect news) are `post`ed, from any
thread, and handled by `drain` on the owning thread, which also runs `fire_due_timers`: the live
loop in `ari/session.py` or the simulator. The dispatcher never waits on the network: requests go
to the transport (or the web client), whose reply comes back as a message.
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
from ..flow.schema import not_found_meanings
from ..flow.templates import to_text
from ..web.messages import WebClient
from .actions import LEAVING, LOCAL, BadRequest, hangup_request, render, request_for
from .call import Call
from .clock import Clock
from .collect import CollectStep
from .dial import PEER_ACTIONS, PEER_ARG, DialStep
from .journal import Journal, words
from .machine import CompiledFlow
from .timers import TimerHeap
from .webhook import HttpStep, WebReply

QUIET_EVENTS = frozenset({"ChannelVarset"})  # five a call; logged at debug level only
ENDED_BY_STOP = frozenset({"stop_playback", "stop_recording"})  # one request per item


@dataclass(frozen=True)
class ActionDone:
    call: Call
    action: Action
    response: AriResponse
    started: float
    media: str = ""  # the playback or recording the action started


@dataclass(frozen=True)
class Reconcile:
    """After a reconnect: the channels Asterisk still has in `app`."""

    app: str
    channel_ids: frozenset[str]


@dataclass(frozen=True)
class _Timeout:
    call: Call
    generation: int
    kind: str  # "move" (a flow timer), "collect", "http" or "dial"
    event: str
    text: str
    due: float
    token: int = 0


class Dispatcher:
    def __init__(
        self,
        flows: Iterable[CompiledFlow],
        transport: Transport,
        clock: Clock,
        journal: Journal,
        web: WebClient | None = None,
    ) -> None:
        self.flows = {compiled.flow.app: compiled for compiled in flows}
        self.transport = transport
        self.clock = clock
        self.journal = journal
        self.calls: dict[str, Call] = {}
        self.peers: dict[str, Call] = {}  # a dialled callee's channel -> the call that dialled
        self.timers: TimerHeap[_Timeout] = TimerHeap()
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.collecting = CollectStep(self)
        self.dialling = DialStep(self)
        self.webhooks = HttpStep(self, web)

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
            elif isinstance(message, WebReply):
                self.webhooks.reply(message)
            elif isinstance(message, Reconcile):
                self._on_reconcile(message)
        except Exception as error:  # a bug must end at most the call it happened in
            self._on_bug(message, error)

    def fire_due_timers(self) -> None:
        for timeout in self.timers.pop_due(self.clock.now()):
            self.process(timeout)

    # -- what the steps (collect, dial, http) use -------------------------------------------

    def schedule(
        self, call: Call, seconds: float, kind: str, event: str = "", token: int = 0, text: str = ""
    ) -> None:
        """A timer for the call's current state: it goes stale when the state is left."""
        due = self.clock.now() + seconds
        text = text or f"{seconds:g}s"
        timeout = _Timeout(call, call.generation, kind, event or kind, text, due, token)
        self.timers.schedule(due, timeout)

    def note(self, call: Call, message: str, **fields: Any) -> None:
        self.journal.record(call.channel_name, "action", message, **fields)

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind, channel_id = event.get("type", ""), _channel_id(event)
        if channel_id in self.peers:
            self.dialling.peer_event(self.peers[channel_id], kind, event)
            return
        if kind == "StasisStart":
            self._start(event)
            return
        call = self.calls.get(channel_id)
        if call is None:
            return  # not a call we own
        secret = call.collector is not None and call.collector.secret
        self.record_event(call, kind, event, hide=secret and kind == "ChannelDtmfReceived")
        call.left_app |= kind == "StasisEnd"
        call.track_media(event)
        if kind == "PlaybackFinished":
            self.collecting.prompt_finished(call, event)
        if kind == "ChannelDtmfReceived" and call.collector is not None:
            self.collecting.key(call, call.collector, str(event.get("digit", "")))
        elif kind in call.compiled.events and call.concerns_flow(event):
            self.send(call, kind, kind, ari=event)
        if kind == "StasisEnd" and self.calls.get(call.channel_id) is call:
            self._end(call, "left the app")

    def _on_timeout(self, timeout: _Timeout) -> None:
        call = timeout.call
        if self.calls.get(call.channel_id) is not call or call.generation != timeout.generation:
            return
        if timeout.kind == "collect":
            self.collecting.timeout(call, timeout.token)
        elif timeout.kind == "http":
            self.webhooks.timeout(call, timeout.token)
        elif timeout.kind == "dial":
            self.dialling.timeout(call, timeout.token)
        else:
            late_ms = round((self.clock.now() - timeout.due) * 1000, 2)
            self.send(call, timeout.event, f"after {timeout.text}", late_ms=late_ms)

    def _start(self, event: dict[str, Any]) -> None:
        channel = event.get("channel") or {}
        compiled = self.flows.get(event.get("application", ""))
        channel_id = channel.get("id", "")
        if compiled is None or not channel_id or channel_id in self.calls:
            return
        call = Call(channel_id, channel.get("name", channel_id), compiled, self.clock.now())
        self.calls[channel_id] = call
        _call_data(call, channel, event)
        caller, exten = call.caller["number"], call.info["extension"]
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

    def record_event(
        self, call: Call, kind: str, event: dict[str, Any], who: str = "", hide: bool = False
    ) -> None:
        detail = "a key, hidden" if hide else _event_detail(kind, event)
        message = f"{who}event {kind}" + (f" ({detail})" if detail else "")
        level = "debug" if kind in QUIET_EVENTS else "info"
        self.journal.record(call.channel_name, "event", message, event=kind, level=level)

    # -- the machine -------------------------------------------------------------------------

    def send(
        self, call: Call, event: str, reason: str, ari: dict[str, Any] | None = None, **fields: Any
    ) -> bool:
        """Give the machine an event; True if it changed state."""
        source = call.current
        call.machine.send(event, ari=ari)
        return self._after_step(call, source, reason, **fields)

    def _after_step(self, call: Call, source: str, reason: str, **fields: Any) -> bool:
        entered = call.take_entered()
        call.steps += len(entered)
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
            if not self._within_limits(call, target):
                return True
            self._enter(call, target)
        self.pump(call)
        return bool(entered)

    def _within_limits(self, call: Call, name: str) -> bool:
        """The loop guards; False when one tripped (and was handled or ended the call)."""
        flow, state = call.compiled.flow, call.compiled.flow.states[name]
        if call.steps > flow.max_steps:
            self._limit(call, "max_steps", f"more than {flow.max_steps} state changes")
            return False
        if state.max_visits:  # counted only where a limit is set
            call.visits[name] += 1
            if call.visits[name] > state.max_visits:
                message = f"entered {name} more than {state.max_visits} times"
                self._limit(call, "max_visits", message)
                return False
        return True

    def _limit(self, call: Call, limit: str, message: str) -> None:
        """The first trip raises LimitReached (counts start afresh); the next ends the call."""
        first = not call.guard_tripped
        call.guard_tripped, call.steps = True, 0
        call.visits.clear()
        self.journal.record(
            call.channel_name,
            "error",
            f"loop guard: {message}",
            level="warning" if first else "error",
        )
        payload = {"type": "LimitReached", "limit": limit, "state": call.current}
        if first and self.send(call, "LimitReached", f"{limit} reached", ari=payload):
            return
        self.hang_up(call)
        self._end(call, "loop guard", error=True)

    def _enter(self, call: Call, name: str) -> None:
        state = call.compiled.flow.states[name]
        for timer in state.timers:
            self.schedule(call, timer.seconds, "move", timer.event, text=timer.text)
        call.outbox.extend(state.actions)

    # -- outcomes and failures ---------------------------------------------------------------

    def outcome(self, call: Call, event: str, action: str, **payload: Any) -> None:
        """An outcome of collect, dial or http: the flow's transition, else a failure."""
        ari = {"type": event, **payload}
        if self.send(call, event, words(event), ari=ari):
            return
        self.fail(call, action, event, status=int(payload.get("status", 0) or 0), quiet=True)

    def fail(
        self,
        call: Call,
        action: str,
        reason: str,
        status: int = 0,
        quiet: bool = False,
        **fields: Any,
    ) -> None:
        """The flow's ActionFailed transition handles it, if one matches; otherwise the call is
        hung up (the flow-level default). Either way the state's remaining actions are dropped."""
        call.outbox.clear()
        flow = call.compiled.flow
        handled = flow.handles(flow.states[call.current], "ActionFailed")
        level = "warning" if handled or quiet else "error"
        message = f"{action} failed: {reason}"
        fields |= {"action": action, "status": status}
        self.journal.record(call.channel_name, "error", message, level=level, **fields)
        failure = {"type": "ActionFailed", "action": action, "status": status, "reason": reason}
        if handled and self.send(call, "ActionFailed", f"{action} failed", ari=failure):
            return
        self.hang_up(call)
        self._end(call, f"{action} failed", error=not quiet)

    # -- actions -----------------------------------------------------------------------------

    def pump(self, call: Call) -> None:
        """Run the call's next actions until one is in flight; finish the call when all is
        done."""
        while not call.busy and self.calls.get(call.channel_id) is call:
            if not call.outbox:
                if call.finished:
                    self._finish(call)
                return
            action = call.outbox.popleft()
            if action.name in LOCAL:
                self._run_local(call, action)
            else:
                self._submit(call, action)

    def _submit(self, call: Call, action: Action) -> None:
        ids = self._ids(call, action)
        if ids is None:
            return  # nothing to stop
        params = render(action.params, call.scope()) if action.params else {}
        if action.name == "record":
            params.setdefault("format", "wav")
            ids["media"] = to_text(params["name"])
            call.recording.add(ids["media"])
        try:
            request = request_for(action, ids, params)
        except BadRequest as error:
            self.fail(call, action.name, str(error))
            return
        call.busy = True
        call.leaving |= action.name in LEAVING
        if action.name == "peer_hangup" and call.dial is not None:
            call.dial.hangup_sent()
        started, media = self.clock.now(), ids.get("media", ids.get("playback", ""))
        self.transport.submit(
            request, lambda response: self.post(ActionDone(call, action, response, started, media))
        )

    def _ids(self, call: Call, action: Action) -> dict[str, str] | None:
        """What the action's route names: the channel, and the playback, recording, callee or
        bridge concerned. None for a stop with nothing left to stop (one request per item)."""
        ids = {"channel": call.channel_id}
        if call.dial is not None:
            ids |= {"peer": call.dial.peer_id, "bridge": call.dial.bridge_id}
        if action.name == "play":
            ids["playback"] = call.new_playback_id()
            collector = call.collector
            if collector is not None and action is collector.prompt_action:
                collector.prompt_id = ids["playback"]
        elif action.name in ENDED_BY_STOP:
            live = call.playing if action.name == "stop_playback" else call.recording
            if not live:
                return None
            ids["playback" if action.name == "stop_playback" else "recording"] = live.pop()
            if live:
                call.outbox.appendleft(action)  # and then the next one
        return ids

    def _on_action_done(self, done: ActionDone) -> None:
        call, action, response = done.call, done.action, done.response
        call.busy = False
        if self.calls.get(call.channel_id) is not call:
            return  # the call ended while this action was in flight
        took_ms = round((self.clock.now() - done.started) * 1000, 1)
        fields = {"action": action.name, "status": response.status, "took_ms": took_ms}
        if action.name in PEER_ACTIONS:
            self.dialling.action_done(call, action, response, fields)
        elif response.ok or (response.gone and action.name in not_found_meanings()):
            # A 404 that does not mean the channel is gone: a playback that had ended already,
            # a variable the channel does not have.
            self.journal.record(call.channel_name, "action", f"{action.name} ok", **fields)
            self._keep_reply(call, action, response)
        elif response.gone and action.name != "ari":  # the escape hatch's 404 is about
            self.journal.record(  # whatever it names: a failure like any other
                call.channel_name, "action", f"{action.name}: channel gone", **fields
            )
            self._end(call, "channel gone")
            return
        else:
            call.playing.discard(done.media)  # a play or record that failed left nothing on
            call.recording.discard(done.media)
            self.fail(call, action.name, response.describe(), response.status, took_ms=took_ms)
            return
        self.pump(call)

    def _keep_reply(self, call: Call, action: Action, response: AriResponse) -> None:
        """`into`: get_variable keeps the variable's value, ari the whole JSON reply."""
        into = action.params.get("into")
        if into:
            body = response.body
            if action.name == "get_variable":
                body = body.get("value") if isinstance(body, dict) else None
            call.vars[str(into)] = body

    def _run_local(self, call: Call, action: Action) -> None:
        params = render(action.params, call.scope())
        if action.name == "set":
            call.vars.update(params)
            self.journal.record(call.channel_name, "action", f"set {', '.join(params)}")
        elif action.name == "collect":
            self.collecting.start(call, params)
        elif action.name == "dial":
            self.dialling.start(call, params)
        elif action.name == "http":
            self.webhooks.start(call, params)

    # -- the end of a call -------------------------------------------------------------------

    def _finish(self, call: Call) -> None:
        """The flow reached a final state and its actions are done: release the channel."""
        if not (call.left_app or call.leaving):
            self.hang_up(call)
        self._end(call, "flow finished")

    def hang_up(self, call: Call) -> None:
        if not call.left_app:
            self.transport.submit(hangup_request(call.channel_id), lambda response: None)

    def _end(self, call: Call, reason: str, *, error: bool = False) -> None:
        if self.calls.get(call.channel_id) is not call:
            return
        del self.calls[call.channel_id]
        call.generation += 1  # its timers go stale
        call.outbox.clear()
        self.dialling.release(call)
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
            self.hang_up(call)
            self._end(call, "internal error", error=True)

    def _call_of(self, message: object) -> Call | None:
        if isinstance(message, ActionDone | _Timeout | WebReply):
            return message.call
        if isinstance(message, dict):
            channel_id = _channel_id(message)
            return self.calls.get(channel_id) or self.peers.get(channel_id)
        return None


def _call_data(call: Call, channel: dict[str, Any], event: dict[str, Any]) -> None:
    """What `caller` and `call` hold in expressions."""
    caller = channel.get("caller") or {}
    dialplan = channel.get("dialplan") or {}
    call.caller = {"number": caller.get("number", ""), "name": caller.get("name", "")}
    call.info = {
        "id": call.channel_id,
        "channel": call.channel_name,
        "app": call.flow_name,
        "extension": dialplan.get("exten", ""),
        "context": dialplan.get("context", ""),
        "args": [arg for arg in event.get("args") or [] if arg != PEER_ARG],
        "language": channel.get("language", ""),
    }


def _channel_id(event: dict[str, Any]) -> str:
    """The channel an event concerns: its `channel`, a Dial's `peer`, or a playback or
    recording's target."""
    for key in ("channel", "peer"):
        channel = event.get(key)
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
    if kind == "Dial":
        return str(event.get("dialstatus", ""))
    return ""
