"""`play` and `stop_playback`: media played to the caller.

A play owns its playback: the engine names it (`playWithId`), so its events reach this step and
no other, and only the state that started it sees them. Leaving the state stops a playback
still going: Asterisk holds a channel's next operations behind the media it plays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from ..ports import Event, Request, Response, to_text
from .base import MEDIA, ActionSpec, Context, Step, media_list


def play_request(ctx: Context, playback: str, media: list[str], lang: str = "") -> Request:
    """`POST channels/{caller}/play/{playback}`: the media in order, as one playback."""
    params = {"media": ",".join(media)} | ({"lang": lang} if lang else {})
    path = f"channels/{quote(ctx.channel, safe='')}/play/{quote(playback, safe='')}"
    return Request("POST", path, params, action="play")


def finished(kind: str, name: str, channel: str) -> Event:
    """The PlaybackFinished (or RecordingFinished) a runner that was away did not get."""
    key = "id" if kind == "playback" else "name"
    media = {key: name, "target_uri": f"channel:{channel}"}
    event = "PlaybackFinished" if kind == "playback" else "RecordingFinished"
    return Event(event, channel, f"{kind}:{name}", "", {"type": event, kind: media})


def started(ctx: Context, action: str, response: Response) -> None:
    """The reply to a request that starts media (a play, a record): Asterisk took it, and the
    state's next action may start; or the channel is gone; or the action failed."""
    if response.ok:
        ctx.note(f"{action} ok", action=action, status=response.status)
        ctx.release()
    elif response.gone:
        ctx.gone()
    else:
        ctx.finish()
        ctx.fail(response.describe(), response.status)


def stop_request(playback: str) -> Request:
    return Request("DELETE", f"playbacks/{quote(playback, safe='')}", action="stop_playback")


def check_request(playback: str) -> Request:
    """After a restore: is the playback still going? (404: it finished meanwhile.)"""
    return Request("GET", f"playbacks/{quote(playback, safe='')}")


@dataclass
class PlayStep(Step):
    """Play, let the state's next action start once Asterisk took it, and hand the playback's
    events to the state while it is current; over when the playback has finished."""

    action: str
    media: list[str]
    lang: str = ""
    playback: str = ""

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        return cls(spec.name, media_list(params.get("media")), to_text(params.get("lang")))

    def start(self, ctx: Context) -> None:
        self.playback = ctx.new_id("play")
        ctx.own(f"playback:{self.playback}")
        ctx.send(play_request(ctx, self.playback, self.media, self.lang), "play")

    def on_resume(self, ctx: Context) -> None:
        if self.playback in ctx.owned("playback"):
            ctx.send(check_request(self.playback), "check")

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if tag == "check":  # after a restore: gone means it finished meanwhile
            if response.gone:
                self.on_event(ctx, finished("playback", self.playback, ctx.channel))
            return
        started(ctx, "play", response)

    def on_event(self, ctx: Context, event: Event) -> bool:
        if event.media != f"playback:{self.playback}":
            return False
        if event.type == "PlaybackFinished":
            ctx.finish()  # before the flow moves on: there is nothing left to stop
        if ctx.in_own_state:
            ctx.to_flow(event.type, event.fields)
        return True

    def on_exit(self, ctx: Context) -> None:
        if not ctx.withdraw("play") and not ctx.caller_left:
            ctx.send(stop_request(self.playback))
        ctx.finish()


@dataclass
class StopPlaybacks(Step):
    """Stop each of the call's playbacks still going (whoever started it), one request each; a
    404 means it had ended already. `StopRecordings` does the same for recordings."""

    kind: ClassVar[str] = "playback"
    action: str
    waiting: list[str] = field(default_factory=list)

    @staticmethod
    def stop(name: str) -> Request:
        return stop_request(name)

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        return cls(spec.name)

    def start(self, ctx: Context) -> None:
        self.waiting = ctx.owned(self.kind)
        for name in self.waiting:
            ctx.send(self.stop(name), name)
        if not self.waiting:
            ctx.finish()

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if not (response.ok or response.gone):
            ctx.finish()
            ctx.fail(response.describe(), response.status)
            return
        ctx.note(f"{self.action} ok", action=self.action, status=response.status)
        self.waiting.remove(tag)
        if not self.waiting:
            ctx.finish()


SPECS = (
    ActionSpec(
        "play",
        "Play media to the caller; the state's PlaybackFinished follows "
        "(playbacks of earlier states are ignored).",
        PlayStep,
        {
            "media": {
                "description": "Media URI(s), e.g. sound:hello-world, or a list played in order.",
                **MEDIA,
            },
            "lang": {
                "type": "string",
                "minLength": 1,
                "description": "Language of the sounds, e.g. en.",
            },
        },
        required=("media",),
        route=("POST", "channels/{channel}/play/{playback}"),
        escaped={"media": "name"},
    ),
    ActionSpec(
        "stop_playback",
        "Stop this call's playbacks still playing (flowrunner does this when a state is left, "
        "so a prompt never holds up the next state).",
        StopPlaybacks,
        route=("DELETE", "playbacks/{playback}"),
        not_found="done",
    ),
)
