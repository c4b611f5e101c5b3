"""Recorded calls (`serve --record DIR`): each call's ARI events as Asterisk sent them, and the
replies to its requests, as one JSON-lines file per call, for `flowrunner replay` to turn into
a flow test case.

What is kept: the events of the call's channels (a key press the flow hides as ***); each ARI
request's method, path, status and the parameters a replay needs (media, variable, endpoint,
timeout; the body only of a `get_variable`'s reply, whose value a replay gives back); each web
request's method and URL without credentials or query, with the status and JSON body the
service answered. Never a request's headers or body.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..ports import Request, Response, WebRequest
from .callfiles import CallFiles

BODY_KEPT = ("get_variable",)  # ARI replies whose body a replay needs
# The ARI parameters a replay needs (what is played, which variable, whom a dial calls); the
# others may carry the call's data (a set_variable's value), so they are not kept.
PARAMS_KEPT = ("media", "variable", "endpoint", "timeout")


class Recorder:
    """A `Tap`: what the engine shows of each call, queued for the call's file."""

    def __init__(self, files: CallFiles, wall: Callable[[], float] = time.time) -> None:
        self.files, self.wall = files, wall

    def started(self, call: str, app: str, version: str, path: str) -> None:
        now = self.wall()
        self.files.open(call, now)
        entry = {"kind": "start", "channel": call, "app": app, "version": version, "flow": path}
        self.files.add(call, {"t": now, **entry})

    def event(self, call: str, fields: Mapping[str, Any]) -> None:
        self.files.add(call, {"t": self.wall(), "kind": "event", "event": fields})
        if fields.get("type") == "StasisEnd" and _channel_id(fields) == call:
            self.files.finish(call)  # the call's channel has left: the rest comes at once

    def replied(
        self, call: str, request: Request | WebRequest, response: Response, seconds: float
    ) -> None:
        entry: dict[str, Any] = {"t": self.wall(), "kind": "reply", "seconds": round(seconds, 6)}
        if isinstance(request, WebRequest):
            entry["web"] = {"method": request.method, "url": request.safe_url}
            entry["body"] = response.body
        else:
            entry["ari"] = {
                "action": request.action,
                "method": request.method,
                "path": request.path,
                "params": {k: v for k, v in request.params.items() if k in PARAMS_KEPT},
            }
            if request.action in BODY_KEPT:
                entry["body"] = response.body
        entry |= {"status": response.status, "error": response.error}
        self.files.add(call, entry)

    def close(self) -> None:
        self.files.close()


def _channel_id(fields: Mapping[str, Any]) -> Any:
    channel = fields.get("channel")
    return channel.get("id") if isinstance(channel, dict) else None
