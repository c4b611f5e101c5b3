"""The messages the runtime handles besides ARI events: replies, due timers, reconnect news."""

from __future__ import annotations

from dataclasses import dataclass

from ..ports import Done, Response, SpeechRequest, WebRequest


@dataclass(frozen=True)
class Replied:
    """The answer to request `number` of call `call` (an ARI or a web request)."""

    call: str
    number: int
    response: Response


@dataclass(frozen=True)
class Due:
    """Timer `tag` of call `call`, armed by `owner` (a step, or the flow for `after:`); `seq`
    tells it from the timers that replaced it."""

    call: str
    owner: str
    tag: str
    seq: int


@dataclass(frozen=True)
class Reconcile:
    """After a reconnect: the channels Asterisk still has in `app`. `scope`, when given, is the
    part of the app the listing covers (one connection's channels, with `serve --listen` per
    call): calls and kept calls outside it are left alone."""

    app: str
    channel_ids: frozenset[str]
    scope: frozenset[str] | None = None
    # The name of the channel a per-call connection was opened for: if no call owns it and
    # none was kept, its first runner was gone before keeping it, and its call starts now.
    unstarted: str = ""

    def covers(self, channel: str) -> bool:
        return self.scope is None or channel in self.scope


class NoWebClient:
    """For a runtime given no web client: every request fails at once."""

    def submit(self, request: WebRequest, done: Done) -> None:
        done(Response(0, error="no web client"))


class NoSpeech:
    """For a runtime given no speech: every `say` fails at once."""

    def submit(self, request: SpeechRequest, done: Done) -> None:
        done(Response(0, error="no speech engine"))
