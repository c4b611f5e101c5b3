"""After the call: once the caller has gone, a flow's `after_call` actions (web requests and
variables) run with the call's final variables, within a time bound.

The call is then in its after phase: ended for Asterisk (no channel, no ARI request, nothing
kept in the store: a runner that stops meanwhile loses this work), still running for its steps.
The runtime starts the phase when a call ends, and ends it when the steps are done or the
bound passes.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .call import FLOW, Call
from .journal import tell

if TYPE_CHECKING:
    from .runtime import Runtime

BOUND = "after_call"  # the flow's timer bounding the after phase


def begin(runtime: Runtime, call: Call, error: str) -> None:
    """The caller has gone: `call.end_reason` (the error that ended it, or who did), its
    duration and last state join the call data, and the actions start."""
    flow = call.compiled.flow
    reason = error or ("flow ended it" if call.leaving else "caller hung up")
    duration = round(runtime.clock.now() - call.started_at, 3)
    call.info |= {"end_reason": reason, "duration": duration}
    call.info.setdefault("last_state", call.current)
    call.after, call.running, call.timers, call.resources = True, {}, {}, {}
    call.entry += 1
    call.todo = deque(range(len(flow.after_call)))  # the state's unsent actions are dropped
    call.holder, call.sending = "", 0  # an ARI reply still to come is only logged
    runtime.timers.arm(call, FLOW, BOUND, flow.after_call_within)
    runtime.pump(call)


def over(runtime: Runtime, call: Call, cut: bool = False) -> None:
    """The actions are done, or their time is up (`cut`, said as a warning): the call is gone."""
    if runtime.calls.pop(call.channel_id, None) is None:
        return
    took = f"{runtime.clock.now() - call.started_at - call.info['duration']:.3f}s"
    if not cut:
        tell(runtime.journal, call, "action", f"after the call: done in {took}")
        return
    cut_off = [running.action for running in call.running.values()]
    cut_off += [call.actions()[index].name for index in call.todo]
    message = f"after the call: cut off after {took}: {', '.join(cut_off)} not done"
    tell(runtime.journal, call, "action", message, level="warning")
