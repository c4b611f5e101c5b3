"""The `dial` step: a second channel (the callee) created in the app, dialled, and bridged with
the caller once it answers; and its clean-up when either side goes.

The engine names the callee's channel and the bridge itself (`channelId`, `bridgeId`), so every
event about them can be matched to the call before Asterisk says anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..ari.messages import AriResponse
from ..flow.model import Action
from .actions import ENGINE_ROUTES, NOWHERE, TEARDOWN, request_for
from .call import Call

if TYPE_CHECKING:
    from .dispatcher import Dispatcher

# Seen on Asterisk 22: a final Dial event says BUSY, CONGESTION or CHANUNAVAIL, and the callee
# then stays in the app until we hang it up. A dial timeout sends no final Dial event: the callee
# leaves (hangup request cause 32, StasisEnd), and only its ChannelDestroyed, after StasisEnd,
# says why (cause 19). So an unanswered callee's outcome waits for ChannelDestroyed.
OUTCOME_OF_STATUS = {"BUSY": "DialBusy", "NOANSWER": "DialNoAnswer", "CANCEL": "DialNoAnswer"}
OUTCOME_OF_CAUSE = {17: "DialBusy", 18: "DialNoAnswer", 19: "DialNoAnswer"}
PEER_ARG = "flowrunner-dial"  # the Stasis argument that marks a callee channel
GRACE = 5.0  # seconds past the dial timeout before we give up on Asterisk and hang up
PEER_ACTIONS = frozenset(ENGINE_ROUTES)  # the engine's own requests for a dial


class Phase(Enum):
    """Where the dial is: CALLING -> ANSWERED (being bridged) -> CONNECTED, or OVER (busy, no
    answer, failed, or given up). Its outcome is known once CONNECTED or OVER."""

    CALLING = "calling"
    ANSWERED = "answered"
    CONNECTED = "connected"
    OVER = "over"


class CalleeState(Enum):
    """The callee's channel: ALIVE -> HANGUP_QUEUED -> HUNG_UP (the request went out), or GONE
    (Asterisk said so) at any time."""

    ALIVE = "alive"
    HANGUP_QUEUED = "hangup queued"
    HUNG_UP = "hung up"
    GONE = "gone"


@dataclass
class DialLeg:
    caller_id: str
    peer_id: str
    bridge_id: str
    generation: int  # of the caller's state that dialled: its outcome goes there only
    timeout: float = 30.0
    phase: Phase = Phase.CALLING
    callee: CalleeState = CalleeState.ALIVE
    bridged: bool = False  # the bridge exists (or is being made): it must be destroyed
    cause: int = 0  # of the callee's ChannelDestroyed: why it went

    @property
    def settled(self) -> bool:
        """The outcome is known (and was raised, or is not wanted any more)."""
        return self.phase in (Phase.CONNECTED, Phase.OVER)

    def create(self, app: str, params: dict[str, Any]) -> Action:
        """The callee's channel, in our app; it is dialled once it has entered (`dial`):
        dialling at once is refused now and then (409, not yet in Stasis)."""
        create = {
            "endpoint": params["endpoint"],
            "app": app,
            "appArgs": f"{PEER_ARG},{self.caller_id}",
            "channelId": self.peer_id,
            "originator": self.caller_id,
        }
        if params.get("caller_id"):
            create["callerId"] = params["caller_id"]
        return Action("dial_create", create, NOWHERE)

    def dial(self) -> Action:
        timeout = max(1, round(self.timeout))
        return Action("dial_start", {"timeout": timeout, "caller": self.caller_id}, NOWHERE)

    def bridge(self) -> list[Action]:
        self.phase, self.bridged = Phase.ANSWERED, True
        return [
            Action("bridge_create", {"type": "mixing", "bridgeId": self.bridge_id}, NOWHERE),
            Action("bridge_add", {"channel": f"{self.caller_id},{self.peer_id}"}, NOWHERE),
        ]

    def hangup_sent(self) -> None:
        if self.callee is CalleeState.HANGUP_QUEUED:
            self.callee = CalleeState.HUNG_UP

    def give_up(self) -> None:
        self.phase = Phase.OVER

    def cancel(self) -> list[Action]:
        """Hang up the callee, unless that is done or under way."""
        if self.callee is not CalleeState.ALIVE:
            return []
        self.callee = CalleeState.HANGUP_QUEUED
        return [Action("peer_hangup", {}, NOWHERE)]

    def tear_down(self) -> list[Action]:
        """Destroy the bridge if there is one, and hang up the callee if it is still there."""
        destroy = [Action("bridge_destroy", {}, NOWHERE)] if self.bridged else []
        self.bridged = False
        return destroy + self.cancel()

    def release(self) -> list[Action]:
        """The caller is gone: the bridge and the callee go too, even if a hang-up was queued
        already (a call that ends drops its queue)."""
        destroy = [Action("bridge_destroy", {}, NOWHERE)] if self.bridged else []
        done = self.callee in (CalleeState.HUNG_UP, CalleeState.GONE)
        self.bridged, self.callee = False, CalleeState.GONE if done else CalleeState.HUNG_UP
        return destroy + ([] if done else [Action("peer_hangup", {}, NOWHERE)])


def outcome_of(dial_event: dict[str, Any]) -> str:
    """The outcome a final Dial event means: '' while it is still ringing, or answered."""
    status = str(dial_event.get("dialstatus", ""))
    if status in ("", "RINGING", "PROGRESS", "PROCEEDING", "ANSWER"):
        return ""
    return OUTCOME_OF_STATUS.get(status, "DialFailed")


def outcome_of_cause(cause: int) -> str:
    """The outcome of a callee that hung up before any final Dial event."""
    return OUTCOME_OF_CAUSE.get(cause, "DialFailed")


class DialStep:
    """Runs a call's dial on the dispatcher: the callee's events, the requests' replies, the
    outcome, and the clean-up of the callee and the bridge."""

    def __init__(self, engine: Dispatcher) -> None:
        self.engine = engine

    def start(self, call: Call, params: dict[str, Any]) -> None:
        if call.dial is not None and call.dial.callee is CalleeState.ALIVE:
            self.engine.fail(call, "dial", "this call is still connected to its last callee")
            return
        call.dialled += 1
        leg = DialLeg(
            call.channel_id,
            f"{call.channel_id}-dial-{call.dialled}",
            f"{call.channel_id}-bridge-{call.dialled}",
            generation=call.generation,
            timeout=float(params.get("timeout", 30.0)),
        )
        call.dial, self.engine.peers[leg.peer_id] = leg, call
        call.outbox.appendleft(leg.create(call.flow_name, params))
        self.engine.schedule(call, leg.timeout + GRACE, "dial", token=call.dialled)

    def peer_event(self, call: Call, kind: str, event: dict[str, Any]) -> None:
        leg = call.dial
        if leg is None or self.engine.calls.get(call.channel_id) is not call:
            return
        self.engine.record_event(call, kind, event, who="callee ")
        if kind == "StasisStart" and not leg.settled:
            call.outbox.appendleft(leg.dial())
            self.engine.pump(call)
        elif kind == "Dial" and event.get("dialstatus") == "ANSWER" and not leg.settled:
            call.outbox.extendleft(reversed(leg.bridge()))
            self.engine.pump(call)
        elif kind == "Dial" and outcome_of(event) and not leg.settled:
            self._over(call, leg, outcome_of(event), dialstatus=event.get("dialstatus"))
        elif kind == "StasisEnd":
            leg.callee = CalleeState.GONE  # no more requests to it; why it left comes next
            if leg.settled:
                self._callee_gone(call, leg)
        elif kind == "ChannelDestroyed":
            leg.cause = int(event.get("cause") or 0)
            self._callee_gone(call, leg)

    def timeout(self, call: Call, dialled: int) -> None:
        """Asterisk's own dial timeout should have ended it: a safety net, not the rule."""
        leg = call.dial
        if leg is not None and call.dialled == dialled and not leg.settled:
            self._over(call, leg, "DialNoAnswer", cause=0)

    def action_done(
        self, call: Call, action: Action, response: AriResponse, fields: dict[str, Any]
    ) -> None:
        leg = call.dial
        ok = response.ok or (response.gone and action.name in TEARDOWN)  # gone already: fine
        result = "ok" if ok else f"failed: {response.describe()}"
        self.engine.note(
            call, f"{action.name} {result}", level="info" if ok else "warning", **fields
        )
        if leg is None or leg.settled:
            return
        if action.name == "bridge_add" and ok:
            leg.phase = Phase.CONNECTED
            self.engine.outcome(call, "DialAnswered", "dial", callee=leg.peer_id)
        elif not ok:
            self._over(call, leg, "DialFailed", status=response.status)

    def release(self, call: Call) -> None:
        """The caller's call ended: the callee and the bridge go too (not through the outbox,
        which a call that ended no longer runs)."""
        leg = call.dial
        if leg is None:
            return
        self.engine.peers.pop(leg.peer_id, None)
        ids = {"channel": call.channel_id, "peer": leg.peer_id, "bridge": leg.bridge_id}
        released = leg.release()
        if released:
            names = ", ".join(action.name for action in released)
            self.engine.note(call, f"the caller is gone: {names} (not waited for)")
        for action in released:
            request = request_for(action, ids, action.params)
            self.engine.transport.submit(request, lambda response: None)

    def _callee_gone(self, call: Call, leg: DialLeg) -> None:
        if self.engine.peers.pop(leg.peer_id, None) is None:
            return  # handled already
        leg.callee = CalleeState.GONE
        if not leg.settled:
            self._over(call, leg, outcome_of_cause(leg.cause), cause=leg.cause)
        elif leg.phase is Phase.CONNECTED:
            call.outbox.extend(leg.tear_down())
            self.engine.pump(call)
            if not self.engine.send(call, "CalleeHungUp", "callee hung up", {"cause": leg.cause}):
                self.engine.note(call, "callee hung up: hanging up")
                self.engine.hang_up(call)

    def _over(self, call: Call, leg: DialLeg, outcome: str, **payload: Any) -> None:
        """An answer that never came: forget the callee, hang it up, raise the outcome."""
        leg.phase = Phase.OVER
        call.outbox = type(call.outbox)(a for a in call.outbox if a.name not in PEER_ACTIONS)
        call.outbox.extend(leg.tear_down())  # a bridge half made goes too
        self.engine.pump(call)
        if leg.generation == call.generation:
            self.engine.outcome(call, outcome, "dial", **payload)
