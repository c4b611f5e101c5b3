"""A call as JSON, and back: everything the engine knows about it, so a fresh engine (another
process, after a restart) can carry on where it was.

Times are written as wall-clock seconds (timers as absolute deadlines), since the monotonic
clock of another process means nothing here; they are read back onto the new clock. The machine
is not saved: its state is (the flow's one machine reads it from the call).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from typing import Any

from ..ports import Clock, Request
from ..steps import ACTIONS
from .call import Call, Pending, Queued, Running
from .machine import CompiledFlow

FORMAT = 1


def snapshot(call: Call, clock: Clock) -> dict[str, Any]:
    """The call as plain JSON data."""
    to_wall = _converter(clock)
    return {
        "format": FORMAT,
        "saved": clock.wall(),
        "flow": call.flow_name,
        "version": call.compiled.flow.version,
        "channel": call.channel_id,
        "name": call.channel_name,
        "started": to_wall(call.started_at),
        "state": call.current,
        "entry": call.entry,
        "caller": call.caller,
        "info": call.info,
        "vars": call.vars,
        "steps_taken": call.steps_taken,
        "visits": dict(call.visits),
        "guard_tripped": call.guard_tripped,
        "todo": list(call.todo),
        "holder": call.holder,
        "queue": [_queued(item) for item in call.queue],
        "sending": call.sending,
        "pending": [
            [number, p.owner, p.tag, p.action, to_wall(p.sent_at), _request(p.request)]
            for number, p in call.pending.items()
        ],
        "timers": [
            [owner, tag, to_wall(deadline), seq]
            for (owner, tag), (deadline, seq) in call.timers.items()
        ],
        "running": [
            {"id": r.id, "action": r.action, "entry": r.entry, "step": r.step.data()}
            for r in call.running.values()
        ],
        "resources": call.resources,
        "counters": dict(call.counters),
        "left_app": call.left_app,
        "leaving": call.leaving,
        "after": call.after,
        "secrets": call.secrets,
    }


def restore(data: dict[str, Any], compiled: CompiledFlow, clock: Clock) -> Call:
    """The call `snapshot` wrote, on this engine's clock, in its state."""
    from_wall = _converter(clock, back=True)
    call = Call(data["channel"], data["name"], compiled, from_wall(data["started"]))
    call.state, call.entry = data["state"] or None, data["entry"]
    if call.state is not None and call.state not in compiled.flow.states:
        raise ValueError(f"a kept call in state {call.state!r}, which its flow has not")
    call.caller, call.info, call.vars = data["caller"], data["info"], data["vars"]
    call.steps_taken, call.visits = data["steps_taken"], Counter(data["visits"])
    call.guard_tripped, call.holder = data["guard_tripped"], data["holder"]
    call.todo = deque(data["todo"])
    call.queue = deque(_unqueued(item) for item in data["queue"])
    call.sending = data["sending"]
    call.pending = {
        number: Pending(owner, tag, action, from_wall(sent), _unrequest(request))
        for number, owner, tag, action, sent, request in data["pending"]
    }
    call.timers = {(o, t): (from_wall(due), seq) for o, t, due, seq in data["timers"]}
    for item in data["running"]:
        step = ACTIONS[item["action"]].step.restore(item["step"])
        call.running[item["id"]] = Running(item["id"], item["action"], item["entry"], step)
    call.resources, call.counters = dict(data["resources"]), Counter(data["counters"])
    call.left_app, call.leaving = data["left_app"], data["leaving"]
    call.after = call.ended = data.get("after", False)
    call.secrets = list(data["secrets"])
    return call


def _queued(item: Queued) -> dict[str, Any]:
    request = _request(item.request)
    return {"number": item.number, "request": request, "owner": item.owner, "tag": item.tag}


def _unqueued(item: dict[str, Any]) -> Queued:
    request = _unrequest(item["request"])
    assert request is not None
    return Queued(item["number"], request, item["owner"], item["tag"])


_REQUEST_FIELDS = tuple(f.name for f in dataclasses.fields(Request))


def _request(request: Request | None) -> dict[str, Any] | None:
    """Its fields by name (what `dataclasses.asdict` gives, at a tenth of its cost: it
    deep-copies, and the snapshot is turned into JSON at once)."""
    if request is None:
        return None
    data = {name: getattr(request, name) for name in _REQUEST_FIELDS}
    data["params"] = dict(request.params)
    return data


def _unrequest(data: dict[str, Any] | None) -> Request | None:
    return None if data is None else Request(**data)


def _converter(clock: Clock, back: bool = False) -> Any:
    """Monotonic seconds to wall seconds (or `back`), at this instant."""
    offset = clock.wall() - clock.now()
    return (lambda wall: wall - offset) if back else (lambda mono: mono + offset)
