"""The actions that are one ARI request on the caller's channel: answer, ring, hangup, music on
hold, mute, DTMF, channel variables, and the ways out of the app (continue, redirect, move).

One step runs them all, driven by each action's route: it sends the request, and the state's
next action waits for the reply. A 404 means the channel is gone (the call ends quietly) unless
the action says otherwise: `get_variable` reads a missing variable as null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..ports import Request, Response, to_text
from .base import VAR_NAME, ActionSpec, Checker, Context, Schema, Step


@dataclass
class RequestStep(Step):
    """Send one request; the reply decides: done, the channel gone, or the action failed."""

    action: str
    method: str
    path: str  # with `{channel}` for the caller's channel
    params: dict[str, str] = field(default_factory=dict)
    not_found: str = ""  # "empty": a 404 reads as no value; "done": nothing was left to do
    leaves: bool = False
    into: str = ""  # the flow variable the reply goes into
    harmless_twice: bool = False

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        assert spec.route is not None
        method, path = spec.route
        query = {key: to_text(value) for key, value in params.items() if key != "into"}
        into = to_text(params.get("into"))
        again = spec.harmless_twice
        return cls(spec.name, method, path, query, spec.not_found, spec.leaves, into, again)

    def start(self, ctx: Context) -> None:
        path = self.path.format(channel=quote(ctx.channel, safe=""))
        request = Request(
            self.method,
            path,
            self.params,
            action=self.action,
            step=self.action,  # its own step: ctx.send makes no copy of the request to say so
            harmless_twice=self.harmless_twice,
        )
        ctx.send(request, "reply")
        if self.leaves:
            ctx.leaving()

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if response.ok or (response.gone and self.not_found):
            ctx.note(f"{self.action} ok", action=self.action, status=response.status)
            if self.into:
                ctx.set_vars({self.into: self.value(response)})
            ctx.finish()
        elif response.gone:
            ctx.gone()
        else:
            ctx.fail(response.describe(), response.status)

    def value(self, response: Response) -> Any:
        """What `into` keeps: the variable's value (null when it has none)."""
        body = response.body
        return body.get("value") if response.ok and isinstance(body, dict) else None


def _variable_written_in(params: Mapping[str, Any], checker: Checker) -> None:
    """A channel variable's name is never a template: a name made from a caller's data could
    be a function such as SHELL(…) or FILE(…), which Asterisk runs when it is read."""
    if checker.is_template(params.get("variable")):
        message = "a channel variable's name cannot be a template; write the name in"
        checker.problem(("variable",), message)


# Sending these twice does nothing more than once: after a restart, one whose answer was lost
# is sent again rather than counted as failed.
HARMLESS_TWICE = frozenset(
    {"answer", "ring", "start_silence", "start_moh", "hold", "mute", "set_variable"}
)


def _request(
    name: str,
    description: str,
    method: str,
    path: str,
    params: Mapping[str, Schema] | None = None,
    **more: Any,
) -> ActionSpec:
    route = (method, f"channels/{{channel}}{path}")
    again = name in HARMLESS_TWICE
    return ActionSpec(
        name, description, RequestStep, params or {}, route=route, harmless_twice=again, **more
    )


DIRECTION: Schema = {"enum": ["both", "in", "out"]}
REASONS = [
    "normal",
    "busy",
    "congestion",
    "no_answer",
    "timeout",
    "rejected",
    "unallocated",
    "normal_unspecified",
    "number_incomplete",
    "codec_mismatch",
    "interworking",
    "failure",
    "answered_elsewhere",
]

SPECS = (
    _request("answer", "Answer the call.", "POST", "/answer"),
    _request("ring", "Send ringing to the caller.", "POST", "/ring"),
    _request("ring_stop", "Stop ringing.", "DELETE", "/ring"),
    _request("start_silence", "Play silence to the caller until stopped.", "POST", "/silence"),
    _request("stop_silence", "Stop playing silence.", "DELETE", "/silence"),
    _request(
        "hangup",
        "Hang up the call.",
        "DELETE",
        "",
        {
            "reason": {
                "enum": REASONS,
                "description": "Hangup cause sent to the caller; default normal.",
            }
        },
        leaves=True,
    ),
    _request(
        "start_moh",
        "Start music on hold.",
        "POST",
        "/moh",
        {"mohClass": {"type": "string", "minLength": 1, "description": "Music on hold class."}},
    ),
    _request("stop_moh", "Stop music on hold.", "DELETE", "/moh"),
    _request("hold", "Put the call on hold.", "POST", "/hold"),
    _request("unhold", "Take the call off hold.", "DELETE", "/hold"),
    _request("mute", "Mute the call.", "POST", "/mute", {"direction": DIRECTION}),
    _request("unmute", "Unmute the call.", "DELETE", "/mute", {"direction": DIRECTION}),
    _request(
        "send_dtmf",
        "Send DTMF digits to the caller.",
        "POST",
        "/dtmf",
        {"dtmf": {"type": "string", "pattern": "^[0-9A-D*#]+$"}},
        required=("dtmf",),
    ),
    _request(
        "set_variable",
        "Set a channel variable.",
        "POST",
        "/variable",
        {"variable": {"type": "string", "minLength": 1}, "value": {"type": "string"}},
        required=("variable",),
        check=_variable_written_in,
    ),
    _request(
        "get_variable",
        "Read a channel variable into a flow variable "
        "(null when the channel has no such variable).",
        "GET",
        "/variable",
        {
            "variable": {
                "type": "string",
                "minLength": 1,
                "description": "Channel variable or function, "
                "e.g. CALLERID(num) or SIP_HEADER(X-Account).",
            },
            "into": VAR_NAME,
        },
        required=("variable", "into"),
        nullable=False,
        not_found="empty",
        defines="into",
        check=_variable_written_in,
    ),
    _request(
        "continue",
        "Leave the flow and continue in the dialplan.",
        "POST",
        "/continue",
        {
            "context": {"type": "string", "minLength": 1},
            "extension": {"type": "string", "minLength": 1},
            "priority": {"type": "integer", "minimum": 1},
            "label": {"type": "string", "minLength": 1},
        },
        leaves=True,
    ),
    _request(
        "redirect",
        "Redirect the channel to another endpoint; it leaves the flow.",
        "POST",
        "/redirect",
        {
            "endpoint": {
                "type": "string",
                "minLength": 1,
                "description": "Where to send the channel, e.g. PJSIP/alice (for SIP a 302).",
            }
        },
        required=("endpoint",),
        nullable=False,
        leaves=True,
    ),
    _request(
        "move",
        "Move the channel to another Stasis application; it leaves this flow.",
        "POST",
        "/move",
        {
            "app": {
                "type": "string",
                "minLength": 1,
                "description": "The Stasis application to move to.",
            },
            "appArgs": {"type": "string", "description": "Arguments for that application."},
        },
        required=("app",),
        nullable=False,
        leaves=True,
    ),
)
