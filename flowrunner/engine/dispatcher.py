"""The dispatcher: one thread owns every call, and handles events, replies and timers in order.

Messages (ARI events, action replies, web replies, reconnect news) are `post`ed, from any
thread, and handled by `drain` on the owning thread, which also runs `fire_due_timers`: the live
loop in `ari/session.py` or the simulator. The dispatcher never waits on the network: requests go
to the transport (or the web client), whose reply comes back as a message.
A call's actions run one at a time, in order; a call's failure ends that call and no other.
"""

from __future__ import annotations

import itertools
import queue
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..ari.messages import AriResponse, Transport
from ..flow.model import Action
from ..flow.schema import not_found_meanings
from ..flow.templates import to_text
from ..web.messages import WebClient, WebDone, WebRequest, WebResponse
from .actions import (
    LEAVING,
    LOCAL,
    NOWHERE,
    STOP_PLAYBACKS,
    BadRequest,
    hangup_request,
    render,
    request_for,
)
from .call import Call
from .clock import Clock
from .collect import Collector
from .dial import GRACE, PEER_ARG, DialLeg, outcome_of, outcome_of_cause
from .journal import Journal
from .machine import CompiledFlow
from .timers import TimerHeap

QUIET_EVENTS = frozenset({"ChannelVarset"})  # five a call; logged at debug level only
PEER_ACTIONS = frozenset(
    {"dial_create", "dial_start", "bridge_create", "bridge_add", "bridge_destroy", "peer_hangup"}
)
ENDED_BY_STOP = frozenset({"stop_playback", "stop_recording"})  # one request per item


@dataclass(frozen=True)
class ActionDone:
    call: Call
    action: Action
    response: AriResponse
    started: float
    media: str = ""  # the playback or recording the action started


@dataclass(frozen=True)
class WebReply:
    call: Call
    token: int
    response: WebResponse
    started: float
    request: WebRequest
    into: str


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


