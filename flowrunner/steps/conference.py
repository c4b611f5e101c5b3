"""`conference`: the caller joins a named room, a mixing bridge shared with the callers of any
flow who name the same room; every participant's flow hears of the others joining and leaving.

The bridge's id comes from the room's name (hashed: caller data never becomes an id or a path).
It is found or created by that id: of calls racing to create it, Asterisk 22 answers one 200
and the others 409 "already exists", so they all end in one room. The count is always
Asterisk's: the channel list of the bridge in each ChannelEnteredBridge and ChannelLeftBridge.
Those events of the other participants come to this step because it owns the bridge.

The last one out destroys the bridge. A caller joining at that moment may find it gone (the
add answers 404) or be put out of it (BridgeDestroyed): it joins again, creating it afresh, a
few times at most. A caller over the limit finds out from its own entry (the count there
includes it), leaves again and gets ConferenceFull: of two racing for the last place, exactly
one stays, though the others see the one over the limit come and go.

Music plays to whoever is alone, on the caller's own channel, started and stopped by its own
step as the count goes to 1 and from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..ports import Event, Request, Response, to_text
from .base import ActionSpec, Context, Step

JOINS = 3  # tries at joining a room that vanishes under us, before the action fails
KEY = {"type": "string", "pattern": "^[0-9A-D*#]$"}
CHANGES = ("ChannelEnteredBridge", "ChannelLeftBridge")


def bridge_id(room: str) -> str:
    """The room's bridge: a fixed-shape id whatever the room's name holds."""
    return "flowrunner-room-" + hashlib.sha256(room.encode()).hexdigest()[:32]


@dataclass
class ConferenceStep(Step):
    """Where the caller is (`phase`): joining -> in -> leaving (by key, full, or the state that
    waited was left) -> over; `out` while put out of a room being destroyed, until it joins
    again. `members` is the bridge's channel list as Asterisk last told it."""

    action: str
    room: str
    limit: int = 0  # participants at most; 0: no limit
    muted: bool = False
    music: str = "default"  # the class played while alone; "" for silence
    leave_on: str = ""
    bridge: str = ""
    phase: str = "joining"
    why: str = ""  # why it is leaving: key, full, exit
    members: list[str] = field(default_factory=list)
    joins: int = 0  # tries at joining since it was last in
    hanging_up: bool = False
    destroying: bool = False  # its destruction of the room is queued or sent
    music_on: bool = False  # the caller hears music: it is alone in the room
    created: bool = False  # this join made the room (it is empty until the caller is in)

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        music = params.get("music", "default")
        return cls(
            spec.name,
            room=to_text(params["room"])[:80],
            limit=int(params.get("max", 0)),
            muted=bool(params.get("muted", False)),
            music="" if music is False else to_text(music),
            leave_on=to_text(params.get("leave_on", "")),
        )

    @property
    def count(self) -> int:
        return len(self.members)

    def start(self, ctx: Context) -> None:
        ctx.release()  # the state's next actions need not wait for the room
        if ctx.owned("bridge"):
            ctx.finish()
            ctx.fail("this call is in a bridge already")
            return
        self.bridge = bridge_id(self.room)
        ctx.own(f"bridge:{self.bridge}")
        self._join(ctx)

    def _join(self, ctx: Context) -> None:
        self.joins += 1
        self.phase, self.members, self.created = "joining", [], False
        create = {"type": "mixing", "name": ctx.redact(self.room)}  # the room may be a PIN
        ctx.send(Request("POST", self._path(), create, action="room_create"), "create")
        add = {"channel": ctx.channel, "mute": to_text(self.muted)}
        ctx.send(Request("POST", self._path("addChannel"), add, action="room_add"), "add")

    # -- what Asterisk answers ---------------------------------------------------------------

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if tag in ("create", "add", "destroy"):
            self._note_reply(ctx, f"room_{tag}", response)
        self.created = self.created or (tag == "create" and response.ok)
        if tag == "create" and not (response.ok or response.status == 409):
            ctx.withdraw("add")
            self._failed(ctx, "room_create", response)
        elif tag == "add" and response.gone and self.joins < JOINS:
            ctx.note(
                f"{self.action}: room {ctx.redact(self.room)} went as we joined: joining again"
            )
            self._join(ctx)
        elif tag == "add" and not response.ok:
            self._failed(ctx, "room_add", response)
        elif tag == "remove" and not response.ok:
            self._left(ctx)  # not in the room (any more): it is left all the same
        elif tag == "destroy":
            self.destroying = False
            self._done(ctx)
        elif tag == "check":
            self._checked(ctx, response)

    def _note_reply(self, ctx: Context, action: str, response: Response) -> None:
        found = action == "room_create" and response.status == 409  # it exists: join it
        gone = action == "room_destroy" and response.gone  # someone else's last one out
        result = "created" if action == "room_create" else "ok"
        result = "found" if found else result if response.ok or gone else response.describe()
        level = "info" if response.ok or found or gone else "warning"
        ctx.note(f"{action} {result}", action=action, status=response.status, level=level)

    def _failed(self, ctx: Context, action: str, response: Response) -> None:
        if self.created:
            ctx.send(self._destroy_request())  # the room it made, and could not join
        self.phase = "over"
        ctx.finish()
        if ctx.in_own_state and not ctx.caller_left:
            ctx.fail(response.describe(), response.status, action)

    # -- what happens in the room ------------------------------------------------------------

    def on_event(self, ctx: Context, event: Event) -> bool:
        if event.bridge == self.bridge and event.type == "BridgeDestroyed":
            self._destroyed(ctx)
            return True
        if event.bridge == self.bridge and event.type in CHANGES:
            self._room_changed(ctx, event)
            return True
        if event.channel != ctx.channel:
            return False
        if event.type == "ChannelHangupRequest":
            self.hanging_up = True
        elif event.type == "ChannelDtmfReceived" and self._is_leave_key(event):
            self._leave(ctx, "key")
            return True
        return False

    def _is_leave_key(self, event: Event) -> bool:
        return self.phase == "in" and bool(self.leave_on) and event.get("digit") == self.leave_on

    def _room_changed(self, ctx: Context, event: Event) -> None:
        members = _channels(event)
        if members == self.members and self.phase != "joining":
            return  # said twice (once to each app that sees the bridge)
        self.members = members
        entered = event.type == "ChannelEnteredBridge"
        if event.channel != ctx.channel:
            self._other(ctx, event, entered)
        elif entered:
            self._entered(ctx)
        else:
            self._out(ctx)

    def _entered(self, ctx: Context) -> None:
        if self.phase != "joining":
            return
        if self.limit and self.count > self.limit:
            self._leave(ctx, "full")
        elif not ctx.in_own_state:
            self._leave(ctx, "exit")  # the state that waited for it was left meanwhile
        else:
            self.phase, self.joins = "in", 0
            self._music(ctx)
            self._tell(ctx, "joined the room", "ConferenceJoined")
            ctx.outcome("ConferenceJoined", count=self.count, room=self.room)

    def _other(self, ctx: Context, event: Event, entered: bool) -> None:
        if self.phase != "in":
            return
        self._music(ctx)
        channel = event.section("channel")
        caller = channel.get("caller")
        number = caller.get("number") if isinstance(caller, dict) else ""
        name = to_text(channel.get("name"))
        kind = "ParticipantJoined" if entered else "ParticipantLeft"
        self._tell(ctx, f"{name} {'joined' if entered else 'left'}", kind)
        ctx.to_flow(kind, {"count": self.count, "channel": name, "number": number})

    def _tell(self, ctx: Context, what: str, event: str) -> None:
        """The journal's line for what the flow hears: with the count Asterisk gave."""
        room = ctx.redact(self.room)
        ctx.note(
            f"{self.action}: {what}: {self.count} in room {room}", event=event, count=self.count
        )

    def _music(self, ctx: Context) -> None:
        """Music while the caller is alone in the room, on its own channel: the bridge's music
        would be a channel of the bridge (Asterisk 22 lists it in `channels` at times)."""
        wanted = self.phase == "in" and self.count == 1 and bool(self.music)
        if wanted == self.music_on or self.hanging_up or ctx.caller_left:
            return
        self.music_on = wanted
        path = f"channels/{quote(ctx.channel, safe='')}/moh"
        if wanted:
            ctx.send(Request("POST", path, {"mohClass": self.music}, action="room_music"))
        else:
            ctx.send(Request("DELETE", path, action="room_silence"))

    # -- leaving -----------------------------------------------------------------------------

    def _leave(self, ctx: Context, why: str) -> None:
        self.phase, self.why = "leaving", why
        self._music(ctx)
        remove = {"channel": ctx.channel}
        path = self._path("removeChannel")
        ctx.send(Request("POST", path, remove, action="room_remove"), "remove")

    def _out(self, ctx: Context) -> None:
        """The caller's channel left the room: on purpose, hanging up, or put out."""
        leaving, self.phase = self.phase == "leaving", "out"
        self._music(ctx)
        if not self.members and (leaving or self.hanging_up):  # the last one out
            self._destroy(ctx)
        if leaving:
            self._left(ctx)
        elif self.hanging_up or self.members:
            self._over(ctx, "removed")  # gone, or put out by someone else
        # else the room is being destroyed: BridgeDestroyed follows, and it joins again

    def _left(self, ctx: Context) -> None:
        if self.why == "full":
            self.phase = "over"
            self._done(ctx)
            ctx.outcome("ConferenceFull", count=self.count, room=self.room, max=self.limit)
        elif self.why == "key":
            self._over(ctx, "key")
        else:
            self.phase = "over"
            self._done(ctx)

    def _over(self, ctx: Context, reason: str) -> None:
        self.phase = "over"
        self._done(ctx)
        if self.hanging_up or ctx.caller_left:
            return
        if not ctx.to_flow("ConferenceLeft", {"count": self.count, "reason": reason}):
            ctx.note("left the conference: hanging up")
            ctx.hang_up()

    def _done(self, ctx: Context) -> None:
        """Over once out of the room and its destruction (if ours) answered."""
        if self.phase == "over" and not self.destroying:
            ctx.finish()

    def _destroyed(self, ctx: Context) -> None:
        """Destroyed while the caller was in it, or joining: it joins a new one."""
        if self.phase not in ("in", "out", "joining") or self.hanging_up or ctx.caller_left:
            return
        if self.joins >= JOINS:
            self._failed(ctx, "room_add", Response(404, error="the room keeps going away"))
            return
        ctx.note(f"{self.action}: room {ctx.redact(self.room)} was destroyed: joining again")
        self._join(ctx)

    def _destroy(self, ctx: Context) -> None:
        self.destroying = True
        ctx.send(self._destroy_request(), "destroy")

    def _destroy_request(self) -> Request:
        return Request("DELETE", self._path(), action="room_destroy")

    # -- the call's end, and a runner that was away ------------------------------------------

    def on_exit(self, ctx: Context) -> None:
        """Once in, the caller stays in the room when the flow moves on; a join still under
        way leaves as soon as it is in."""

    def on_end(self, ctx: Context) -> None:
        """The caller is gone; if it was alone, or made the room and never got in, the room goes
        too (now: the call is over)."""
        alone = self.phase == "in" and self.count <= 1
        if ctx.withdraw("destroy") or alone or (self.phase == "joining" and self.created):
            ctx.send(self._destroy_request())

    def on_resume(self, ctx: Context) -> None:
        if self.phase == "in":
            ctx.send(Request("GET", self._path()), "check")

    def _checked(self, ctx: Context, response: Response) -> None:
        """Who is in the room now; a room gone, or left, is joined again."""
        body = response.body if isinstance(response.body, dict) else {}
        if response.ok:
            self.members = _ids(body.get("channels"))
        if response.gone or (response.ok and ctx.channel not in self.members):
            self._join(ctx)

    def _path(self, operation: str = "") -> str:
        return f"bridges/{quote(self.bridge, safe='')}" + (f"/{operation}" if operation else "")


