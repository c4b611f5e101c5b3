"""The callees of a `dial`: one `Leg` per endpoint, the ARI requests about its channel, and the
outcome a dial ends with when no callee answered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..ports import STEP_CHANNEL, Request

MAX_CALLEES = 10
# When no callee answered, the dial's outcome is the best news among theirs: one rang in vain
# (or did not accept), else one was busy, else none could be reached.
RANK = ("DialNoAnswer", "DialBusy", "DialFailed")


@dataclass
class Leg:
    """One callee. Its channel (`channel`): none (not called yet) -> alive -> hanging up (our
    request is queued or sent), or gone (Asterisk said so) at any time. How far it got (`fate`):
    waiting (in order, not called yet) -> ringing -> accepting (answered, asked to press the key)
    -> won (it is the one bridged); or lost, with its `outcome` (none when another won)."""

    endpoint: str
    id: str = ""
    channel: str = "none"
    fate: str = "waiting"
    outcome: str = ""
    detail: dict[str, Any] = field(default_factory=dict)  # what said so: dialstatus, cause …
    cause: int = 0  # of its ChannelDestroyed: why it went
    handled: bool = False  # its going was dealt with (it is said more than once)
    prompt: str = ""  # the accept prompt's playback, while it may be playing

    @property
    def pending(self) -> bool:
        """Its answer may still come."""
        return self.fate in ("waiting", "ringing", "accepting")

    @property
    def there(self) -> bool:
        """Its channel exists, or is being made, and nobody asked it to go yet."""
        return self.channel == "alive"

    def create_request(self, app: str, caller: str, caller_id: str) -> Request:
        """Its channel, in the app, named by us (its events come to the dial that made it)."""
        create = {
            "endpoint": self.endpoint,
            "app": app,
            "appArgs": f"{STEP_CHANNEL},{caller}",
            "channelId": self.id,
            "originator": caller,
        } | ({"callerId": caller_id} if caller_id else {})
        return Request("POST", "channels/create", create, action="dial_create")

    def dial_request(self, timeout: float, caller: str) -> Request:
        dial = {"timeout": str(max(1, round(timeout))), "caller": caller}
        return Request("POST", f"channels/{q(self.id)}/dial", dial, action="dial_start")

    def hangup_request(self) -> Request:
        return Request("DELETE", f"channels/{q(self.id)}", action="peer_hangup")

    def prompt_request(self, media: list[str]) -> Request:
        path = f"channels/{q(self.id)}/play/{q(self.prompt)}"
        return Request("POST", path, {"media": ",".join(media)}, action="dial_prompt")

    def stop_prompt_request(self) -> Request:
        return Request("DELETE", f"playbacks/{q(self.prompt)}", action="stop_playback")


def no_answer(legs: list[Leg]) -> tuple[str, dict[str, Any]]:
    """The outcome of a dial nobody answered, and its payload: the best-ranked callee's."""
    lost = [(RANK.index(leg.outcome), n) for n, leg in enumerate(legs) if leg.outcome in RANK]
    _, n = min(lost, default=(len(RANK) - 1, 0))
    leg = legs[n]
    return leg.outcome or "DialFailed", {**leg.detail, "endpoint": leg.endpoint, "index": n}


def restore_legs(data: Mapping[str, Any]) -> dict[str, Any]:
    """A dial step's snapshot data with its callees as `Leg`s; a snapshot made before dials had
    several callees (one `peer`, its `callee` state) becomes one leg."""
    data = dict(data)
    if "peer" in data:
        phase = data.get("phase", "calling")
        fate = {"calling": "ringing", "over": "lost"}.get(phase, "won")
        leg = Leg(
            data.pop("endpoint"),
            data.pop("peer"),
            data.pop("callee"),
            fate,
            cause=data.pop("cause", 0),
            handled=data.pop("callee_handled", False),
        )
        return data | {"legs": [leg], "winner": 0 if fate == "won" else -1}
    return data | {"legs": [Leg(**leg) for leg in data["legs"]]}


def number(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def q(identifier: str) -> str:
    return quote(identifier, safe="")
