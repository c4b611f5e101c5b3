"""A simulated Asterisk with one channel: answers REST requests, and raises the events a real
Asterisk would (answer -> ChannelStateChange Up, hangup -> StasisEnd, play -> PlaybackFinished).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..ari.messages import AriRequest, AriResponse, Done
from ..engine.timers import TimerHeap
from ..flow.schema import action_routes
from .clock import VirtualClock


@dataclass(frozen=True)
class SentRequest:
    """A request the engine sent, when, and what it was answered."""

    at: float
    action: str  # the flow action it implements, e.g. "answer" (or "METHOD path" if none)
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

    def as_ari(self, state: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": state,
            "caller": {"number": self.caller_number, "name": self.caller_name},
            "dialplan": {"context": "from-trunk", "exten": self.exten, "priority": 2},
        }


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
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.app = app
        self.failures = dict(failures or {})
        self.playback_seconds = playback_seconds
        self.sent: list[SentRequest] = []
        self.events: TimerHeap[dict[str, Any]] = TimerHeap()
        self.state = "Ring"
        self.in_app = True

    # -- the transport seam ------------------------------------------------------------------

    def submit(self, request: AriRequest, done: Done) -> None:
        action = _action_of(request)
        status = self._status_for(action)
        self.sent.append(SentRequest(self.clock.now(), action, request, status))
        done(AriResponse(status, error="" if status < 400 else "simulated failure"))
        effect = getattr(self, f"_after_{action}", None)
        if status < 400 and effect is not None:
            effect(request)

    def _status_for(self, action: str) -> int:
        if not self.in_app:
            return 404
        return self.failures.pop(action, 204 if action != "play" else 201)

    # -- what the caller and Asterisk do -----------------------------------------------------

    def start(self) -> None:
        self.emit("StasisStart", args=self.channel.args)

    def emit(self, kind: str, at: float | None = None, **fields: Any) -> None:
        event = {"type": kind, "application": self.app, "channel": self.channel.as_ari(self.state)}
        event.update(fields)
        self.events.schedule(self.clock.now() if at is None else at, event)

    def caller_hangs_up(self, at: float) -> None:
        self.emit("ChannelHangupRequest", at=at, cause=16)
        self.emit("StasisEnd", at=at)

    def dtmf(self, at: float, digit: str) -> None:
        self.emit("ChannelDtmfReceived", at=at, digit=digit, duration_ms=100)

    def take_due(self, now: float) -> list[dict[str, Any]]:
        delivered = []
        for event in self.events.pop_due(now):
            if self.in_app:
                delivered.append(event)
            self.in_app = self.in_app and event["type"] != "StasisEnd"
        return delivered

    def _after_stop_playback(self, request: AriRequest) -> None:
        playback_id = request.path.rsplit("/", 1)[-1]
        playback = {"id": playback_id, "target_uri": f"channel:{self.channel.id}"}
        self.emit("PlaybackFinished", playback=playback)

    def _after_answer(self, request: AriRequest) -> None:
        self.state = "Up"
        self.emit("ChannelStateChange")

    def _after_hangup(self, request: AriRequest) -> None:
        self.emit("ChannelHangupRequest", cause=16)
        self.emit("StasisEnd")

    def _after_continue(self, request: AriRequest) -> None:
        self.emit("StasisEnd")

    def _after_play(self, request: AriRequest) -> None:
        playback_id = request.path.rsplit("/", 1)[-1]
        playback = {"id": playback_id, "target_uri": f"channel:{self.channel.id}"}
        self.emit("PlaybackStarted", playback=playback)
        self.emit(
            "PlaybackFinished", at=self.clock.now() + self.playback_seconds, playback=playback
        )


def _action_of(request: AriRequest) -> str:
    parts = request.path.split("/")
    shape = "/".join(["channels", "{channel}", *parts[2:]]) if parts[0] == "channels" else ""
    if parts[2:3] == ["play"]:
        shape = "channels/{channel}/play/{playback}"
    if parts[0] == "playbacks":
        shape = "playbacks/{playback}"
    for name, (method, path) in action_routes().items():
        if method == request.method and path == shape:
            return name
    return f"{request.method} {request.path}"
