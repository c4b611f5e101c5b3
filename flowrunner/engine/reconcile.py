"""After a (re)connect: what Asterisk still has in an app, against the calls the runtime runs.

- A call of ours whose channel is gone ends.
- A channel that no call of ours owns but that was kept (by this runner before it restarted, or
  by another one sharing the store) is taken over: its call is restored from its snapshot and
  carries on. Its steps ask Asterisk what happened while nobody listened (a prompt that
  finished, a callee gone); a request sent but never answered is sent again when that is
  harmless (GET, DELETE), else it counts as failed.
- Any other channel in the app (left by a runner that kept nothing, or a callee whose call is
  over) would stay in Stasis, its caller hearing silence, so it is hung up; but first Asterisk
  is asked about it: its StasisStart may be on the way (it entered just as we connected), and
  only if, once the answer is back, still nobody owns it, is it hung up.
- A kept call whose channel Asterisk no longer has is forgotten.

A listing may cover only part of an app (`Reconcile.scope`: the channels of one connection, with
per-call connections); what it does not cover is left alone. Kept calls found in the store since
start-up (another runner's, when its connections come to this one) arrive as `KeptFound`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..flow import FlowError, yamltree
from ..flow.loader import flow_from_tree
from ..ports import Done, Event, Request, Response
from .call import Call, Queued, hangup_request, new_call
from .journal import tell
from .machine import CompiledFlow, compile_flow
from .messages import Reconcile, Replied
from .snapshot import restore

if TYPE_CHECKING:
    from .runtime import Runtime


@dataclass(frozen=True)
class Kept:
    """A call found in the store: its snapshot, the flow version it runs, when it was kept."""

    data: dict[str, Any]
    compiled: CompiledFlow
    saved_at: float


@dataclass(frozen=True)
class Stray:
    """Asterisk's answer about a channel in the app that no call owned when it was listed."""

    channel: str
    app: str
    response: Response
    unstarted: str = ""  # Reconcile.unstarted


@dataclass(frozen=True)
class KeptFound:
    """Calls just read from the store, to take over if Asterisk lists their channels here."""

    kept: Mapping[str, Kept]


