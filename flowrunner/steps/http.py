"""`http`: call a web service without holding up the call, and raise HttpSucceeded, HttpFailed
or HttpTimedOut in the state that asked.

The request goes to the web client (worker threads in `serve`, canned replies in flow tests);
its reply comes back to this step. A reply after the timeout, or after the state was left, finds
the step over and is dropped. Logs name the method and the URL without its query; never the
headers or the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ports import Response, WebRequest, to_text
from .base import DURATION, VAR_NAME, ActionSpec, Context, Step


@dataclass
class HttpStep(Step):
    action: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    timeout: float = 5.0
    into: str = ""

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        headers = params.get("headers") or {}
        return cls(
            spec.name,
            method=to_text(params.get("method", "GET")),
            url=to_text(params["url"]),
            headers={key: to_text(value) for key, value in headers.items()},
            body=params.get("body"),
            timeout=float(params.get("timeout", 5.0)),
            into=to_text(params.get("into")),
        )

    @property
    def request(self) -> WebRequest:
        return WebRequest(self.method, self.url, self.headers, self.body, self.timeout)

    def start(self, ctx: Context) -> None:
        ctx.release()  # the call goes on while the service thinks
        ctx.web(self.request, "reply")
        ctx.after(self.timeout, "timeout")

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        result = str(response.status) if response.status else response.error
        message = ctx.redact(f"http {self.method} {self.request.safe_url}: {result}")
        ctx.note(message, action="http", status=response.status)
        ctx.finish()
        if response.ok:
            if self.into:
                ctx.set_vars({self.into: response.body})
            ctx.outcome("HttpSucceeded", status=response.status)
        else:
            fields = {"status": response.status, "error": response.error, "body": response.body}
            ctx.outcome("HttpFailed", **fields)

    def on_timer(self, ctx: Context, tag: str) -> None:
        ctx.note("http: no answer in time", action="http", status=0)
        ctx.finish()
        ctx.outcome("HttpTimedOut")


SPECS = (
    ActionSpec(
        "http",
        "Call a web service without holding up the call; HttpSucceeded, HttpFailed or "
        "HttpTimedOut follows, the JSON reply in `into`.",
        HttpStep,
        {
            "url": {
                "type": "string",
                "pattern": "^(https?://|\\{\\{)",
                "description": "http(s) URL; templates allowed.",
            },
            "method": {
                "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                "description": "Default GET.",
            },
            "headers": {
                "type": "object",
                "maxProperties": 30,
                "additionalProperties": {"type": "string"},
                "description": "Request headers (never logged).",
            },
            "body": {"description": "JSON body; templates allowed in its strings."},
            "timeout": {
                **DURATION,
                "description": "Give up after this long (at most 30s); default 5s.",
            },
            "into": VAR_NAME,
        },
        required=("url",),
        nullable=False,
        outcomes={
            "HttpSucceeded": "http: the service answered 2xx.",
            "HttpFailed": "http: the service answered another status, or could not be reached.",
            "HttpTimedOut": "http: no answer within the timeout.",
        },
        durations={"timeout": 30.0},
        escaped={"url": "url"},
        defines="into",
        after_call=True,
    ),
)
