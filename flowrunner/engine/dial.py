"""The `dial` step: a second channel (the callee) created in the app, dialled, and bridged with
the caller once it answers; and its clean-up when either side goes.

The engine names the callee's channel and the bridge itself (`channelId`, `bridgeId`), so every
event about them can be matched to the call before Asterisk says anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..flow.model import Action
from .actions import NOWHERE

# Seen on Asterisk 22: a final Dial event says BUSY, CONGESTION or CHANUNAVAIL, and the callee
# then stays in the app until we hang it up; a dial timeout sends no Dial event at all, only the
# callee's hangup with cause 19. So the outcome comes from either, whichever says it first.
OUTCOME_OF_STATUS = {"BUSY": "DialBusy", "NOANSWER": "DialNoAnswer", "CANCEL": "DialNoAnswer"}
OUTCOME_OF_CAUSE = {17: "DialBusy", 18: "DialNoAnswer", 19: "DialNoAnswer"}
PEER_ARG = "flowrunner-dial"  # the Stasis argument that marks a callee channel
GRACE = 5.0  # seconds past the dial timeout before we give up on Asterisk and hang up


@dataclass
class DialLeg:
    caller_id: str
    peer_id: str
    bridge_id: str
    generation: int  # of the caller's state that dialled: its outcome goes there only
    answered: bool = False
    bridged: bool = False  # the bridge exists (or is being made): it must be destroyed
    timeout: float = 30.0
    settled: bool = False  # the outcome (answered, busy, …) is known
    ended: bool = False  # the callee channel is gone, or was hung up by us
    gone: bool = False  # Asterisk said so (its StasisEnd)
    hangup_sent: bool = False  # not just queued: a call that ends drops its queue
    cause: int = 0  # of the callee's hangup request

    def create(self, app: str, params: dict[str, Any]) -> Action:
        """The callee's channel, in our app; it is dialled once it has entered (`dial`):
        dialling at once is refused now and then (409, not yet in Stasis)."""
        create = {
            "endpoint": params["endpoint"],
            "app": app,
            "appArgs": f"{PEER_ARG},{self.caller_id}",
            "channelId": self.peer_id,
            "originator": self.caller_id,
        }
        if params.get("caller_id"):
            create["callerId"] = params["caller_id"]
        return Action("dial_create", create, NOWHERE)

    def dial(self) -> Action:
        timeout = max(1, round(self.timeout))
        return Action("dial_start", {"timeout": timeout, "caller": self.caller_id}, NOWHERE)

    def bridge(self) -> list[Action]:
        self.bridged = True
        return [
            Action("bridge_create", {"type": "mixing", "bridgeId": self.bridge_id}, NOWHERE),
            Action("bridge_add", {"channel": f"{self.caller_id},{self.peer_id}"}, NOWHERE),
        ]

    def cancel(self) -> list[Action]:
        """Hang up a callee that has not answered (the caller gave up, or the state was left)."""
        if self.ended:
            return []
        self.ended = True
        return [Action("peer_hangup", {}, NOWHERE)]

    def tear_down(self) -> list[Action]:
        """Destroy the bridge if there is one, and hang up the callee if it is still there."""
        destroy = [Action("bridge_destroy", {}, NOWHERE)] if self.bridged else []
        self.bridged = False
        return destroy + self.cancel()

    def release(self) -> list[Action]:
        """The caller is gone: the bridge and the callee go too, even if a hang-up was queued
        already (a call that ends drops its queue)."""
        destroy = [Action("bridge_destroy", {}, NOWHERE)] if self.bridged else []
        self.bridged, self.ended = False, True
        done = self.gone or self.hangup_sent
        return destroy + ([] if done else [Action("peer_hangup", {}, NOWHERE)])


def outcome_of(dial_event: dict[str, Any]) -> str:
    """The outcome a final Dial event means: '' while it is still ringing, or answered."""
    status = str(dial_event.get("dialstatus", ""))
    if status in ("", "RINGING", "PROGRESS", "PROCEEDING", "ANSWER"):
        return ""
    return OUTCOME_OF_STATUS.get(status, "DialFailed")


def outcome_of_cause(cause: int) -> str:
    """The outcome of a callee that hung up before any final Dial event."""
    return OUTCOME_OF_CAUSE.get(cause, "DialFailed")
