"""`ari`: any ARI operation flowrunner has no action for (the escape hatch).

Checked at load against the ARI operations of a real Asterisk (`ari_operations.json`): a typo
is a load error with a "did you mean", not a 404 in the middle of a call. Its 404 is about
whatever it names, so it is a failure like any other, not "the channel is gone".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..ports import Request, Response, to_text
from .ari_operations import find_operation, no_such_operation
from .base import VAR_NAME, ActionSpec, Checker, Context, Step

_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z]+)\}(?!\})")  # {bridgeId}, not {{ x }}


@dataclass
class AriStep(Step):
    action: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    into: str = ""
    operation: str = ""  # the operation the path was checked as at load, e.g. channels/{channelId}

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        query = {key: to_text(value) for key, value in (params.get("params") or {}).items()}
        path = to_text(params["path"]).lstrip("/")
        body, into = params.get("body"), to_text(params.get("into"))
        operation = to_text(params.get("operation"))
        return cls(spec.name, to_text(params["method"]), path, query, body, into, operation)

    def start(self, ctx: Context) -> None:
        """Each value in the path is one escaped segment (the loader renders it so); the path
        must still name the operation it was checked as."""
        path = self.path.replace("{channelId}", quote(ctx.channel, safe=""))
        found = find_operation(self.method, path)
        if found is None or (self.operation and found.path != self.operation):
            ctx.finish()
            ctx.fail(f"{self.method} {path} is not an ARI operation once rendered")
            return
        request = Request(self.method, path, self.params, self.body, action="ari")
        ctx.send(request, "reply")

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if not response.ok:
            ctx.finish()
            ctx.fail(response.describe(), response.status)
            return
        ctx.note("ari ok", action="ari", status=response.status)
        if self.into:
            ctx.set_vars({self.into: response.body})
        ctx.finish()


def check(params: Mapping[str, Any], checker: Checker) -> Mapping[str, Any] | None:
    """The escape hatch must name a real ARI operation, with parameters it takes; the step
    gets the operation, to check the path still names it once rendered."""
    method, path = str(params["method"]), str(params["path"])
    for placeholder in _PLACEHOLDER.findall(path):
        if placeholder != "channelId":
            message = f"write the {placeholder} in: a value or a template ({{{{ name }}}})"
            checker.problem(("path",), message)
    operation = find_operation(method, path)
    if operation is None:
        checker.problem(("path",), no_such_operation(method, path))
        return None
    query = params.get("params") or {}
    for key in query:
        if key not in operation.query:
            hint = checker.did_you_mean(key, sorted(operation.query), listed="known")
            checker.problem(("params", key), f"{method} {path} has no '{key}'{hint}")
    missing = sorted(operation.required - set(query))
    if missing:
        checker.problem(("params",), f"{method} {path} needs {', '.join(missing)}")
    if "body" in params and not operation.body:
        checker.problem(("body",), f"{method} {path} takes no body")
    return {"operation": operation.path}


SPECS = (
    ActionSpec(
        "ari",
        "Any other ARI operation (the escape hatch); the JSON reply may land in a variable.",
        AriStep,
        {
            "method": {"enum": ["GET", "POST", "PUT", "DELETE"]},
            "path": {
                "type": "string",
                "minLength": 1,
                "description": "ARI path, e.g. channels/{channelId}/variable; {channelId} is "
                "this call's channel. Checked against ARI's operations.",
            },
            "params": {
                "type": "object",
                "maxProperties": 50,
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": "Query parameters.",
            },
            "body": {"description": "JSON body, for the operations that take one."},
            "into": VAR_NAME,
        },
        required=("method", "path"),
        nullable=False,
        defines="into",
        requests=("ari",),
        escaped={"path": "segment"},
        check=check,
    ),
)