class Reconciler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.kept: dict[str, Kept] = {}  # calls in the store that no runner has taken over yet

    def found(self, message: KeptFound) -> None:
        taken = self.runtime.channels.keys()
        self.kept.update({ch: kept for ch, kept in message.kept.items() if ch not in taken})

    def reconcile(self, message: Reconcile) -> None:
        runtime = self.runtime
        for call in list(runtime.calls.values()):
            if call.flow_name != message.app or call.ended or not message.covers(call.channel_id):
                continue  # another app's, or its caller is gone (after_call runs), or not listed
            if call.channel_id not in message.channel_ids:
                runtime.end(call, "channel vanished while disconnected")
            else:
                self._resume(call)  # its events of the time nobody listened are lost
        for channel in sorted(message.channel_ids - runtime.channels.keys()):
            kept = self.kept.pop(channel, None)
            if kept is not None:
                self._take_over(kept)
                continue
            ask = Request("GET", f"channels/{quote(channel, safe='')}", action="reconcile")
            runtime.sender.route(channel).submit(ask, self._answer_to(channel, message))
        for channel, kept in list(self.kept.items()):
            if (
                kept.data["flow"] == message.app
                and channel not in message.channel_ids
                and message.covers(channel)
            ):
                del self.kept[channel]
                runtime.keeping.forget(channel)
                line = "a kept call whose channel Asterisk no longer has: forgotten"
                runtime.journal.record(str(kept.data.get("name", channel)), "end", line, id=channel)

    def _take_over(self, kept: Kept) -> None:
        runtime, clock = self.runtime, self.runtime.clock
        call = restore(kept.data, kept.compiled, clock)
        runtime.adopt(call)
        self._unanswered(call)
        away = clock.wall() - kept.saved_at
        version = kept.compiled.flow.version
        message = f"taken over in {call.current} ({call.flow_name} {version})"
        tell(
            runtime.journal,
            call,
            "start",
            f"{message}, {away:.1f}s after it was kept",
            flow=call.flow_name,
            version=version,
            taken_over=True,
        )
        self._resume(call)

    def _resume(self, call: Call) -> None:
        """Each step asks Asterisk what happened to what it waits for while nobody listened."""
        for running in list(call.running.values()):
            running.step.on_resume(self.runtime.context(call, running))
        self.runtime.pump(call)
        self.runtime.keeping.changed(call)

    def _unanswered(self, call: Call) -> None:
        """Requests sent before the runner stopped: their answer will never come. Sent again
        when that is harmless (`Request.repeatable`); otherwise answered "no answer": failed."""
        for number, pending in list(call.pending.items()):
            request = pending.request
            if request is not None and request.repeatable:
                del call.pending[number]
                call.queue.appendleft(Queued(number, request, pending.owner, pending.tag))
            else:
                lost = Response(0, error="the runner stopped before the answer came")
                self.runtime.post(Replied(call.channel_id, number, lost))
        if call.sending not in call.pending:
            call.sending = 0

    def stray(self, message: Stray) -> None:
        """A channel nobody owns: the flow's `recovery` starts its call over, else it is hung up
        (never left in silence)."""
        runtime, body = self.runtime, message.response.body
        if message.channel in runtime.channels or not message.response.ok:
            return  # its call started meanwhile, or it is gone
        channel = body if isinstance(body, dict) else {}
        name = str(channel.get("name") or message.channel)
        compiled = runtime.flows.get(message.app)
        if compiled is not None and message.unstarted and name == message.unstarted:
            line = "nothing was kept of this call (its first runner was gone before it kept it)"
            self._start_over(message, channel, compiled, compiled.flow.initial, line)
            return
        if compiled is not None and compiled.flow.recovery is not None:
            why = "nothing was kept of this call (its flow's recovery)"
            self._start_over(message, channel, compiled, compiled.flow.recovery.target, why)
            return
        why = "in the app, but no call of this runner owns it: hung up"
        runtime.journal.record(name, "error", f"channel {why}", level="warning", id=message.channel)
        runtime.sender.at_once(hangup_request(message.channel), message.channel)

    def _start_over(
        self, message: Stray, channel: dict[str, Any], compiled: CompiledFlow, state: str, why: str
    ) -> None:
        runtime = self.runtime
        fields = {"type": "StasisStart", "application": message.app, "channel": channel}
        call = new_call(
            Event("StasisStart", message.channel, "", message.app, fields),
            compiled,
            runtime.clock.now(),
        )
        runtime.adopt(call)
        fields = {"flow": call.flow_name, "version": compiled.flow.version}
        line = f"started over in {state}: {why}"
        tell(runtime.journal, call, "start", line, level="warning", **fields)
        compiled.start(call, start=state)
        runtime.after_moves(call, "", "recovery")
        runtime.keeping.changed(call)

    def _answer_to(self, channel: str, listing: Reconcile) -> Done:
        post, app, unstarted = self.runtime.post, listing.app, listing.unstarted
        return lambda response: post(Stray(channel, app, response, unstarted))


def kept_calls(
    stored: Mapping[str, str],
    flows: Mapping[str, CompiledFlow],
    flow_text: Callable[[str], str | None],
) -> tuple[dict[str, Kept], list[str]]:
    """The calls a store holds for these apps, each with the flow version it runs (compiled
    from the kept text when it is not the one loaded now); and, one line each, why a kept call
    cannot be carried on (its flow is gone, or its snapshot unreadable)."""
    kept: dict[str, Kept] = {}
    problems: list[str] = []
    versions = {compiled.flow.version: compiled for compiled in flows.values()}
    for channel, text in stored.items():
        try:
            data = json.loads(text)
            app, version = data["flow"], data["version"]
        except (ValueError, KeyError, TypeError) as error:
            problems.append(f"{channel}: unreadable snapshot ({type(error).__name__})")
            continue
        if app not in flows:
            continue  # another runner's app
        compiled = versions.get(version) or _compiled(flows[app], version, flow_text)
        if compiled is None:
            problems.append(f"{channel}: flow {app} version {version} is not kept")
            continue
        versions[version] = compiled
        kept[channel] = Kept(data, compiled, float(data.get("saved", 0.0)))
    return kept, problems


def _compiled(
    current: CompiledFlow, version: str, flow_text: Callable[[str], str | None]
) -> CompiledFlow | None:
    text = flow_text(version)
    if text is None:
        return None
    path = f"{current.flow.path} (version {version})"
    try:
        return compile_flow(flow_from_tree(yamltree.parse(text, path), path))
    except FlowError:
        return None
