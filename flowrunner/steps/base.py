"""What every step is and may do: the `Step` hooks, the `Context` the engine hands them, and the
`ActionSpec` that says what a flow may write for an action.

A step is one action's run in one call: a dataclass of plain JSON data (so a call can be saved
and restored) with hooks the engine calls. It owns what it creates (its requests' replies, its
timers, its channels, playbacks and bridges): their events and replies come to it and to no
other step. It talks to the engine only through its `Context`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..ports import Event, Request, Response, SpeechRequest, WebRequest

Schema = dict[str, Any]  # a JSON Schema fragment


class Context(Protocol):
    """The engine, as one step of one call sees it."""

    @property
    def channel(self) -> str:
        """The caller's channel id."""

    @property
    def app(self) -> str:
        """The Stasis app the call is in."""

    @property
    def in_own_state(self) -> bool:
        """The state that started this step is still the current one."""

    @property
    def caller_left(self) -> bool:
        """The caller's channel has left the app: a request on it would find it gone."""

    def new_id(self, kind: str) -> str:
        """A fresh id for something this call creates: `<channel>-<kind>-<n>`."""

    def send(self, request: Request, tag: str | None = None) -> None:
        """Queue an ARI request (one request at a time per call, in order). Its reply comes to
        `on_reply(tag)`; with no tag, the engine only logs how it went."""

    def withdraw(self, tag: str) -> bool:
        """Take back this step's request `tag` if it is still queued; True if it was."""

    def web(self, request: WebRequest, tag: str) -> None:
        """Send a web request; its reply comes to `on_reply(tag)`."""

    def speak(self, request: SpeechRequest, tag: str) -> None:
        """Have speech rendered; its reply (the media to play) comes to `on_reply(tag)`."""

    def after(self, seconds: float, tag: str) -> None:
        """(Re)arm this step's timer `tag`: `on_timer(tag)` then; an earlier one is replaced."""

    def cancel(self, tag: str) -> None:
        """Disarm this step's timer `tag`."""

    def own(self, resource: str) -> None:
        """Claim `channel:ID`, `playback:ID`, `recording:NAME` or `bridge:ID`: its events come
        to this step."""

    def disown(self, resource: str) -> None: ...

    def owned(self, kind: str) -> list[str]:
        """The ids of this call's live resources of a kind (`playback` …), whoever owns them."""

    def set_vars(self, values: Mapping[str, Any]) -> None: ...

    def outcome(self, event: str, **payload: Any) -> None:
        """Raise this step's outcome in the state that started it (if it is still current). An
        outcome the state does not handle is the action failing."""

    def to_flow(self, event: str, payload: Mapping[str, Any]) -> bool:
        """Give the current state an event; True when it took a transition."""

    def fail(self, reason: str, status: int = 0, action: str = "") -> None:
        """The action failed (or its request `action` did): ActionFailed, else the call is hung
        up. The state's remaining actions are dropped."""

    def release(self) -> None:
        """The state's next action may start (each step holds them until it says so)."""

    def finish(self) -> None:
        """This step is over: its timers are cancelled, the replies still to come are only
        logged, and what it owns is released. (Queued requests still go: withdraw them.)"""

    def hang_up(self) -> None:
        """Hang up the caller now."""

    def gone(self) -> None:
        """A request found the caller's channel gone: the call ends, quietly."""

    def leaving(self) -> None:
        """A request was sent after which the channel leaves the app: StasisEnd follows."""

    def hide(self, value: str) -> None:
        """`value` is a secret (a PIN): `redact` masks it wherever it would be logged."""

    def redact(self, text: str) -> str:
        """`text` with the call's secrets masked, for a log line built from its values."""

    def note(self, message: str, **fields: Any) -> None:
        """A line in the call's journal (kind `action`); `level=` as in the journal."""

    def log_event(self, event: Event, who: str = "") -> None:
        """The call's journal line for an event of something this step owns."""


