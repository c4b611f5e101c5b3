"""The engine's own vocabulary: what crosses its edges, and the protocols of what it is given.

Pure data and Protocols. The adapters implement them: `ari/` (a Transport to Asterisk), `web/`
(a WebClient), `speech/` (a Speech), `sim/` (a simulated Asterisk, web services, speech and
clock); the engine imports none of them. Every request names the action and the step that
made it, so a fake (or the simulator) sees exactly what the engine meant, not a guess from its
path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

Params = Mapping[str, str]


@dataclass(frozen=True)
class Request:
    """One ARI REST request."""

    method: str
    path: str  # relative to /ari/, e.g. "channels/1234.5/answer"
    params: Params = field(default_factory=dict)
    body: Any = None  # a JSON body, for the few operations that take one
    action: str = ""  # what it does, e.g. "answer", "play", "dial_start" ("ari": the escape hatch)
    step: str = ""  # the flow action that made it, e.g. "collect" for its prompt's "play"
    harmless_twice: bool = False  # sending it again does nothing more (answer, hold, …)

    @property
    def repeatable(self) -> bool:
        """Safe to send again when its answer was lost: a GET, a DELETE, or said so."""
        return self.harmless_twice or self.method in ("GET", "DELETE")

    @property
    def uri(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


@dataclass(frozen=True)
class Response:
    """The answer to a request (ARI or web): a status, its JSON body, or why there was none."""

    status: int  # HTTP status; 0 when the request never got an answer
    body: Any = None
    error: str = ""  # why there was no answer, or the server's error message (never a secret)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The channel (or other resource) no longer exists: normal after a hangup."""
        return self.status == 404

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer ({self.error})"
        return f"{self.status} {self.error}".rstrip()


Done = Callable[[Response], None]


class Transport(Protocol):
    """Sends ARI REST requests without blocking; `done` is called later, from any thread."""

    @property
    def name(self) -> str: ...

    def submit(self, request: Request, done: Done) -> None: ...


@dataclass(frozen=True)
class WebRequest:
    """One request to a web service (the `http` action)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # may hold secrets: never logged
    body: Any = None  # sent as JSON when not None
    timeout: float = 5.0  # seconds for the whole exchange

    @property
    def safe_url(self) -> str:
        """The URL for logs: no credentials, no query string (it may carry an API key)."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


class WebClient(Protocol):
    """Sends a web request without blocking; `done` is called later, from any thread."""

    def submit(self, request: WebRequest, done: Done) -> None: ...


MAX_SPEECH_TEXT = 2000  # characters a `say` may speak, once rendered
VOICE_NAME = "^[A-Za-z0-9][A-Za-z0-9_+.-]*$"  # a voice or language: a name, never an option


@dataclass(frozen=True)
class SpeechRequest:
    """Text to speak (the `say` action), in a voice and a language (empty: the engine's own)."""

    text: str
    voice: str = ""
    lang: str = ""


class Speech(Protocol):
    """Renders speech without blocking; `done` is called later, from any thread, with the media
    Asterisk plays: body `{"media": "sound:http://…/HASH.wav", "seconds": 1.8}`; or a failure."""

    def submit(self, request: SpeechRequest, done: Done) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic clock: what timers run on."""

    def wall(self) -> float:
        """Seconds since the epoch: what a saved call's deadlines are written in."""


class Journal(Protocol):
    """What the engine reports as calls progress; `serve` logs it, the simulator keeps it."""

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        """`channel` is the call's channel name, for people; a call's records also have its
        channel id in `fields["id"]`, which tells calls apart (names repeat across servers).
        `kind` is one of: start, event, transition, action, end, error; and, at level debug,
        for traces: step (an action started, with its parameters) and vars (variables set,
        with their values, secrets masked)."""

    def wants(self, kind: str, level: str) -> bool:
        """Whether records of this kind and level (`fields["level"]`, info by default) are
        read at all; the answer must not change. The engine builds no record nobody reads:
        at `--log-level warning`, an event's line and fields cost more than handling it."""


