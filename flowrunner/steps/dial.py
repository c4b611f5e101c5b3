"""`dial`: a second channel (the callee) created in the app, dialled, and bridged with the caller
once it answers; and its clean-up when either side goes.

The step names the callee's channel and the bridge itself (`channelId`, `bridgeId`) and owns
both: every event about them comes to this dial and no other, so two dials in a row cannot
cross. It stays until its callee is gone, even once its outcome is known.

Seen on Asterisk 22: a final Dial event says BUSY, CONGESTION or CHANUNAVAIL, and the callee
then stays in the app until we hang it up. A dial timeout sends no final Dial event: the callee
leaves (hangup request cause 32, StasisEnd), and only its ChannelDestroyed, after StasisEnd, says
why (cause 19). So an unanswered callee's outcome waits for ChannelDestroyed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..ports import STEP_CHANNEL, Event, Request, Response, to_text
from .base import DURATION, ActionSpec, Context, Step

OUTCOME_OF_STATUS = {"BUSY": "DialBusy", "NOANSWER": "DialNoAnswer", "CANCEL": "DialNoAnswer"}
OUTCOME_OF_CAUSE = {17: "DialBusy", 18: "DialNoAnswer", 19: "DialNoAnswer"}
STILL_CALLING = frozenset({"", "RINGING", "PROGRESS", "PROCEEDING", "ANSWER"})
GRACE = 5.0  # seconds past the dial timeout before we give up on Asterisk and hang up
CALLING = ("dial_create", "dial_start", "bridge_create", "bridge_add")  # taken back when over


@dataclass
class DialStep(Step):
    """Where the dial is (`phase`): calling -> answered (being bridged) -> connected, or over
    (busy, no answer, failed, or given up); its outcome is known once connected or over. The
    callee's channel (`callee`): alive -> hanging up (our request is queued or sent), or gone
    (Asterisk said so) at any time."""

    action: str
    endpoint: str
    timeout: float = 30.0
    caller_id: str = ""
    peer: str = ""
    bridge: str = ""
    phase: str = "calling"
    callee: str = "alive"
    bridged: bool = False  # the bridge exists (or is being made): it must be destroyed
    cause: int = 0  # of the callee's ChannelDestroyed: why it went
    callee_handled: bool = False  # its going was dealt with (it is said more than once)

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        timeout = float(params.get("timeout", 30.0))
        return cls(
            spec.name, to_text(params["endpoint"]), timeout, to_text(params.get("caller_id"))
        )

    @property
    def settled(self) -> bool:
        return self.phase in ("connected", "over")

    def start(self, ctx: Context) -> None:
        ctx.release()  # the state's next actions need not wait for the answer
        if ctx.owned("bridge"):
            ctx.finish()
            ctx.fail("this call is still connected to its last callee")
            return
        self.peer, self.bridge = ctx.new_id("dial"), ctx.new_id("bridge")
        ctx.own(f"channel:{self.peer}")
        create = {
            "endpoint": self.endpoint,
            "app": ctx.app,
            "appArgs": f"{STEP_CHANNEL},{ctx.channel}",
            "channelId": self.peer,
            "originator": ctx.channel,
        } | ({"callerId": self.caller_id} if self.caller_id else {})
        ctx.send(Request("POST", "channels/create", create, action="dial_create"), "dial_create")
        ctx.after(self.timeout + GRACE, "give_up")

    # -- what the callee does ----------------------------------------------------------------

    def on_event(self, ctx: Context, event: Event) -> bool:
        if event.channel != self.peer:
            return False
        ctx.log_event(event, who="callee ")
        status = to_text(event.get("dialstatus", ""))
        if event.type == "StasisStart" and not self.settled:
            dial = {"timeout": str(max(1, round(self.timeout))), "caller": ctx.channel}
            ctx.send(
                Request("POST", f"channels/{_q(self.peer)}/dial", dial, action="dial_start"),
                "dial_start",
            )
        elif event.type == "Dial" and status == "ANSWER" and not self.settled:
            self._bridge(ctx)
        elif event.type == "Dial" and status not in STILL_CALLING and not self.settled:
            self._over(ctx, OUTCOME_OF_STATUS.get(status, "DialFailed"), dialstatus=status)
        elif event.type == "StasisEnd":
            self.callee = "gone"  # no more requests to it; why it left comes next
            if self.settled:
                self._callee_gone(ctx)
        elif event.type == "ChannelDestroyed":
            self.cause = _number(event.get("cause"))
            self._callee_gone(ctx)
        return True

    def on_resume(self, ctx: Context) -> None:
        """The callee may have answered, or gone, or left the bridge, while nobody listened."""
        if self.callee != "gone":
            ctx.send(Request("GET", f"channels/{_q(self.peer)}"), "check")
        if self.bridged and self.phase == "connected":
            ctx.send(Request("GET", f"bridges/{_q(self.bridge)}"), "check_bridge")

    def _checked(self, ctx: Context, tag: str, response: Response) -> None:
        body = response.body if isinstance(response.body, dict) else {}
        if response.gone and tag == "check_bridge":
            self.bridged = False  # nothing left to destroy; the callee goes too
            self._callee_gone(ctx)
        elif response.gone:
            self._callee_gone(ctx)
        elif not self.settled and body.get("state") == "Up":
            self._bridge(ctx)  # it answered while nobody listened

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if tag.startswith("check"):
            self._checked(ctx, tag, response)
            return
        ok = response.ok or (response.gone and tag in ("bridge_destroy", "peer_hangup"))
        result = "ok" if ok else f"failed: {response.describe()}"
        level = "info" if ok else "warning"
        ctx.note(f"{tag} {result}", level=level, action=tag, status=response.status)
        if tag == "peer_hangup" and response.gone:
            self._callee_gone(ctx)  # it never was, or had gone already
        if self.settled:
            return
        if tag == "bridge_add" and ok:
            self.phase = "connected"
            ctx.outcome("DialAnswered", callee=self.peer)
        elif not ok:
            self._over(ctx, "DialFailed", status=response.status)

    def on_timer(self, ctx: Context, tag: str) -> None:
        """Asterisk's own dial timeout should have ended it: a safety net, not the rule."""
        if not self.settled:
            self._over(ctx, "DialNoAnswer", cause=0)

    def on_exit(self, ctx: Context) -> None:
        """The state that waited for the answer is gone: so is the callee. A connected call
        stays connected."""
        if not self.settled:
            self.phase = "over"
            self._tear_down(ctx)
            self._forget_if_done(ctx)

    def on_end(self, ctx: Context) -> None:
        """The caller is gone: the bridge and the callee go too, even if their clean-up was
        still queued (a call that ended sends nothing from its queue)."""
        released = []
        if self.bridged or ctx.withdraw("bridge_destroy"):
            released.append(self._destroy_bridge(ctx))
        if self.callee == "alive" or (self.callee == "hanging up" and ctx.withdraw("peer_hangup")):
            released.append(self._hang_up_callee(ctx))
        if released:
            ctx.note(f"the caller is gone: {', '.join(released)} (not waited for)")

    # -- the way there -----------------------------------------------------------------------

    def _bridge(self, ctx: Context) -> None:
        self.phase, self.bridged = "answered", True
        ctx.own(f"bridge:{self.bridge}")
        create = {"type": "mixing", "bridgeId": self.bridge}
        ctx.send(Request("POST", "bridges", create, action="bridge_create"), "bridge_create")
        add = {"channel": f"{ctx.channel},{self.peer}"}
        path = f"bridges/{_q(self.bridge)}/addChannel"
        ctx.send(Request("POST", path, add, action="bridge_add"), "bridge_add")

    def _over(self, ctx: Context, outcome: str, **payload: Any) -> None:
        """An answer that never came: forget the callee, hang it up, raise the outcome."""
        self.phase = "over"
        for tag in CALLING:
            ctx.withdraw(tag)
        self._tear_down(ctx)  # a bridge half made goes too
        ctx.outcome(outcome, **payload)
        self._forget_if_done(ctx)

    def _callee_gone(self, ctx: Context) -> None:
        if self.callee_handled:
            return
        self.callee, self.callee_handled = "gone", True
        ctx.disown(f"channel:{self.peer}")
        if not self.settled:
            self._over(ctx, OUTCOME_OF_CAUSE.get(self.cause, "DialFailed"), cause=self.cause)
            return
        connected = self.phase == "connected"
        self._tear_down(ctx)
        if connected and not ctx.to_flow("CalleeHungUp", {"cause": self.cause}):
            ctx.note("callee hung up: hanging up")
            ctx.hang_up()
        self._forget_if_done(ctx)

    def _tear_down(self, ctx: Context) -> None:
        """Destroy the bridge if there is one, and hang up the callee if it is still there."""
        if self.bridged:
            ctx.send(self._bridge_request(), "bridge_destroy")
            self.bridged = False
        if self.callee == "alive":
            ctx.send(self._hangup_request(), "peer_hangup")
            self.callee = "hanging up"

    def _forget_if_done(self, ctx: Context) -> None:
        """Over once nothing is left: the outcome known and the callee gone."""
        if self.settled and self.callee == "gone" and not self.bridged:
            ctx.finish()

    def _destroy_bridge(self, ctx: Context) -> str:
        ctx.send(self._bridge_request())
        self.bridged = False
        return "bridge_destroy"

    def _hang_up_callee(self, ctx: Context) -> str:
        ctx.send(self._hangup_request())
        self.callee = "gone"
        return "peer_hangup"

    def _bridge_request(self) -> Request:
        return Request("DELETE", f"bridges/{_q(self.bridge)}", action="bridge_destroy")

    def _hangup_request(self) -> Request:
        return Request("DELETE", f"channels/{_q(self.peer)}", action="peer_hangup")


