"""The engine as one step of one call sees it: `StepContext` implements the steps' `Context`.

Everything a step asks for is bound to its call and to itself, so what it starts (requests,
timers, channels, playbacks) is its own, and goes stale with it. Once the call is over, what a
step still sends goes out at once and nothing else happens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..ports import Event, Request, SpeechRequest, WebRequest, words
from .call import FLOW, Call, Running, hangup_request
from .journal import masked, record_event, tell

if TYPE_CHECKING:
    from .runtime import Runtime


class StepContext:
    def __init__(
        self, runtime: Runtime, call: Call, running: Running, took_ms: float | None = None
    ) -> None:
        self.runtime, self.call, self.running = runtime, call, running
        self.took_ms = took_ms  # inside a reply: how long its request took

    @property
    def channel(self) -> str:
        return self.call.channel_id

    @property
    def app(self) -> str:
        return self.call.flow_name

    @property
    def in_own_state(self) -> bool:
        return self.running.entry == self.call.entry and self._running

    @property
    def caller_left(self) -> bool:
        return self.call.left_app

    def new_id(self, kind: str) -> str:
        return self.call.next_id(kind)

    # -- requests and timers -----------------------------------------------------------------

    def send(self, request: Request, tag: str | None = None) -> None:
        if request.step != self.running.action:  # a copy costs more than the request itself
            request = dataclasses.replace(request, step=self.running.action)
        if self.call.ended:
            self.runtime.sender.at_once(request, self.call.channel_id, self.call)
        else:
            owner = FLOW if tag is None else self.running.id
            self.call.enqueue(request, owner, tag or "")

    def withdraw(self, tag: str) -> bool:
        return self.call.withdraw(self.running.id, tag)

    def web(self, request: WebRequest, tag: str) -> None:
        if self._running:
            self.runtime.sender.send_web(self.call, self.running.id, tag, request)

    def speak(self, request: SpeechRequest, tag: str) -> None:
        if not self.call.ended:
            self.runtime.sender.send_speech(self.call, self.running.id, tag, request)

    def after(self, seconds: float, tag: str) -> None:
        if self._live:
            self.runtime.timers.arm(self.call, self.running.id, tag, seconds)

    def cancel(self, tag: str) -> None:
        self.call.timers.pop((self.running.id, tag), None)

    # -- what it owns ------------------------------------------------------------------------

    def own(self, resource: str) -> None:
        self.call.resources[resource] = self.running.id
        if resource.startswith("channel:") and not self.call.ended:
            self.runtime.channels[resource.removeprefix("channel:")] = (self.call, self.running.id)
        if resource.startswith("bridge:") and not self.call.ended:
            self.runtime.own_bridge(resource.removeprefix("bridge:"), self.call, self.running.id)

    def disown(self, resource: str) -> None:
        if self.call.resources.get(resource) != self.running.id:
            return
        del self.call.resources[resource]
        if resource.startswith("channel:"):
            self.runtime.channels.pop(resource.removeprefix("channel:"), None)
        if resource.startswith("bridge:"):
            self.runtime.disown_bridge(resource.removeprefix("bridge:"), self.call)

    def owned(self, kind: str) -> list[str]:
        prefix = f"{kind}:"
        return [r.removeprefix(prefix) for r in self.call.resources if r.startswith(prefix)]

    # -- the flow ----------------------------------------------------------------------------

    def set_vars(self, values: Mapping[str, Any]) -> None:
        self.call.vars.update(values)
        if not self.runtime.journal.wants("vars", "debug"):
            return
        shown = {name: masked(value, self.call.secrets) for name, value in values.items()}
        line = f"vars set: {', '.join(values)}"  # for traces: the values, secrets masked
        tell(self.runtime.journal, self.call, "vars", line, vars=shown, level="debug")

    def outcome(self, event: str, **payload: Any) -> None:
        if not self.in_own_state:
            return  # the state that waited for it is gone
        if self.runtime.to_flow(self.call, event, {"type": event, **payload}, words(event)):
            return
        status = payload.get("status")  # not handled: the action failed, as a warning
        self._failed(self.running.action, event, status if isinstance(status, int) else 0, True)

    def to_flow(self, event: str, payload: Mapping[str, Any]) -> bool:
        return self.runtime.to_flow(self.call, event, payload, words(event))

    def fail(self, reason: str, status: int = 0, action: str = "") -> None:
        self._failed(action or self.running.action, reason, status, False)

    def _failed(self, action: str, reason: str, status: int, quiet: bool) -> None:
        """ActionFailed, if the state handles it; otherwise the call is hung up (the
        flow-level default). Either way the state's remaining actions are dropped. A quiet
        failure (an outcome nobody handled) is a warning, not an error."""
        call = self.call
        if call.ended:
            return
        call.todo.clear()
        handled = call.compiled.flow.handles(
            call.compiled.flow.states[call.current], "ActionFailed"
        )
        level = "warning" if handled or quiet else "error"
        fields = self._timing() | {"action": action, "status": status, "level": level}
        tell(self.runtime.journal, call, "error", f"{action} failed: {reason}", **fields)
        failure = {"type": "ActionFailed", "action": action, "status": status, "reason": reason}
        why = f"{action} failed"
        self.runtime.raise_or_end(call, handled, failure, why, why, error=not quiet)

    def release(self) -> None:
        if self.call.holder == self.running.id:
            self.call.holder = ""

    def finish(self) -> None:
        call, step_id = self.call, self.running.id
        if call.running.pop(step_id, None) is None:
            return
        self.release()
        call.timers = {key: due for key, due in call.timers.items() if key[0] != step_id}
        for resource in [r for r, owner in call.resources.items() if owner == step_id]:
            self.disown(resource)

    def hang_up(self) -> None:
        """Behind what the call has queued already (a bridge to destroy first)."""
        if not self.call.left_app:
            self.send(hangup_request(self.call.channel_id))
            self.call.leaving = True

    def gone(self) -> None:
        action = self.running.action
        self.note(f"{action}: channel gone", action=action, status=404)
        self.runtime.end(self.call, "channel gone")

    def leaving(self) -> None:
        self.call.leaving = True

    # -- the journal -------------------------------------------------------------------------

    def hide(self, value: str) -> None:
        if value and value not in self.call.secrets:
            self.call.secrets.append(value)

    def redact(self, text: str) -> str:
        for secret in sorted(self.call.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def note(self, message: str, **fields: Any) -> None:
        if not self.runtime.journal.wants("action", fields.get("level", "info")):
            return
        fields = self._timing() | fields
        tell(self.runtime.journal, self.call, "action", message, **fields)

    def log_event(self, event: Event, who: str = "") -> None:
        record_event(self.runtime.journal, self.call, event, who)

    @property
    def _running(self) -> bool:
        """The call runs actions: its flow's, or once ended, its after_call."""
        return not self.call.ended or self.call.after

    @property
    def _live(self) -> bool:
        return self._running and self.running.id in self.call.running

    def _timing(self) -> dict[str, Any]:
        return {} if self.took_ms is None else {"took_ms": self.took_ms}