def _channels(event: Event) -> list[str]:
    return _ids(event.section("bridge").get("channels"))


def _ids(value: Any) -> list[str]:
    return [to_text(item) for item in value] if isinstance(value, list) else []


SPECS = (
    ActionSpec(
        "conference",
        "Join the caller to a named room shared with the callers of any flow; "
        "ConferenceJoined or ConferenceFull follows, then ParticipantJoined, ParticipantLeft "
        "and ConferenceLeft.",
        ConferenceStep,
        {
            "room": {
                "type": "string",
                "minLength": 1,
                "maxLength": 80,
                "description": "The room's name: callers naming the same room meet "
                "(templates allowed, e.g. sales-{{ pin }}).",
            },
            "max": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "description": "Participants at most; one more gets ConferenceFull.",
            },
            "muted": {
                "type": "boolean",
                "description": "Listen only: the others do not hear this caller.",
            },
            "music": {
                "anyOf": [{"type": "string", "minLength": 1}, {"const": False}],
                "description": "Music-on-hold class played while the caller is alone; "
                "default: default; false for silence.",
            },
            "leave_on": {**KEY, "description": "A key that takes the caller out of the room."},
        },
        required=("room",),
        nullable=False,
        outcomes={
            "ConferenceJoined": "conference: the caller is in the room (count: how many are).",
            "ConferenceFull": "conference: the room has max participants already.",
        },
        events={
            "ParticipantJoined": "conference: someone joined the caller's room (count).",
            "ParticipantLeft": "conference: someone left the caller's room (count).",
            "ConferenceLeft": "conference: the caller left the room, by its key (reason: key) "
            "or put out (reason: removed); the flow goes on.",
        },
        requests=(
            "room_create",
            "room_add",
            "room_remove",
            "room_music",
            "room_silence",
            "room_destroy",
        ),
        escaped={"room": "name"},
        hears=("ChannelHangupRequest",),  # the caller is hanging up: no more music or moves
    ),
)
