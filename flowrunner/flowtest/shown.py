"""What each request of a simulated call shows of itself, as a flow test expects it and
`simulate` prints it: `2s play: {media: sound:hello-world}`.

An ARI request shows its query parameters as ARI names them (which are the flow's: `media`,
`endpoint`, `reason`, `name` …) and its JSON body, not the ids and routing the engine adds; a
`say`'s play shows the text spoken, not the media it was rendered to; the escape hatch shows
its method, path, parameters and body. A web request shows its body and the names of its
headers: never their values (an Authorization header is a secret).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..ports import Request, SpeechRequest, WebRequest
from ..sim.run import SimResult
from ..sim.web import SentWebRequest
from .yamltext import yaml_text

# What the engine adds to the requests it makes for a step: ids, its app, whom it dials for.
ENGINE_MADE = {
    "dial_create": frozenset({"app", "appArgs", "channelId", "originator"}),
    "dial_start": frozenset({"caller"}),
    "bridge_create": frozenset({"bridgeId"}),
}


@dataclass(frozen=True)
class Shown:
    """One request as a line of a flow test: `TIME NAME` and its parameters."""

    at: float
    name: str  # the ARI action (`answer`, `dial_create`, `ari`), or `METHOD URL` of a web one
    params: Mapping[str, Any]
    channel: str = ""  # whose: caller, a callee's endpoint, bridge ('' for a web request)
    seq: int = 0  # its place among the call's happenings

    def line(self, keys: Iterable[str] | None = None, timed: bool = True) -> str:
        """`2s play: {media: x}`: with only the parameters in `keys` (all when None)."""
        params = self.params if keys is None else {k: self.params[k] for k in keys}
        head = f"{self.at:g}s {self.name}" if timed else self.name
        return f"{head}: {yaml_text(dict(params))}" if params else head


def shown_requests(result: SimResult) -> list[Shown]:
    """Every ARI request of the call, in the order sent."""
    names = _Channels(result.channel)
    return [
        Shown(
            sent.at,
            sent.action,
            ari_params(sent.request, result.spoken),
            names.of(sent.request),
            sent.seq,
        )
        for sent in result.sent
    ]


def shown_web(result: SimResult) -> list[Shown]:
    """Every web request of the call, in the order sent."""
    return [
        Shown(web.at, f"{web.request.method} {web.request.url}", web_params(web), "", web.seq)
        for web in result.web
    ]


def ari_params(request: Request, spoken: Mapping[str, SpeechRequest]) -> dict[str, Any]:
    if request.action == "ari":
        extra = {"params": dict(request.params)} if request.params else {}
        body = {"body": request.body} if request.body is not None else {}
        return {"method": request.method, "path": request.path, **extra, **body}
    made = ENGINE_MADE.get(request.action, frozenset())
    params: dict[str, Any] = {k: v for k, v in request.params.items() if k not in made}
    speech = spoken.get(params.get("media", ""))
    if "," in params.get("media", ""):  # several, as the flow lists them
        params["media"] = params["media"].split(",")
    if speech is not None:  # a say's: what it says, not the hash its media is named by
        del params["media"]
        params = _said(speech) | params
    return params | ({"body": request.body} if request.body is not None else {})


def _said(speech: SpeechRequest) -> dict[str, Any]:
    said = {"text": speech.text, "voice": speech.voice, "lang": speech.lang}
    return {key: value for key, value in said.items() if value}


def web_params(web: SentWebRequest | WebRequest) -> dict[str, Any]:
    request = web.request if isinstance(web, SentWebRequest) else web
    body = {"body": request.body} if request.body is not None else {}
    headers = {"headers": list(request.headers)} if request.headers else {}
    return body | headers


class _Channels:
    """Names the channel a request is about: the caller, a callee by the endpoint it was
    dialled as, or a bridge."""

    def __init__(self, caller: str) -> None:
        self.caller = caller
        self.endpoints: dict[str, str] = {}  # a callee's channel id -> its endpoint
        self.playbacks: dict[str, str] = {}  # a playback id -> its channel's id

    def of(self, request: Request) -> str:
        parts = request.path.split("/")
        if parts[:2] == ["channels", "create"]:
            channel = request.params.get("channelId", "")
            self.endpoints[channel] = request.params.get("endpoint", channel)
            return self.named(channel)
        if parts[0] == "channels" and len(parts) > 1:
            if len(parts) == 4 and parts[2] == "play":
                self.playbacks[parts[3]] = parts[1]
            return self.named(parts[1])
        if parts[0] == "playbacks" and len(parts) > 1:
            return self.named(self.playbacks.get(parts[1], self.caller))
        return {"recordings": "caller", "bridges": "bridge"}.get(parts[0], "")

    def named(self, channel: str) -> str:
        return "caller" if channel == self.caller else self.endpoints.get(channel, channel)