class Tap(Protocol):
    """What a recorder is shown of each call (`serve --record`): its start, the ARI events of
    its channels as they came (a secret key press as ***), and each reply to its ARI and web
    requests, with the request and the seconds it took. `replied` is called from any thread
    (the one the reply came on)."""

    def started(self, call: str, app: str, version: str, path: str) -> None: ...

    def event(self, call: str, fields: Mapping[str, Any]) -> None: ...

    def replied(
        self, call: str, request: Request | WebRequest, response: Response, seconds: float
    ) -> None: ...


class Store(Protocol):
    """Where calls are kept so that they outlive the runner: each call's snapshot (JSON) under
    its channel id, and the text of each flow version a kept call runs. Used from one thread
    (the writer's, or at start-up); SQLite keeps it in a file, Redis shares it."""

    def write(self, calls: Mapping[str, str | None], flows: Mapping[str, str]) -> None:
        """One batch: each call's latest snapshot (None: the call is over), new flow texts."""

    def calls(self) -> dict[str, str]:
        """Every call kept: channel id -> snapshot."""

    def flow(self, version: str) -> str | None:
        """The text of a flow version, if kept."""

    def close(self) -> None: ...


class Keeper(Protocol):
    """What the engine is given to keep its calls: it never waits (the writing is elsewhere)."""

    def keep(self, channel: str, snapshot: str, version: str, flow_text: str) -> None: ...

    def forget(self, channel: str) -> None: ...


# The Stasis argument of every channel the engine creates for a step (a dial's callee): such a
# channel entering the app is never a new call.
STEP_CHANNEL = "flowrunner-dial"


@dataclass(frozen=True)
class Event:
    """An ARI event as the engine sees it: its type, the channel it concerns (its `channel`, a
    Dial's `peer`, or a playback's or recording's target), the media and the bridge it
    concerns, and all its fields (what `event.*` reads in guards)."""

    type: str
    channel: str = ""
    media: str = ""  # "playback:ID" or "recording:NAME", for media events
    app: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    bridge: str = ""  # the bridge's id, for bridge events (ChannelEnteredBridge …)

    @classmethod
    def from_ari(cls, data: Any) -> Event | None:
        """The event in a decoded ARI frame; None when it is not a well-formed event."""
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return None
        app = data.get("application")
        channel, media = _concerns(data)
        bridge = data.get("bridge")
        bridge_id = bridge.get("id") if isinstance(bridge, dict) else None
        app = app if isinstance(app, str) else ""
        return cls(data["type"], channel, media, app, data, to_text(bridge_id))

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def section(self, key: str) -> Mapping[str, Any]:
        """A nested object of the event (`channel`, `playback` …), empty when absent."""
        value = self.fields.get(key)
        return value if isinstance(value, dict) else {}


def _concerns(data: Mapping[str, Any]) -> tuple[str, str]:
    """The channel an event concerns, and the playback or recording (if any)."""
    channel, media = "", ""
    for kind, key in (("playback", "id"), ("recording", "name")):
        item = data.get(kind)
        if isinstance(item, dict) and isinstance(item.get(key), str):
            media = f"{kind}:{item[key]}"
            target = item.get("target_uri")
            if isinstance(target, str) and target.startswith("channel:"):
                channel = target.removeprefix("channel:")
    for key in ("channel", "peer"):
        item = data.get(key)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"], media
    return channel, media


_AS_JSON = (list, tuple, Mapping)  # a tuple: a union written in the call is built at each call


def to_text(value: Any) -> str:
    """How a value reads inside text (and travels in a query): null is empty, booleans are
    true/false, 3.0 is 3, lists and mappings are compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    try:
        if isinstance(value, _AS_JSON):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json)
        return str(value)
    except Exception:  # odd keys, cycles, huge ints, a raising __str__: text must not fail
        return object.__repr__(value)


def words(event: str) -> str:
    """How an event's name reads in a log line: `DigitsCollected` -> `digits collected`."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in event).strip()


def _json(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else to_text(value)
