"""A simulated Asterisk with one caller channel (and the callee of a `dial`): answers REST
requests, and raises the events a real Asterisk 22 would (answer -> ChannelStateChange Up,
hangup -> StasisEnd, play -> PlaybackFinished, record -> RecordingFinished, a callee's Dial
events), as seen on the sandbox Asterisk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ari.messages import AriRequest, AriResponse, Done
from ..engine.actions import routes
from ..engine.dial import PEER_ARG
from ..engine.timers import TimerHeap
from .clock import VirtualClock

RECORDING_SECONDS = 10.0  # a recording with no maxDurationSeconds ends (the caller hangs up)


@dataclass(frozen=True)
class SentRequest:
    """A request the engine sent, when, and what it was answered."""

    at: float
    action: str  # the flow action it implements, e.g. "answer" ("ari" for the escape hatch)
    request: AriRequest
    status: int


@dataclass
class SimChannel:
    id: str = "sim-0001"
    name: str = "PJSIP/sim-00000001"
    caller_number: str = ""
    caller_name: str = ""
    exten: str = "1000"
    args: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    def as_ari(self, state: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": state,
            "caller": {"number": self.caller_number, "name": self.caller_name},
            "dialplan": {"context": "from-trunk", "exten": self.exten, "priority": 2},
        }


@dataclass(frozen=True)
class Callee:
    """What the callee of a dial does: answer, busy, no_answer or failed, `after` seconds."""

    outcome: str = "answer"
    after: float | None = None
    hangup_after: float | None = None


class SimulatedAsterisk:
    """The transport for simulated calls; `failures` maps an action to the status it gets once."""

    name = "simulated"

    def __init__(
        self,
        clock: VirtualClock,
        channel: SimChannel,
        app: str,
        failures: dict[str, int] | None = None,
        playback_seconds: float = 1.0,
        callee: Callee | None = None,
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.app = app
        self.failures = dict(failures or {})
        self.playback_seconds = playback_seconds
        self.callee = callee or Callee()
        self.sent: list[SentRequest] = []
        self.events: TimerHeap[dict[str, Any]] = TimerHeap()
        self.state = "Ring"
        self.in_app = True
        self.peer = ""  # the callee's channel id, while it is there

    # -- the transport seam ------------------------------------------------------------------

    def submit(self, request: AriRequest, done: Done) -> None:
        action = self._action_of(request)
        status = self._status_for(action, request)
        self.sent.append(SentRequest(self.clock.now(), action, request, status))
        done(AriResponse(status, self._body(action, request, status), _error(status)))
        effect = getattr(self, f"_after_{action}", None)
        if status < 400 and effect is not None:
            effect(request)

    def _status_for(self, action: str, request: AriRequest) -> int:
        peer_action = action.startswith(("dial_", "peer_", "bridge_"))
        if not self.in_app and not peer_action:
            return 404
        if (
            action == "get_variable"
            and request.params.get("variable") not in self.channel.variables
        ):
            return 404
        default = {
            "play": 201,
            "record": 201,
            "get_variable": 200,
            "dial_create": 200,
            "bridge_create": 200,
        }
        return self.failures.pop(action, default.get(action, 204))

    def _body(self, action: str, request: AriRequest, status: int) -> Any:
        if action == "get_variable" and status == 200:
            return {"value": self.channel.variables[request.params["variable"]]}
        return None

    def _action_of(self, request: AriRequest) -> str:
        """The action a request implements, found from its route ("ari" when none matches);
        {channel} and {peer} must name the caller's and the callee's channel."""
        ids = {"{channel}": self.channel.id, "{peer}": self.peer}
        for name, (method, path) in routes().items():
            if method == request.method and _fits(path, request.path, ids):
                return name
        return "ari"

    # -- what the caller and Asterisk do -----------------------------------------------------

    def start(self) -> None:
        self.emit("StasisStart", args=self.channel.args)

    def emit(self, kind: str, at: float | None = None, **fields: Any) -> None:
        event = {"type": kind, "application": self.app, "channel": self.channel.as_ari(self.state)}
        event.update(fields)
        self.events.schedule(self.clock.now() if at is None else at, event)

    def emit_for_peer(self, kind: str, at: float | None = None, **fields: Any) -> None:
        channel = {"id": self.peer, "name": f"Local/callee-{self.peer}", "state": "Up"}
        event = {"type": kind, "application": self.app, "channel": channel, **fields}
        if kind == "Dial":
            event = {"type": kind, "application": self.app, "peer": channel, **fields}
        self.events.schedule(self.clock.now() if at is None else at, event)

    def caller_hangs_up(self, at: float) -> None:
        self.emit("ChannelHangupRequest", at=at, cause=16)
        self.emit("StasisEnd", at=at)

    def dtmf(self, at: float, digit: str) -> None:
        self.emit("ChannelDtmfReceived", at=at, digit=digit, duration_ms=100)

    def take_due(self, now: float) -> list[dict[str, Any]]:
        delivered = []
        for event in self.events.pop_due(now):
            is_peer = event.get("channel", event.get("peer", {})).get("id") != self.channel.id
            if is_peer or self.in_app:
                delivered.append(event)
            self.in_app = self.in_app and (is_peer or event["type"] != "StasisEnd")
        return delivered

    # -- effects of requests that succeeded --------------------------------------------------

    def _after_answer(self, request: AriRequest) -> None:
        self.state = "Up"
        self.emit("ChannelStateChange")

    def _after_hangup(self, request: AriRequest) -> None:
        self.emit("ChannelHangupRequest", cause=16)
        self.emit("StasisEnd")

    def _after_continue(self, request: AriRequest) -> None:
        self.emit("StasisEnd")

    _after_redirect = _after_move = _after_continue

    def _after_set_variable(self, request: AriRequest) -> None:
        self.channel.variables[request.params["variable"]] = request.params.get("value", "")

    def _after_play(self, request: AriRequest) -> None:
        playback = self._media("playback", request.path.rsplit("/", 1)[-1])
        self.emit("PlaybackStarted", playback=playback)
        self.emit(
            "PlaybackFinished", at=self.clock.now() + self.playback_seconds, playback=playback
        )

    def _after_stop_playback(self, request: AriRequest) -> None:
        self.emit("PlaybackFinished", playback=self._media("playback", request.path))

    def _after_record(self, request: AriRequest) -> None:
        recording = self._media("recording", request.params["name"])
        seconds = float(request.params.get("maxDurationSeconds") or 0) or RECORDING_SECONDS
        self.emit("RecordingStarted", recording=recording | {"state": "recording"})
        done = recording | {"state": "done", "duration": round(seconds)}
        self.emit("RecordingFinished", at=self.clock.now() + seconds, recording=done)

    def _after_stop_recording(self, request: AriRequest) -> None:
        name = request.path.split("/")[2]
        self.emit("RecordingFinished", recording=self._media("recording", name) | {"state": "done"})

    def _media(self, kind: str, path_or_id: str) -> dict[str, Any]:
        key = "id" if kind == "playback" else "name"
        return {key: path_or_id.rsplit("/", 1)[-1], "target_uri": f"channel:{self.channel.id}"}

    # -- the callee of a dial ----------------------------------------------------------------

    def _after_dial_create(self, request: AriRequest) -> None:
        self.peer = request.params["channelId"]
        self.emit_for_peer("StasisStart", args=[PEER_ARG, self.channel.id])

    def _after_dial_start(self, request: AriRequest) -> None:
        callee, timeout = self.callee, float(request.params.get("timeout", 30))
        at = self.clock.now() + (callee.after if callee.after is not None else 1.0)
        if callee.outcome == "answer":
            self.emit_for_peer("Dial", at=at, dialstatus="ANSWER")
            if callee.hangup_after is not None:
                self._peer_gone(at + callee.hangup_after, cause=16)
        elif callee.outcome == "no_answer":
            self._peer_gone(self.clock.now() + timeout, cause=19)
        else:
            status = "BUSY" if callee.outcome == "busy" else "CHANUNAVAIL"
            self.emit_for_peer("Dial", at=at, dialstatus=status)

    def _after_peer_hangup(self, request: AriRequest) -> None:
        self._peer_gone(self.clock.now(), cause=16)

    def _peer_gone(self, at: float, cause: int) -> None:
        """As Asterisk 22 does: a dial timeout's hangup request says 32 (soft); only the
        ChannelDestroyed after StasisEnd says why (19, no answer)."""
        self.emit_for_peer("ChannelHangupRequest", at=at, cause=32 if cause == 19 else cause)
        self.emit_for_peer("StasisEnd", at=at)
        self.emit_for_peer("ChannelDestroyed", at=at, cause=cause)


def _error(status: int) -> str:
    return "" if status < 400 else "simulated failure"


def _fits(route: str, path: str, ids: dict[str, str]) -> bool:
    route_parts, parts = route.split("/"), path.split("/")
    return len(route_parts) == len(parts) and all(
        r == p or (r.startswith("{") and ids.get(r, p) == p)
        for r, p in zip(route_parts, parts, strict=True)
    )
