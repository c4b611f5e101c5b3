"""Turn a flow's actions into ARI requests, using the routes the flow schema declares.

Parameters are rendered with the call's variables first (`{{ caller.number }}`). A few requests
are the engine's own, not a flow's: the steps of a `dial` (create the callee's channel, dial it,
bridge it) and the clean-up when a state is left; they have their routes here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import quote

from ..ari.messages import AriRequest
from ..flow.ari_operations import find_operation
from ..flow.model import Action, Where
from ..flow.schema import action_routes
from ..flow.templates import Template, to_text

# After these, the channel leaves the app on its own: StasisEnd follows.
LEAVING = frozenset({"hangup", "continue", "redirect", "move"})
# Run by the engine itself, without an ARI request of their own.
LOCAL = frozenset({"set", "collect", "dial", "http"})

NOWHERE = Where(0, 0, ())
# Asterisk runs channel operations after the playing media (and a live recording): a prompt
# still playing would hold up the next state's actions. Leaving a state therefore stops them.
STOP_PLAYBACKS = Action("stop_playback", {}, NOWHERE)
STOP_RECORDINGS = Action("stop_recording", {}, NOWHERE)
# The engine's clean-up of a dial: it outlives the state that queued it.
TEARDOWN = frozenset({"bridge_destroy", "peer_hangup"})

ENGINE_ROUTES = {
    "dial_create": ("POST", "channels/create"),
    "dial_start": ("POST", "channels/{peer}/dial"),
    "bridge_create": ("POST", "bridges"),
    "bridge_add": ("POST", "bridges/{bridge}/addChannel"),
    "bridge_destroy": ("DELETE", "bridges/{bridge}"),
    "peer_hangup": ("DELETE", "channels/{peer}"),
}


class BadRequest(ValueError):
    """An `ari` action whose rendered path no longer names the operation it was checked as."""


@cache
def routes() -> dict[str, tuple[str, str]]:
    """Every route by action name: the flow's (from the schema) and the engine's own."""
    return {**action_routes(), **ENGINE_ROUTES}


def render(value: Any, scope: Mapping[str, Any]) -> Any:
    """A parameter value with its templates filled in from `scope`."""
    if isinstance(value, Template):
        return value.render(scope)
    if isinstance(value, dict):
        return {key: render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope) for item in value]
    return value


def request_for(action: Action, ids: Mapping[str, str], params: Mapping[str, Any]) -> AriRequest:
    """The request for `action`, with rendered `params`; `ids` fills the route's {channel},
    {playback}, {recording}, {peer} and {bridge}."""
    if action.name == "ari":
        return _escape_hatch(ids["channel"], params)
    method, path = routes()[action.name]
    quoted = {name: quote(value, safe="") for name, value in ids.items()}
    query = {name: _text(value) for name, value in params.items() if name != "into"}
    return AriRequest(method, path.format(**quoted), query)


def _escape_hatch(channel_id: str, params: Mapping[str, Any]) -> AriRequest:
    method, path = str(params["method"]), str(params["path"]).lstrip("/")
    path = path.replace("{channelId}", quote(channel_id, safe=""))
    if find_operation(method, path) is None:
        raise BadRequest(f"{method} {path} is not an ARI operation once rendered")
    query = {name: _text(value) for name, value in (params.get("params") or {}).items()}
    return AriRequest(method, path, query, params.get("body"))


def hangup_request(channel_id: str) -> AriRequest:
    return AriRequest("DELETE", f"channels/{quote(channel_id, safe='')}")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return to_text(value)
