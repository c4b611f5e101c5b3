"""The `http` step: call a web service without holding up the call, and raise HttpSucceeded,
HttpFailed or HttpTimedOut in the state that asked.

The request goes to the web client (a worker thread in `serve`, canned replies in flow tests);
its reply comes back as a `WebReply` message. Each request has a token in `call.webhooks` until
its outcome: a reply after the timeout, or after the state was left, finds no token and is
dropped. Logs name the method and the URL without its query; never the headers or the body.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..flow.templates import to_text
from ..web.messages import WebClient, WebDone, WebRequest, WebResponse
from .call import Call

if TYPE_CHECKING:
    from .dispatcher import Dispatcher


@dataclass(frozen=True)
class WebReply:
    call: Call
    token: int
    response: WebResponse
    started: float
    request: WebRequest
    into: str


class NoWebClient:
    """For a dispatcher given no web client: every request fails at once."""

    def submit(self, request: WebRequest, done: WebDone) -> None:
        done(WebResponse(0, error="no web client"))


class HttpStep:
    def __init__(self, engine: Dispatcher, web: WebClient | None = None) -> None:
        self.engine = engine
        self.web: WebClient = web or NoWebClient()
        self._tokens = itertools.count(1)

    def start(self, call: Call, params: Mapping[str, Any]) -> None:
        request = WebRequest(
            method=str(params.get("method", "GET")),
            url=to_text(params["url"]),
            headers={key: to_text(value) for key, value in (params.get("headers") or {}).items()},
            body=params.get("body"),
            timeout=float(params.get("timeout", 5.0)),
        )
        token, into = next(self._tokens), str(params.get("into", ""))
        started = self.engine.clock.now()
        call.webhooks.add(token)
        self.engine.schedule(call, request.timeout, "http", token=token)
        post = self.engine.post
        self.web.submit(
            request, lambda response: post(WebReply(call, token, response, started, request, into))
        )

    def reply(self, reply: WebReply) -> None:
        call, response = reply.call, reply.response
        if self.engine.calls.get(call.channel_id) is not call or reply.token not in call.webhooks:
            return  # the call ended, the state was left, or it timed out already
        call.webhooks.discard(reply.token)
        took_ms = round((self.engine.clock.now() - reply.started) * 1000, 1)
        result = str(response.status) if response.status else response.error
        message = f"http {reply.request.method} {reply.request.safe_url}: {result}"
        self.engine.note(call, message, action="http", status=response.status, took_ms=took_ms)
        if response.ok:
            if reply.into:
                call.vars[reply.into] = response.body
            self.engine.outcome(call, "HttpSucceeded", "http", status=response.status)
        else:
            fields = {"status": response.status, "error": response.error, "body": response.body}
            self.engine.outcome(call, "HttpFailed", "http", **fields)

    def timeout(self, call: Call, token: int) -> None:
        if token in call.webhooks:
            call.webhooks.discard(token)
            self.engine.note(call, "http: no answer in time", action="http", status=0)
            self.engine.outcome(call, "HttpTimedOut", "http")
