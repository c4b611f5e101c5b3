"""Which events Asterisk sends an app: ARI's event filter (`PUT /applications/{app}/eventFilter`,
Asterisk 16+) leaves out those flowrunner reads nowhere, unless a flow of the app reacts to them.

Measured on the reference flow's real calls: Asterisk sets five channel variables at hangup
(RTPAUDIOQOS…), and their ChannelVarset events were five of a call's thirteen frames and half
its bytes, each one read, parsed and offered to the call for nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from ..ports import Request, Response, Transport

log = logging.getLogger("flowrunner.ari")

# Sent for every call, used by no step: only a flow that names one in `on:` hears it.
UNREAD = ("ChannelVarset", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine")

Reacted = Callable[[str], frozenset[str]]  # app -> the events its flows react to


def filter_request(app: str, reacted: frozenset[str]) -> Request:
    """The request that has Asterisk send `app` every event but the unread ones no flow of it
    reacts to (an empty list allows all: a flow hears every event it names)."""
    unheard = [{"type": event} for event in UNREAD if event not in reacted]
    return Request(
        "PUT",
        f"applications/{quote(app, safe='')}/eventFilter",
        body={"disallowed": unheard},
        action="event_filter",
        harmless_twice=True,
    )


def set_filter(transport: Transport, app: str, reacted: frozenset[str]) -> None:
    """Send the filter without waiting: until Asterisk has it, the events are only more than
    needed. A failure is logged (an Asterisk before 16 has no filter: all events come)."""

    def done(response: Response) -> None:
        if not response.ok:
            log.warning("could not set the event filter of app %s: %s", app, response.describe())

    transport.submit(filter_request(app, reacted), done)