def _q(identifier: str) -> str:
    return quote(identifier, safe="")


def _number(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


SPECS = (
    ActionSpec(
        "dial",
        "Call an endpoint and bridge it with the caller; DialAnswered, DialBusy, DialNoAnswer "
        "or DialFailed follows, then CalleeHungUp.",
        DialStep,
        {
            "endpoint": {
                "type": "string",
                "minLength": 1,
                "description": "Who to call, e.g. PJSIP/alice or Local/100@internal "
                "(templates allowed).",
            },
            "timeout": {**DURATION, "description": "Ring at most this long; default 30s."},
            "caller_id": {
                "type": "string",
                "description": 'Caller ID shown to the callee, e.g. "Support" <100>.',
            },
        },
        required=("endpoint",),
        nullable=False,
        outcomes={
            "DialAnswered": "dial: the callee answered and is bridged with the caller.",
            "DialBusy": "dial: the callee is busy.",
            "DialNoAnswer": "dial: the callee did not answer in time.",
            "DialFailed": "dial: the call could not be placed.",
        },
        events={"CalleeHungUp": "dial: the bridged callee hung up."},
        durations={"timeout": 600.0},
        requests=(*CALLING, "bridge_destroy", "peer_hangup"),
        escaped={"endpoint": "name"},
    ),
)
