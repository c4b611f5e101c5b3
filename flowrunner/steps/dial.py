"""`dial`: second channels (the callees) created in the app, dialled, and the first to answer
bridged with the caller; and their clean-up when either side goes.

A ring group rings its callees all at once (`ring: all`: the first to answer wins, the others
are hung up at once) or in order, one `timeout` each. With `accept`, a callee who answers hears
a prompt and must press a key before it wins; one who does not is hung up like one who never
answered. One endpoint is a group of one.

The step names each callee's channel and the bridge itself (`channelId`, `bridgeId`) and owns
them: every event about them comes to this dial and no other, so two dials in a row cannot
cross. It stays until its callees are gone, even once its outcome is known.

Seen on Asterisk 22: a final Dial event says BUSY, CONGESTION or CHANUNAVAIL, and the callee
then stays in the app until we hang it up. A dial timeout sends no final Dial event: the callee
leaves (hangup request cause 32, StasisEnd), and only its ChannelDestroyed, after StasisEnd, says
why (cause 19). So an unanswered callee's outcome waits for ChannelDestroyed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ports import Event, Request, Response, to_text, words
from .base import DURATION, MEDIA, VAR_NAME, ActionSpec, Context, Step, media_list
from .callees import MAX_CALLEES, Leg, no_answer, number, q, restore_legs

OUTCOME_OF_STATUS = {"BUSY": "DialBusy", "NOANSWER": "DialNoAnswer", "CANCEL": "DialNoAnswer"}
OUTCOME_OF_CAUSE = {17: "DialBusy", 18: "DialNoAnswer", 19: "DialNoAnswer"}
STILL_CALLING = frozenset({"", "RINGING", "PROGRESS", "PROCEEDING", "ANSWER"})
GRACE = 5.0  # seconds past the dial timeout before we give up on Asterisk and hang up
CALLING = ("bridge_create", "bridge_add")  # taken back when over
LEG_CALLING = ("dial_create", "dial_start", "dial_prompt")  # a callee's, taken back when it is lost


@dataclass
class DialStep(Step):
    """Where the dial is (`phase`): calling -> answered (the winner is being bridged) ->
    connected, or over (nobody answered, a request failed, or the state was left); its outcome
    is known once connected or over. Each callee is a `Leg`; `winner` is the bridged one's
    index. A request about callee n is tagged `NAME:n`."""

    action: str
    legs: list[Leg]
    ring: str = "all"  # all | in_order
    timeout: float = 30.0  # all: the whole ring; in_order: each callee's
    caller_id: str = ""
    accept_prompt: list[str] = field(default_factory=list)
    accept_digit: str = ""  # none: a callee who answers wins at once
    accept_timeout: float = 10.0  # from its answer, the prompt included
    into: str = ""  # the variable set to the endpoint that answered ("" when none did)
    bridge: str = ""
    phase: str = "calling"
    winner: int = -1
    bridged: bool = False  # the bridge exists (or is being made): it must be destroyed

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        endpoints = params["endpoint"]
        endpoints = endpoints if isinstance(endpoints, list) else [endpoints]
        accepts = isinstance(params.get("accept"), dict)
        accept = params["accept"] if accepts else {}
        return cls(
            spec.name,
            [Leg(to_text(endpoint)) for endpoint in endpoints],
            to_text(params.get("ring", "all")),
            float(params.get("timeout", 30.0)),
            to_text(params.get("caller_id")),
            media_list(accept.get("prompt")),
            to_text(accept.get("digit", "1")) if accepts else "",
            float(accept.get("timeout", 10.0)),
            to_text(params.get("into")),
        )

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> Step:
        return cls(**restore_legs(data))

    @property
    def settled(self) -> bool:
        return self.phase in ("connected", "over")

    @property
    def several(self) -> bool:
        return len(self.legs) > 1

    def start(self, ctx: Context) -> None:
        ctx.release()  # the state's next actions need not wait for the answer
        problem = self._cannot_start(ctx)
        if problem:
            ctx.finish()
            ctx.fail(problem)
            return
        self.bridge = ctx.new_id("bridge")
        for leg in self.legs if self.ring == "all" else self.legs[:1]:
            self._call(ctx, leg)

    def _cannot_start(self, ctx: Context) -> str:
        if ctx.owned("bridge"):
            return "this call is still connected to its last callee"
        if not 0 < len(self.legs) <= MAX_CALLEES:  # a template's list: the schema bounds others
            return f"{len(self.legs)} endpoints to dial: one to {MAX_CALLEES}"
        return ""

    def _call(self, ctx: Context, leg: Leg) -> None:
        leg.id, leg.channel, leg.fate = ctx.new_id("dial"), "alive", "ringing"
        ctx.own(f"channel:{leg.id}")
        request = leg.create_request(ctx.app, ctx.channel, self.caller_id)
        ctx.send(request, self._tag("dial_create", leg))
        ctx.after(self.timeout + GRACE, "give_up")  # in order: re-armed for each callee

    # -- what the callees do -----------------------------------------------------------------

    def on_event(self, ctx: Context, event: Event) -> bool:
        leg = next((leg for leg in self.legs if leg.id and leg.id == event.channel), None)
        if leg is None:
            return False
        ctx.log_event(event, who="callee ")
        status = to_text(event.get("dialstatus", ""))
        ringing = leg.fate == "ringing" and not self.settled
        if event.type == "StasisStart" and ringing:
            ctx.send(leg.dial_request(self.timeout, ctx.channel), self._tag("dial_start", leg))
        elif event.type == "Dial" and status == "ANSWER" and ringing:
            self._picked_up(ctx, leg)
        elif event.type == "Dial" and status not in STILL_CALLING and ringing:
            self._lose(ctx, leg, OUTCOME_OF_STATUS.get(status, "DialFailed"), dialstatus=status)
        elif event.type == "ChannelDtmfReceived" and leg.fate == "accepting":
            self._key(ctx, leg, to_text(event.get("digit", "")))
        elif event.type == "PlaybackFinished" and event.media == f"playback:{leg.prompt}":
            leg.prompt = ""
        elif event.type == "StasisEnd":
            leg.channel = "gone"  # no more requests to it; why it left comes next
            if self.settled or leg.fate == "lost":
                self._leg_gone(ctx, leg)
        elif event.type == "ChannelDestroyed":
            leg.cause = number(event.get("cause"))
            self._leg_gone(ctx, leg)
        return True

    def on_resume(self, ctx: Context) -> None:
        """A callee may have answered, or gone, or left the bridge, while nobody listened."""
        for leg in self.legs:
            if leg.channel in ("alive", "hanging up"):
                ctx.send(Request("GET", f"channels/{q(leg.id)}"), self._tag("check", leg))
        if self.bridged and self.phase == "connected":
            ctx.send(Request("GET", f"bridges/{q(self.bridge)}"), "check_bridge")

    def _checked(self, ctx: Context, tag: str, leg: Leg | None, response: Response) -> None:
        body = response.body if isinstance(response.body, dict) else {}
        if response.gone and tag == "check_bridge":
            self.bridged = False  # nothing left to destroy; the callee goes too
            self._leg_gone(ctx, self.legs[self.winner])
        elif response.gone and leg:
            self._leg_gone(ctx, leg)
        elif leg and leg.fate == "ringing" and not self.settled and body.get("state") == "Up":
            self._picked_up(ctx, leg)  # it answered while nobody listened

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        name, leg = self._untag(tag)
        if name.startswith("check"):
            self._checked(ctx, name, leg, response)
            return
        ok = response.ok or (response.gone and name in ("bridge_destroy", "peer_hangup"))
        result = "ok" if ok else f"failed: {response.describe()}"
        level = "info" if ok else "warning"
        who = {"callee": leg.endpoint} if leg and self.several else {}
        ctx.note(f"{name} {result}", level=level, action=name, status=response.status, **who)
        if name == "peer_hangup" and response.gone and leg:
            self._leg_gone(ctx, leg)  # it never was, or had gone already
        if self.settled or (leg and leg.fate == "lost"):
            return
        if name == "bridge_add" and ok:
            self._connected(ctx)
        elif not ok and leg and leg.fate != "won":
            self._lose(ctx, leg, "DialFailed", status=response.status)  # the others go on
        elif not ok:
            self._over(ctx, "DialFailed", {"status": response.status})

    def on_timer(self, ctx: Context, tag: str) -> None:
        """Asterisk's own dial timeout should have ended the ringing: a safety net, not the
        rule. An accept timer: that callee did not press the key in time."""
        name, leg = self._untag(tag)
        if name == "accept":
            if leg and leg.fate == "accepting" and not self.settled:
                self._lose(ctx, leg, "DialNoAnswer", accepted=False)
            return
        for ringing in [leg for leg in self.legs if leg.fate == "ringing"]:
            if ringing.fate == "ringing" and not self.settled:  # an outcome may have come
                self._lose(ctx, ringing, "DialNoAnswer", cause=0)

    def on_exit(self, ctx: Context) -> None:
        """The state that waited for the answer is gone: so are the callees. A connected call
        stays connected."""
        if not self.settled:
            self.phase = "over"
            self._tear_down(ctx)
            self._forget_if_done(ctx)

    def on_end(self, ctx: Context) -> None:
        """The caller is gone: the bridge and the callees go too, even if their clean-up was
        still queued (a call that ended sends nothing from its queue)."""
        released = []
        if self.bridged or ctx.withdraw("bridge_destroy"):
            ctx.send(self._bridge_request())
            self.bridged = False
            released.append("bridge_destroy")
        for leg in self.legs:
            queued = leg.channel == "hanging up" and ctx.withdraw(self._tag("peer_hangup", leg))
            if leg.there or queued:
                ctx.send(leg.hangup_request())
                leg.channel = "gone"
                released.append("peer_hangup")
        if released:
            ctx.note(f"the caller is gone: {', '.join(released)} (not waited for)")

    # -- the way there -----------------------------------------------------------------------

    def _picked_up(self, ctx: Context, leg: Leg) -> None:
        """A callee answered: it wins, or is asked to accept first."""
        if not self.accept_digit:
            self._win(ctx, leg)
            return
        leg.fate = "accepting"
        if self.accept_prompt:
            leg.prompt = ctx.new_id("play")
            ctx.send(leg.prompt_request(self.accept_prompt), self._tag("dial_prompt", leg))
        ctx.after(self.accept_timeout, self._tag("accept", leg))

    def _key(self, ctx: Context, leg: Leg, digit: str) -> None:
        if digit != self.accept_digit:
            return  # another key: it may still press the right one in time
        ctx.cancel(self._tag("accept", leg))
        if leg.prompt and not ctx.withdraw(self._tag("dial_prompt", leg)):
            ctx.send(leg.stop_prompt_request())  # a channel plays before it joins a bridge
        leg.prompt = ""
        self._win(ctx, leg)

    def _win(self, ctx: Context, leg: Leg) -> None:
        """The first to answer (and accept) is bridged; the others are hung up at once."""
        leg.fate, self.winner = "won", self.legs.index(leg)
        for other in self.legs:
            if other.pending:
                self._drop(ctx, other)
        self.phase, self.bridged = "answered", True
        ctx.own(f"bridge:{self.bridge}")
        create = {"type": "mixing", "bridgeId": self.bridge}
        ctx.send(Request("POST", "bridges", create, action="bridge_create"), "bridge_create")
        add = {"channel": f"{ctx.channel},{leg.id}"}
        path = f"bridges/{q(self.bridge)}/addChannel"
        ctx.send(Request("POST", path, add, action="bridge_add"), "bridge_add")

    def _connected(self, ctx: Context) -> None:
        self.phase = "connected"
        leg = self.legs[self.winner]
        if self.into:
            ctx.set_vars({self.into: leg.endpoint})
        ctx.outcome("DialAnswered", callee=leg.id, endpoint=leg.endpoint, index=self.winner)

    def _lose(self, ctx: Context, leg: Leg, outcome: str, **detail: Any) -> None:
        """A callee that will not answer: hang it up; the others go on, or the next is called;
        with none left, the dial is over."""
        self._drop(ctx, leg)
        leg.outcome, leg.detail = outcome, detail
        if self.several:
            ctx.note(f"{leg.endpoint}: {words(outcome)}")
        if any(other.fate in ("ringing", "accepting") for other in self.legs):
            return
        waiting = next((other for other in self.legs if other.fate == "waiting"), None)
        if waiting is not None:
            self._call(ctx, waiting)
            return
        self._over(ctx, *no_answer(self.legs))

    def _drop(self, ctx: Context, leg: Leg) -> None:
        """Forget a callee's answer: take back what was still queued for it, hang it up."""
        leg.fate = "lost"
        for name in LEG_CALLING:
            ctx.withdraw(self._tag(name, leg))
        ctx.cancel(self._tag("accept", leg))
        self._hang_up(ctx, leg)

    def _over(self, ctx: Context, outcome: str, payload: Mapping[str, Any]) -> None:
        """An answer that never came: forget the callees, hang them up, raise the outcome."""
        self.phase = "over"
        for tag in CALLING:
            ctx.withdraw(tag)
        for leg in self.legs:
            if leg.pending:
                self._drop(ctx, leg)
        self._tear_down(ctx)  # a bridge half made goes too
        if self.into:
            ctx.set_vars({self.into: ""})
        ctx.outcome(outcome, **payload)
        self._forget_if_done(ctx)

    def _leg_gone(self, ctx: Context, leg: Leg) -> None:
        if leg.handled:
            return
        leg.channel, leg.handled = "gone", True
        ctx.disown(f"channel:{leg.id}")
        cause = {"cause": leg.cause}
        if leg.pending and not self.settled:  # one who answered, then left, did not accept
            why = OUTCOME_OF_CAUSE.get(leg.cause, "DialFailed")
            self._lose(ctx, leg, "DialNoAnswer" if leg.fate == "accepting" else why, **cause)
            return
        if leg.fate != "won":
            self._forget_if_done(ctx)
            return
        if not self.settled:  # gone while being bridged
            self._over(ctx, OUTCOME_OF_CAUSE.get(leg.cause, "DialFailed"), cause)
            return
        connected = self.phase == "connected"
        self._tear_down(ctx)
        if connected and not ctx.to_flow("CalleeHungUp", cause):
            ctx.note("callee hung up: hanging up")
            ctx.hang_up()
        self._forget_if_done(ctx)

    def _tear_down(self, ctx: Context) -> None:
        """Destroy the bridge if there is one, and hang up the callees still there."""
        if self.bridged:
            ctx.send(self._bridge_request(), "bridge_destroy")
            self.bridged = False
        for leg in self.legs:
            self._hang_up(ctx, leg)

    def _hang_up(self, ctx: Context, leg: Leg) -> None:
        if leg.there:
            ctx.send(leg.hangup_request(), self._tag("peer_hangup", leg))
            leg.channel = "hanging up"

    def _forget_if_done(self, ctx: Context) -> None:
        """Over once nothing is left: the outcome known and the callees gone."""
        called = [leg for leg in self.legs if leg.channel != "none"]
        if self.settled and all(leg.channel == "gone" for leg in called) and not self.bridged:
            ctx.finish()

    def _bridge_request(self) -> Request:
        return Request("DELETE", f"bridges/{q(self.bridge)}", action="bridge_destroy")

    def _tag(self, name: str, leg: Leg) -> str:
        return f"{name}:{self.legs.index(leg)}"

    def _untag(self, tag: str) -> tuple[str, Leg | None]:
        """`NAME:n` -> (NAME, callee n); a bridge's tag names no callee. (A snapshot made
        before dials had several callees tags callee 0's requests by name alone.)"""
        name, _, index = tag.partition(":")
        if name in ("bridge_create", "bridge_add", "bridge_destroy", "check_bridge"):
            return name, None
        n = int(index) if index.isdigit() else 0
        return name, self.legs[n] if n < len(self.legs) else None


