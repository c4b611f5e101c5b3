"""A simulated Asterisk with one caller channel (and the callees of a `dial`): answers REST
requests, and raises the events a real Asterisk 22 would (answer -> ChannelStateChange Up,
hangup -> StasisEnd, play -> PlaybackFinished, record -> RecordingFinished, or RecordingFailed
when `recordings` say so, a callee's Dial events and key presses, a conference room's
ChannelEnteredBridge and ChannelLeftBridge with its channel list), as seen on the sandbox
Asterisk. A playback lasts `playback_seconds`, or for media of known length (the simulated
speech's) that length.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine.timers import TimerHeap
from ..ports import STEP_CHANNEL, Done, Request, Response
from ..steps import ACTIONS
from ..steps.ari_operations import find_operation
from .clock import VirtualClock

RECORDING_SECONDS = 10.0  # a recording with no maxDurationSeconds ends (the caller hangs up)
# What Asterisk's hangup reasons become as the cause the caller's channel reports.
CAUSES = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}


@dataclass(frozen=True)
class SentRequest:
    """A request the engine sent, when, and what it was answered."""

    at: float
    action: str  # what the request says it does, e.g. "answer" ("ari" for the escape hatch)
    request: Request
    status: int
    seq: int = 0  # its place among the call's happenings, for a timeline of both


@dataclass(frozen=True)
class AriReply:
    """The canned reply of an `ari` (escape hatch) request: the first whose method and path
    fit answers. `path` is an operation as ARI's docs write it (`channels/{channelId}/variable`,
    any values), or a rendered path, `*` matching anything."""

    path: str
    method: str = ""  # any, when empty
    status: int = 200
    json: Any = None
    operation: bool = False  # `path` is an operation's

    def fits(self, request: Request, operation: str) -> bool:
        if self.method and self.method != request.method:
            return False
        if self.operation:
            return self.path == operation
        pattern = ".*".join(re.escape(part) for part in self.path.split("*"))
        return re.fullmatch(pattern, request.path) is not None


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
    """What the callee of a dial does: answer, busy, no_answer or failed, `after` seconds; once
    it has answered, it may press a key (`press`, `press_after` seconds later) and hang up."""

    outcome: str = "answer"
    after: float | None = None
    hangup_after: float | None = None
    press: str = ""
    press_after: float = 1.0


@dataclass(frozen=True)
class Recordings:
    """What becomes of the call's recordings: `finished` (RecordingFinished) or `failed`
    (RecordingFailed: the disk is full, the format cannot be written), `after` seconds;
    by default a recording finishes at its maxDurationSeconds."""

    outcome: str = "finished"
    after: float | None = None


@dataclass(frozen=True)
class Room:
    """Who else is in the room a `conference` joins: `others` there before the caller, one more
    joining at each time of `joins`, one leaving at each of `leaves` (seconds from the start)."""

    others: int = 0
    joins: tuple[float, ...] = ()
    leaves: tuple[float, ...] = ()


# What requests fail: an action's status for its first request, or its statuses for its first
# ones in order (None: answered as usual), e.g. {"play": [None, 500]} fails the second play.
Failures = Mapping[str, int | Sequence[int | None]]


class SimulatedAsterisk:
    """The transport for simulated calls; `failures` says which requests fail, and how."""

    name = "simulated"

    def __init__(
        self,
        clock: VirtualClock,
        channel: SimChannel,
        app: str,
        failures: Failures | None = None,
        playback_seconds: float = 1.0,
        callee: Callee | None = None,
        callees: Mapping[str, Callee] | None = None,
        room: Room | None = None,
        ari_replies: Sequence[AriReply] = (),
        sequence: Iterator[int] | None = None,
        recordings: Recordings | None = None,
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.app = app
        self.failures = {
            name: [statuses] if isinstance(statuses, int) else list(statuses)
            for name, statuses in (failures or {}).items()
        }
        self.recordings = recordings or Recordings()
        self.playback_seconds = playback_seconds
        self.callee = callee or Callee()  # what a callee does, unless `callees` says
        self.callees = dict(callees or {})  # by endpoint
        self.sent: list[SentRequest] = []
        self.ari_replies = tuple(ari_replies)
        self.sequence = sequence or itertools.count()  # shared with the call's journal
        self.events: TimerHeap[dict[str, Any]] = TimerHeap()
        self.state = "Ring"
        self.in_app = True
        self.peers: dict[str, Callee] = {}  # the callees' channel ids, and what each does
        self.peers_gone: set[str] = set()  # destroyed: whatever they were to do, they don't
        self.peer_media: dict[str, str] = {}  # a playback on a callee -> that callee
        self.ended_media: set[str] = set()  # playbacks and recordings that have finished
        self.media_seconds: dict[str, float] = {}  # media URI -> how long it plays
        self.room = room or Room()
        self.bridge = ""  # the conference room's bridge id, once created or joined
        self.members = [f"sim-other-{n}" for n in range(1, self.room.others + 1)]
        self.arrivals = self.room.others  # participants other than the caller so far
        for at in self.room.joins:
            self.events.schedule(at, {"type": ROOM_JOIN})
        for at in self.room.leaves:
            self.events.schedule(at, {"type": ROOM_LEAVE})

    # -- the transport seam ------------------------------------------------------------------

    def submit(self, request: Request, done: Done) -> None:
        action = request.action or "ari"
        canned = self._canned(request) if action == "ari" else None
        status = self._status_for(action, request, canned)
        seq = next(self.sequence)
        self.sent.append(SentRequest(self.clock.now(), action, request, status, seq))
        body = canned.json if canned else self._body(action, request, status)
        done(Response(status, body, _error(status)))
        effect = getattr(self, f"_after_{self._effect_of(request)}", None)
        if status < 400 and effect is not None:
            effect(request)

    def _canned(self, request: Request) -> AriReply | None:
        operation = find_operation(request.method, request.path)
        path = operation.path if operation else ""
        return next((r for r in self.ari_replies if r.fits(request, path)), None)

    def _status_for(self, action: str, request: Request, canned: AriReply | None = None) -> int:
        peer_action = action.startswith(("dial_", "peer_", "bridge_", "room_"))
        if not self.in_app and not peer_action:
            return 404
        if (
            action == "get_variable"
            and request.params.get("variable") not in self.channel.variables
        ):
            return 404
        if (
            action in ("stop_playback", "stop_recording")
            and self._media_of(request) in self.ended_media
        ):
            return 404
        default = {
            "play": 201,
            "dial_prompt": 201,
            "record": 201,
            "get_variable": 200,
            "dial_create": 200,
            "bridge_create": 200,
            "room_create": 409 if self.members else 200,  # found, or created
        }
        usual = canned.status if canned else default.get(action, 204)
        return self.next_failure(action) or usual

    def next_failure(self, name: str) -> int | None:
        """The status the next request of that name fails with, if it does."""
        statuses = self.failures.get(name)
        return statuses.pop(0) if statuses else None

    def _body(self, action: str, request: Request, status: int) -> Any:
        if action == "get_variable" and status == 200:
            return {"value": self.channel.variables[request.params["variable"]]}
        return None

    def _effect_of(self, request: Request) -> str:
        """What the request does to the simulated channel: its action, or for the escape hatch
        the action whose route it takes."""
        if request.action != "ari":
            return request.action
        ids = {"{channel}": self.channel.id}
        for name, spec in ACTIONS.items():
            if (
                spec.route
                and spec.route[0] == request.method
                and _fits(spec.route[1], request.path, ids)
            ):
                return name
        return ""

    # -- what the caller and Asterisk do -----------------------------------------------------

    def start(self) -> None:
        self.emit("StasisStart", args=self.channel.args)

    def emit(self, kind: str, at: float | None = None, **fields: Any) -> None:
        event = {"type": kind, "application": self.app, "channel": self.channel.as_ari(self.state)}
        event.update(fields)
        self.events.schedule(self.clock.now() if at is None else at, event)

    def emit_for_peer(self, peer: str, kind: str, at: float | None = None, **fields: Any) -> None:
        channel = {"id": peer, "name": f"Local/callee-{peer}", "state": "Up"}
        event = {"type": kind, "application": self.app, "channel": channel, **fields}
        if kind == "Dial":
            event = {"type": kind, "application": self.app, "peer": channel, **fields}
        self.events.schedule(self.clock.now() if at is None else at, event)

    def caller_hangs_up(self, at: float) -> None:
        self.emit("ChannelHangupRequest", at=at, cause=16)
        self.events.schedule(at, {"type": ROOM_LEAVE, "caller": True})
        self.emit("StasisEnd", at=at)

    def dtmf(self, at: float, digit: str) -> None:
        self.emit("ChannelDtmfReceived", at=at, digit=digit, duration_ms=100)

    def take_due(self, now: float) -> list[dict[str, Any]]:
        delivered = []
        for event in self.events.pop_due(now):
            if event["type"] in (ROOM_JOIN, ROOM_LEAVE):
                delivered += self._room_changes(event)
                continue
            channel = event.get("channel", event.get("peer", {})).get("id")
            is_peer = channel != self.channel.id
            if self._ends_again(event) or channel in self.peers_gone:
                continue
            if event["type"] == "ChannelDestroyed":
                self.peers_gone.add(channel)
            if is_peer or self.in_app:
                delivered.append(event)
            self.in_app = self.in_app and (is_peer or event["type"] != "StasisEnd")
        return delivered

    def _ends_again(self, event: dict[str, Any]) -> bool:
        """A playback or recording ends once: a stopped one does not end again later."""
        if event["type"] not in ("PlaybackFinished", "RecordingFinished", "RecordingFailed"):
            return False
        media = event.get("playback") or event.get("recording") or {}
        key = str(media.get("id") or media.get("name"))
        if key in self.ended_media:
            return True
        self.ended_media.add(key)
        return False

    def _media_of(self, request: Request) -> str:
        """The playback id or recording name a stop request names."""
        parts = request.path.split("/")
        return parts[1] if parts[0] == "playbacks" else parts[2]

    # -- effects of requests that succeeded --------------------------------------------------

    def _after_answer(self, request: Request) -> None:
        self.state = "Up"
        self.emit("ChannelStateChange")

    def _after_hangup(self, request: Request) -> None:
        cause = CAUSES.get(request.params.get("reason", "normal"), 16)
        self.emit("ChannelHangupRequest", cause=cause)
        self._after_room_remove(request)  # it leaves the room first
        self.emit("StasisEnd")

    def _after_continue(self, request: Request) -> None:
        self.emit("StasisEnd")

    _after_redirect = _after_move = _after_continue

    def _after_set_variable(self, request: Request) -> None:
        self.channel.variables[request.params["variable"]] = request.params.get("value", "")

    def _after_play(self, request: Request) -> None:
        playback = self._media("playback", request.path.rsplit("/", 1)[-1])
        media = request.params.get("media", "")
        seconds = self.media_seconds.get(media, self.playback_seconds)
        self.emit("PlaybackStarted", playback=playback)
        self.emit("PlaybackFinished", at=self.clock.now() + seconds, playback=playback)

    def _after_stop_playback(self, request: Request) -> None:
        """Stopped: it finishes now, and only now (not again at its natural end)."""
        playback = self._media("playback", request.path)
        peer = self.peer_media.get(playback["id"])
        if peer:
            playback["target_uri"] = f"channel:{peer}"
            self.emit_for_peer(peer, "PlaybackFinished", playback=playback)
        else:
            self.emit("PlaybackFinished", playback=playback)

    def _after_record(self, request: Request) -> None:
        recording = self._media("recording", request.params["name"])
        longest = float(request.params.get("maxDurationSeconds") or 0) or RECORDING_SECONDS
        after = self.recordings.after
        seconds = longest if after is None else min(after, longest)
        self.emit("RecordingStarted", recording=recording | {"state": "recording"})
        if self.recordings.outcome == "failed":
            failed = recording | {"state": "failed", "cause": "simulated failure"}
            self.emit("RecordingFailed", at=self.clock.now() + (after or 0.0), recording=failed)
            return
        done = recording | {"state": "done", "duration": round(seconds)}
        self.emit("RecordingFinished", at=self.clock.now() + seconds, recording=done)

    def _after_stop_recording(self, request: Request) -> None:
        name = request.path.split("/")[2]
        self.emit("RecordingFinished", recording=self._media("recording", name) | {"state": "done"})

    def _media(self, kind: str, path_or_id: str) -> dict[str, Any]:
        key = "id" if kind == "playback" else "name"
        return {key: path_or_id.rsplit("/", 1)[-1], "target_uri": f"channel:{self.channel.id}"}

    # -- the callee of a dial ----------------------------------------------------------------

    def _after_dial_create(self, request: Request) -> None:
        peer = request.params["channelId"]
        self.peers[peer] = self.callees.get(request.params["endpoint"], self.callee)
        self.emit_for_peer(peer, "StasisStart", args=[STEP_CHANNEL, self.channel.id])

    def _after_dial_start(self, request: Request) -> None:
        peer = request.path.split("/")[1]
        callee, timeout = self.peers[peer], float(request.params.get("timeout", 30))
        at = self.clock.now() + (callee.after if callee.after is not None else 1.0)
        if callee.outcome == "answer":
            self.emit_for_peer(peer, "Dial", at=at, dialstatus="ANSWER")
            if callee.press:
                digit = {"digit": callee.press, "duration_ms": 100}
                self.emit_for_peer(peer, "ChannelDtmfReceived", at + callee.press_after, **digit)
            if callee.hangup_after is not None:
                self._peer_gone(peer, at + callee.hangup_after, cause=16)
        elif callee.outcome == "no_answer":
            self._peer_gone(peer, self.clock.now() + timeout, cause=19)
        else:
            status = "BUSY" if callee.outcome == "busy" else "CHANUNAVAIL"
            self.emit_for_peer(peer, "Dial", at=at, dialstatus=status)

    def _after_dial_prompt(self, request: Request) -> None:
        """A prompt played to a callee (one asked to accept the call)."""
        _, peer, _, playback_id = request.path.split("/")
        self.peer_media[playback_id] = peer
        playback = {"id": playback_id, "target_uri": f"channel:{peer}"}
        self.emit_for_peer(peer, "PlaybackStarted", playback=playback)
        end = self.clock.now() + self.playback_seconds
        self.emit_for_peer(peer, "PlaybackFinished", at=end, playback=playback)

    def _after_peer_hangup(self, request: Request) -> None:
        self._peer_gone(request.path.split("/")[1], self.clock.now(), cause=16)

    def _peer_gone(self, peer: str, at: float, cause: int) -> None:
        """As Asterisk 22 does: a dial timeout's hangup request says 32 (soft); only the
        ChannelDestroyed after StasisEnd says why (19, no answer)."""
        soft = 32 if cause == 19 else cause
        self.emit_for_peer(peer, "ChannelHangupRequest", at=at, cause=soft)
        self.emit_for_peer(peer, "StasisEnd", at=at)
        self.emit_for_peer(peer, "ChannelDestroyed", at=at, cause=cause)

    # -- the conference room ------------------------------------------------------------------

    def _after_room_create(self, request: Request) -> None:
        self.bridge = request.path.split("/")[1]

    def _after_room_add(self, request: Request) -> None:
        self.bridge = request.path.split("/")[1]
        self.members.append(self.channel.id)
        entered = self._room_event("ChannelEnteredBridge", self.channel.as_ari(self.state))
        self.events.schedule(self.clock.now(), entered)

    def _after_room_remove(self, request: Request) -> None:
        for event in self._caller_leaves_room():
            self.events.schedule(self.clock.now(), event)

    def _after_room_destroy(self, request: Request) -> None:
        self.events.schedule(self.clock.now(), self._room_event("BridgeDestroyed", None))
        self.bridge, self.members = "", []

    def _caller_leaves_room(self) -> list[dict[str, Any]]:
        if self.channel.id not in self.members:
            return []
        self.members.remove(self.channel.id)
        return [self._room_event("ChannelLeftBridge", self.channel.as_ari(self.state))]

    def _room_changes(self, marker: dict[str, Any]) -> list[dict[str, Any]]:
        """Another participant joins or leaves, now; the caller hears of it if it is in."""
        if marker.get("caller"):  # the caller hangs up: it leaves the room first
            return self._caller_leaves_room()
        others = [m for m in self.members if m != self.channel.id]
        if marker["type"] == ROOM_LEAVE and not others:
            return []
        if marker["type"] == ROOM_JOIN:
            self.arrivals += 1
            other, kind = f"sim-other-{self.arrivals}", "ChannelEnteredBridge"
            self.members.append(other)
        else:
            other, kind = others[0], "ChannelLeftBridge"
            self.members.remove(other)
        channel = {"id": other, "name": f"PJSIP/{other}", "state": "Up", "caller": {}}
        return [self._room_event(kind, channel)] if self.channel.id in self.members else []

    def _room_event(self, kind: str, channel: dict[str, Any] | None) -> dict[str, Any]:
        bridge = {"id": self.bridge, "bridge_type": "mixing", "channels": list(self.members)}
        event = {"type": kind, "application": self.app, "bridge": bridge}
        return event | ({"channel": channel} if channel else {})


ROOM_JOIN, ROOM_LEAVE = "(room join)", "(room leave)"  # the room's own changes, as they come


def _error(status: int) -> str:
    return "" if status < 400 else "simulated failure"


def _fits(route: str, path: str, ids: dict[str, str]) -> bool:
    route_parts, parts = route.split("/"), path.split("/")
    return len(route_parts) == len(parts) and all(
        r == p or (r.startswith("{") and ids.get(r, p) == p)
        for r, p in zip(route_parts, parts, strict=True)
    )