class Step:
    """The hooks of a step; each does nothing unless a step says otherwise."""

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        """The step for one run of `spec`, with the action's rendered parameters."""
        return cls()

    def start(self, ctx: Context) -> None:
        """The action is reached in its state's `do` list."""
        ctx.finish()

    def on_event(self, ctx: Context, event: Event) -> bool:
        """An event of something this step owns, or of the caller's channel; True when the step
        took it (the flow does not see it then)."""
        return False

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        """The reply to a request this step sent with `tag`."""

    def on_timer(self, ctx: Context, tag: str) -> None:
        """This step's timer `tag` is due."""

    def on_exit(self, ctx: Context) -> None:
        """The state that started this step was left."""
        ctx.finish()

    def on_resume(self, ctx: Context) -> None:
        """The call was restored from its snapshot by a runner that was not connected for a
        while: the events of that while are lost, so ask Asterisk about what this step waits
        for (a playback, a recording, a callee) and act on the answer."""

    def on_end(self, ctx: Context) -> None:
        """The call is over: clean up without waiting for anything. Requests sent now go at
        once; those still queued will never go (`withdraw` says if one was)."""

    def hides(self, event: Event) -> bool:
        """True when the journal must not show what this event says (a secret key press)."""
        return False

    def data(self) -> dict[str, Any]:
        """This step's state, as JSON data."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> Step:
        return cls(**data)


class Checker(Protocol):
    """What an action's load-time check may use: the loader, which knows where things are."""

    def problem(self, where: tuple[str | int, ...], message: str) -> None:
        """A problem at a parameter (`("params", "x")`), or at the action itself (`()`)."""

    def did_you_mean(self, word: str, options: Iterable[str], *, listed: str = ...) -> str: ...

    def is_template(self, value: Any) -> bool: ...


# A load-time check; it may return values derived from the parameters, which the step receives
# with them (e.g. the ARI operation an `ari` path was checked as).
Check = Callable[[Mapping[str, Any], Checker], Mapping[str, Any] | None]


@dataclass(frozen=True)
class ActionSpec:
    """One action of the flow language: what a flow may write, and which step runs it. The flow
    schema, the loader's checks and the engine all read this one description."""

    name: str
    description: str
    step: type[Step]  # what runs it: `step.create(spec, params)`
    params: Mapping[str, Schema] = field(default_factory=dict)  # JSON Schema per parameter
    required: tuple[str, ...] = ()
    schema: Schema | None = None  # the whole parameter schema, for actions with free keys (set)
    route: tuple[str, str] | None = None  # (method, path) of its one ARI request
    not_found: str = ""  # what a 404 means when not "the channel is gone": done | empty
    nullable: bool = True  # may be written with no parameters (`{answer: null}`)
    leaves: bool = False  # after it the channel leaves the app (StasisEnd follows)
    harmless_twice: bool = False  # its request may be sent again when its answer was lost
    outcomes: Mapping[str, str] = field(default_factory=dict)  # event -> meaning; success first
    events: Mapping[str, str] = field(default_factory=dict)  # other events its step raises
    durations: Mapping[str, float] = field(default_factory=dict)  # duration param -> longest
    defines: str = ""  # "into": the `into` param names a variable it sets; "keys": its keys do
    requests: tuple[str, ...] = ()  # the requests its step makes (flow tests can fail each)
    escaped: Mapping[str, str] = field(default_factory=dict)  # param -> url | segment | name
    after_call: bool = False  # it needs no channel: it may run once the caller has gone
    check: Check | None = None  # load-time checks a schema cannot make
    hears: tuple[str, ...] = ()  # events its step reads that Asterisk sends only when asked

    @property
    def success(self) -> str:
        return next(iter(self.outcomes), "")

    @property
    def request_names(self) -> tuple[str, ...]:
        return self.requests or ((self.name,) if self.route else ())


# -- schema fragments several actions share ---------------------------------------------------

VAR_NAME: Schema = {"$ref": "#/$defs/varName"}
DURATION: Schema = {"$ref": "#/$defs/duration"}
MEDIA: Schema = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "maxItems": 32,
        },
    ]
}


def text(description: str, **more: Any) -> Schema:
    return {"type": "string", "minLength": 1, "description": description, **more}


def media_list(value: Any) -> list[str]:
    """A media parameter as a list: one item or several."""
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]