ENDPOINT = {
    "type": "string",
    "minLength": 1,
    "pattern": "/|\\{\\{",  # TECH/RESOURCE, or a template that gives it
    "description": "An endpoint is TECHNOLOGY/RESOURCE, e.g. PJSIP/alice or Local/100@internal "
    "(or a template that gives one).",
}

SPECS = (
    ActionSpec(
        "dial",
        "Call one endpoint, or a ring group (all at once or in order), and bridge the first to "
        "answer with the caller; DialAnswered, DialBusy, DialNoAnswer or DialFailed follows, "
        "then CalleeHungUp.",
        DialStep,
        {
            "endpoint": {
                "anyOf": [
                    ENDPOINT,
                    {
                        "type": "array",
                        "items": ENDPOINT,
                        "minItems": 1,
                        "maxItems": MAX_CALLEES,
                        "uniqueItems": True,
                    },
                ],
                "description": "Who to call, e.g. PJSIP/alice or Local/100@internal, or a list "
                f"of up to {MAX_CALLEES} (a ring group; templates allowed).",
            },
            "ring": {
                "enum": ["all", "in_order"],
                "description": "A ring group's callees ring all at once (the first to answer "
                "wins; default) or in order, each for `timeout`.",
            },
            "timeout": {
                **DURATION,
                "description": "Ring at most this long (in order: each callee); default 30s.",
            },
            "caller_id": {
                "type": "string",
                "description": 'Caller ID shown to the callee, e.g. "Support" <100>.',
            },
            "accept": {
                "type": "object",
                "additionalProperties": False,
                "description": "A callee who answers must press a key before being bridged; "
                "one who does not counts as not answering.",
                "properties": {
                    "prompt": {"description": "Media the callee hears first.", **MEDIA},
                    "digit": {
                        "type": "string",
                        "pattern": "^[0-9A-D*#]$",
                        "description": 'The key to press, one of 0-9, A-D, * and #; default "1".',
                    },
                    "timeout": {
                        **DURATION,
                        "description": "Press it this long after answering (the prompt "
                        "included); default 10s.",
                    },
                },
            },
            "into": {
                **VAR_NAME,
                "description": "A variable set to the endpoint that answered (empty if none).",
            },
        },
        required=("endpoint",),
        nullable=False,
        outcomes={
            "DialAnswered": "dial: a callee answered and is bridged with the caller.",
            "DialBusy": "dial: the callee is busy (a group: none answered, one was busy).",
            "DialNoAnswer": "dial: no callee answered (or accepted) in time.",
            "DialFailed": "dial: the call could not be placed.",
        },
        events={"CalleeHungUp": "dial: the bridged callee hung up."},
        durations={"timeout": 600.0, "accept.timeout": 600.0},
        defines="into",
        requests=(*LEG_CALLING, *CALLING, "bridge_destroy", "peer_hangup", "stop_playback"),
        escaped={"endpoint": "name", "accept": "name"},
    ),
)