class _NoWebClient:
    def submit(self, request: WebRequest, done: WebDone) -> None:
        done(WebResponse(0, error="no web client"))


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
        self.web: WebClient = web or _NoWebClient()
        self.calls: dict[str, Call] = {}
        self.peers: dict[str, Call] = {}  # a dialled callee's channel -> the call that dialled
        self.timers: TimerHeap[_Timeout] = TimerHeap()
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._tokens = itertools.count(1)

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
                self._on_web_reply(message)
            elif isinstance(message, Reconcile):
                self._on_reconcile(message)
        except Exception as error:  # a bug must end at most the call it happened in
            self._on_bug(message, error)

    def fire_due_timers(self) -> None:
        for timeout in self.timers.pop_due(self.clock.now()):
            self.process(timeout)

    def _schedule(
        self, call: Call, seconds: float, kind: str, event: str, token: int = 0, text: str = ""
    ) -> None:
        due = self.clock.now() + seconds
        timeout = _Timeout(call, call.generation, kind, event, text or f"{seconds:g}s", due, token)
        self.timers.schedule(due, timeout)

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        kind, channel_id = event.get("type", ""), _channel_id(event)
        if channel_id in self.peers:
            self._on_peer_event(self.peers[channel_id], kind, event)
            return
        if kind == "StasisStart":
            self._start(event)
            return
        call = self.calls.get(channel_id)
        if call is None:
            return  # not a call we own
        self._record_event(call, kind, event)
        call.left_app |= kind == "StasisEnd"
        call.track_media(event)
        if kind == "PlaybackFinished":
            self._prompt_finished(call, event)
        if kind == "ChannelDtmfReceived" and call.collector is not None:
            self._collect_key(call, call.collector, str(event.get("digit", "")))
        elif kind in call.compiled.events and call.concerns_flow(event):
            self._send(call, kind, kind, ari=event)
        if kind == "StasisEnd" and self.calls.get(call.channel_id) is call:
            self._end(call, "left the app")

    def _on_timeout(self, timeout: _Timeout) -> None:
        call = timeout.call
        if self.calls.get(call.channel_id) is not call or call.generation != timeout.generation:
            return
        if timeout.kind == "collect":
            self._collect_timeout(call, timeout.token)
        elif timeout.kind == "http":
            self._web_timeout(call, timeout.token)
        elif timeout.kind == "dial":
            self._dial_timeout(call, timeout.token)
        else:
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

    def _record_event(self, call: Call, kind: str, event: dict[str, Any], who: str = "") -> None:
        detail = _event_detail(kind, event)
        message = f"{who}event {kind}" + (f" ({detail})" if detail else "")
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
        self._pump(call)
        return bool(entered)

    def _within_limits(self, call: Call, name: str) -> bool:
        """The loop guards; False when one tripped (and was handled or ended the call)."""
        call.visits[name] += 1
        flow, state = call.compiled.flow, call.compiled.flow.states[name]
        if call.steps > flow.max_steps:
            self._limit(call, "max_steps", f"more than {flow.max_steps} state changes")
            return False
        if state.max_visits and call.visits[name] > state.max_visits:
            self._limit(call, "max_visits", f"entered {name} more than {state.max_visits} times")
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
        if first and self._send(call, "LimitReached", f"{limit} reached", ari=payload):
            return
        self._hang_up(call)
        self._end(call, "loop guard", error=True)

    def _enter(self, call: Call, name: str) -> None:
        state = call.compiled.flow.states[name]
        for timer in state.timers:
            self._schedule(call, timer.seconds, "move", timer.event, text=timer.text)
        call.outbox.extend(state.actions)

    # -- outcomes and failures ---------------------------------------------------------------

    def _outcome(self, call: Call, event: str, action: str, **payload: Any) -> None:
        """An outcome of collect, dial or http: the flow's transition, else a failure."""
        ari = {"type": event, **payload}
        if self._send(call, event, _words(event), ari=ari):
            return
        self._fail(call, action, event, status=int(payload.get("status", 0) or 0), quiet=True)

    def _fail(
        self, call: Call, action: str, reason: str, status: int = 0, quiet: bool = False
    ) -> None:
        """The flow's ActionFailed transition handles it, if one matches; otherwise the call is
        hung up (the flow-level default). Either way the state's remaining actions are dropped."""
        call.outbox.clear()
        handled = "ActionFailed" in call.compiled.events
        level = "warning" if handled or quiet else "error"
        self.journal.record(
            call.channel_name, "error", f"{action} failed: {reason}", level=level, action=action
        )
        failure = {"type": "ActionFailed", "action": action, "status": status, "reason": reason}
        if handled and self._send(call, "ActionFailed", f"{action} failed", ari=failure):
            return
        self._hang_up(call)
        self._end(call, f"{action} failed", error=not quiet)

    # -- actions -----------------------------------------------------------------------------

    def _pump(self, call: Call) -> None:
        """Run the call's next actions until one is in flight; finish the call when all is
        done."""
        while not call.busy and call.outbox and self.calls.get(call.channel_id) is call:
            action = call.outbox.popleft()
            if action.name in LOCAL:
                self._run_local(call, action)
            else:
                self._submit(call, action)
        if not call.busy and not call.outbox and call.finished:
            self._finish(call)

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
            self._fail(call, action.name, str(error))
            return
        call.busy = True
        call.leaving |= action.name in LEAVING
        if action.name == "peer_hangup" and call.dial is not None:
            call.dial.hangup_sent = True
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
            self._peer_action_done(call, action, response, fields)
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
            self.journal.record(call.channel_name, "action", f"{action.name} failed", **fields)
            self._fail(call, action.name, response.describe(), response.status)
            return
        self._pump(call)

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
            call.collector = Collector.from_params(params)
            self._prompt(call, call.collector, retry=False)
        elif action.name == "dial":
            self._dial(call, params)
        elif action.name == "http":
            self._http(call, params)

    # -- collect -----------------------------------------------------------------------------

    def _prompt(self, call: Call, collector: Collector, *, retry: bool) -> None:
        """Play the prompt (after the retry prompt); the first-digit timer starts once it has
        played, or at once when there is none."""
        media = (collector.retry_prompt if retry else ()) + collector.prompt
        collector.prompt_id = ""
        if media:
            collector.prompt_action = Action("play", {"media": list(media)}, NOWHERE)
            call.outbox.appendleft(collector.prompt_action)
        else:
            self._collect_timer(call, collector, collector.first_digit_timeout)

    def _prompt_finished(self, call: Call, event: dict[str, Any]) -> None:
        collector = call.collector
        playback_id = (event.get("playback") or {}).get("id")
        if collector is not None and collector.prompt_id and playback_id == collector.prompt_id:
            collector.prompt_id, collector.prompt_action = "", None
            if not collector.digits:
                self._collect_timer(call, collector, collector.first_digit_timeout)

    def _collect_timer(self, call: Call, collector: Collector, seconds: float) -> None:
        collector.token += 1
        self._schedule(call, seconds, "collect", "collect", collector.token)

    def _collect_key(self, call: Call, collector: Collector, digit: str) -> None:
        self._stop_prompt(call, collector)
        if collector.key(digit):
            self._collect_done(call, collector)
        else:
            self._collect_timer(call, collector, collector.inter_digit_timeout)

    def _stop_prompt(self, call: Call, collector: Collector) -> None:
        """A key stops the prompt (barge-in), whether it is playing or still queued."""
        if collector.prompt_action is not None and collector.prompt_action in call.outbox:
            call.outbox.remove(collector.prompt_action)
        if collector.prompt_id in call.playing:
            call.outbox.appendleft(STOP_PLAYBACKS)
            self._pump(call)
        collector.prompt_id, collector.prompt_action = "", None

    def _collect_timeout(self, call: Call, token: int) -> None:
        collector = call.collector
        if collector is None or token != collector.token:
            return
        if collector.digits:
            self._collect_done(call, collector)
        else:
            self._collect_retry(call, collector, "NoInput")

    def _collect_done(self, call: Call, collector: Collector) -> None:
        if not collector.digits:  # the terminator alone
            self._collect_retry(call, collector, "NoInput")
        elif collector.accepts():
            self._collect_over(call, collector, "DigitsCollected")
        else:
            self._collect_retry(call, collector, "NoMatch")

    def _collect_retry(self, call: Call, collector: Collector, outcome: str) -> None:
        if not collector.may_retry():
            self._collect_over(call, collector, outcome)
            return
        self.journal.record(call.channel_name, "action", f"collect: {_words(outcome)}, retrying")
        collector.retry()
        collector.token += 1  # timers of the try before go stale
        self._prompt(call, collector, retry=True)
        self._pump(call)

    def _collect_over(self, call: Call, collector: Collector, outcome: str) -> None:
        call.collector = None
        call.vars[collector.into] = collector.digits
        self.journal.record(
            call.channel_name, "action", f"collect: {_words(outcome)} '{collector.digits}'"
        )
        self._outcome(call, outcome, "collect", digits=collector.digits, tries=collector.tries + 1)

    # -- dial --------------------------------------------------------------------------------

    def _dial(self, call: Call, params: dict[str, Any]) -> None:
        if call.dial is not None and not call.dial.ended:
            self._fail(call, "dial", "this call is still connected to its last callee")
            return
        call.dialled += 1
        leg = DialLeg(
            call.channel_id,
            f"{call.channel_id}-dial-{call.dialled}",
            f"{call.channel_id}-bridge-{call.dialled}",
            generation=call.generation,
            timeout=float(params.get("timeout", 30.0)),
        )
        call.dial, self.peers[leg.peer_id] = leg, call
        call.outbox.appendleft(leg.create(call.flow_name, params))
        self._schedule(call, leg.timeout + GRACE, "dial", "dial", call.dialled)

    def _on_peer_event(self, call: Call, kind: str, event: dict[str, Any]) -> None:
        leg = call.dial
        if leg is None or self.calls.get(call.channel_id) is not call:
            return
        self._record_event(call, kind, event, who="callee ")
        if kind == "StasisStart" and not leg.settled:
            call.outbox.appendleft(leg.dial())
            self._pump(call)
        elif kind == "Dial" and event.get("dialstatus") == "ANSWER" and not leg.settled:
            leg.answered = True
            call.outbox.extendleft(reversed(leg.bridge()))
            self._pump(call)
        elif kind == "Dial" and outcome_of(event) and not leg.settled:
            self._dial_over(call, leg, outcome_of(event), dialstatus=event.get("dialstatus"))
        elif kind == "ChannelHangupRequest":
            leg.cause = int(event.get("cause") or 0)
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            self._callee_gone(call, leg)

    def _callee_gone(self, call: Call, leg: DialLeg) -> None:
        self.peers.pop(leg.peer_id, None)
        leg.ended = leg.gone = True
        if not leg.settled:
            self._dial_over(call, leg, outcome_of_cause(leg.cause), cause=leg.cause)
        elif leg.answered:
            call.outbox.extend(leg.tear_down())
            self._pump(call)
            if not self._send(call, "CalleeHungUp", "callee hung up", ari={"cause": leg.cause}):
                self.journal.record(call.channel_name, "action", "callee hung up: hanging up")
                self._hang_up(call)

    def _dial_timeout(self, call: Call, dialled: int) -> None:
        """Asterisk's own dial timeout should have ended it: a safety net, not the rule."""
        leg = call.dial
        if leg is not None and call.dialled == dialled and not leg.settled:
            self._dial_over(call, leg, "DialNoAnswer", cause=0)

    def _dial_over(self, call: Call, leg: DialLeg, outcome: str, **payload: Any) -> None:
        """An answer that never came: forget the callee, hang it up, raise the outcome."""
        leg.settled = True
        call.outbox = type(call.outbox)(a for a in call.outbox if a.name not in PEER_ACTIONS)
        call.outbox.extend(leg.cancel())
        self._pump(call)
        if leg.generation == call.generation:
            self._outcome(call, outcome, "dial", **payload)

    def _peer_action_done(
        self, call: Call, action: Action, response: AriResponse, fields: dict[str, Any]
    ) -> None:
        leg = call.dial
        ok = response.ok or (response.gone and action.name in ("peer_hangup", "bridge_destroy"))
        level = "info" if ok else "warning"
        result = "ok" if ok else f"failed: {response.describe()}"
        self.journal.record(
            call.channel_name, "action", f"{action.name} {result}", level=level, **fields
        )
        if leg is None or leg.settled:
            return
        if action.name == "bridge_add" and ok:
            leg.settled = True
            self._outcome(call, "DialAnswered", "dial", callee=leg.peer_id)
        elif not ok:
            self._dial_over(call, leg, "DialFailed", status=response.status)

    # -- http --------------------------------------------------------------------------------

    def _http(self, call: Call, params: dict[str, Any]) -> None:
        request = WebRequest(
            method=str(params.get("method", "GET")),
            url=to_text(params["url"]),
            headers={key: to_text(value) for key, value in (params.get("headers") or {}).items()},
            body=params.get("body"),
            timeout=float(params.get("timeout", 5.0)),
        )
        token, started, into = next(self._tokens), self.clock.now(), str(params.get("into", ""))
        call.webhooks.add(token)
        self._schedule(call, request.timeout, "http", "http", token)
        self.web.submit(
            request,
            lambda response: self.post(WebReply(call, token, response, started, request, into)),
        )

    def _on_web_reply(self, reply: WebReply) -> None:
        call, response = reply.call, reply.response
        if self.calls.get(call.channel_id) is not call or reply.token not in call.webhooks:
            return  # the call ended, the state was left, or it timed out already
        call.webhooks.discard(reply.token)
        took_ms = round((self.clock.now() - reply.started) * 1000, 1)
        result = str(response.status) if response.status else response.error
        self.journal.record(
            call.channel_name,
            "action",
            f"http {reply.request.method} {reply.request.safe_url}: {result}",
            action="http",
            status=response.status,
            took_ms=took_ms,
        )
        if response.ok:
            if reply.into:
                call.vars[reply.into] = response.body
            self._outcome(call, "HttpSucceeded", "http", status=response.status)
        else:
            fields = {"status": response.status, "error": response.error, "body": response.body}
            self._outcome(call, "HttpFailed", "http", **fields)

    def _web_timeout(self, call: Call, token: int) -> None:
        if token in call.webhooks:
            call.webhooks.discard(token)
            self._outcome(call, "HttpTimedOut", "http")

    # -- the end of a call -------------------------------------------------------------------

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
        self._release_callee(call)
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

    def _release_callee(self, call: Call) -> None:
        """The caller is gone: the callee and the bridge go too (not through the outbox, which
        a call that ended no longer runs)."""
        leg = call.dial
        if leg is None:
            return
        self.peers.pop(leg.peer_id, None)
        ids = {"channel": call.channel_id, "peer": leg.peer_id, "bridge": leg.bridge_id}
        for action in leg.release():
            self.transport.submit(request_for(action, ids, action.params), lambda response: None)

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


def _words(event: str) -> str:
    """`DigitsCollected` -> `digits collected`, for log lines."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in event).strip()
