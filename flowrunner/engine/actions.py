"""Turn a flow's actions into ARI requests, using the routes the flow schema declares."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..ari.messages import AriRequest
from ..flow.model import Action, Where
from ..flow.schema import action_routes

# After these, the channel leaves the app on its own: StasisEnd follows.
LEAVING = frozenset({"hangup", "continue"})
# Asterisk runs channel operations after the playing media: a prompt still playing would hold up
# the next state's actions. Leaving a state therefore stops its playbacks first.
STOP_PLAYBACKS = Action("stop_playback", {}, Where(0, 0, ()))


def request_for(action: Action, channel_id: str, playback_id: str = "") -> AriRequest:
    method, path = action_routes()[action.name]
    params = {name: _text(value) for name, value in action.params.items()}
    ids = {"channel": quote(channel_id, safe=""), "playback": quote(playback_id, safe="")}
    return AriRequest(method, path.format(**ids), params)


def hangup_request(channel_id: str) -> AriRequest:
    return AriRequest("DELETE", f"channels/{quote(channel_id, safe='')}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)
