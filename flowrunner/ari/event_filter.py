"""Which events Asterisk sends an app: ARI's event filter (`PUT /applications/{app}/eventFilter`,
Asterisk 16+) leaves out those flowrunner reads nowhere, unless a flow of the app reacts to them,
a step of its flows reads them, or they are shown (an info log line, a trace, a recording).

Measured on the reference flow's real calls: Asterisk sets five channel variables at hangup
(RTPAUDIOQOS…), and their ChannelVarset events were five of a call's thirteen frames and half
its bytes, each one read, parsed and offered to the call for nothing. Of the eight left, the
ChannelStateChange of the answer was a wake-up of the runner of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from ..engine.machine import CompiledFlow
from ..ports import Request, Response, Transport
from ..steps import ACTIONS

log = logging.getLogger("flowrunner.ari")

# Sent for every call, used by no step: only a flow that names one in `on:` hears it.
UNREAD = ("ChannelVarset", "ChannelDialplan", "ChannelCallerId", "ChannelConnectedLine")
# Sent for every call, read by the steps that say so (`ActionSpec.hears`), else only shown.
SHOWN = ("ChannelStateChange", "ChannelHangupRequest")

Reacted = Callable[[str], frozenset[str]]  # app -> the events read there (`heard_by`)


def heard_by(compiled: CompiledFlow, shown: bool) -> frozenset[str]:
    """The events a flow's calls read: those it reacts to, those its steps read, and all of
    SHOWN when events are shown."""
    flow = compiled.flow
    actions = [*flow.after_call, *(a for state in flow.states.values() for a in state.actions)]
    read = {event for action in actions for event in ACTIONS[action.name].hears}
    return compiled.events.union(read, SHOWN if shown else ())


def filter_request(app: str, heard: frozenset[str]) -> Request:
    """The request that has Asterisk send `app` every event but those of UNREAD and SHOWN not
    `heard` (an empty list allows all: a flow hears every event it names)."""
    unheard = [{"type": event} for event in (*UNREAD, *SHOWN) if event not in heard]
    return Request(
        "PUT",
        f"applications/{quote(app, safe='')}/eventFilter",
        body={"disallowed": unheard},
        action="event_filter",
        harmless_twice=True,
    )


def set_filter(transport: Transport, app: str, heard: frozenset[str]) -> None:
    """Send the filter without waiting: until Asterisk has it, the events are only more than
    needed. A failure is logged (an Asterisk before 16 has no filter: all events come)."""

    def done(response: Response) -> None:
        if not response.ok:
            log.warning("could not set the event filter of app %s: %s", app, response.describe())

    transport.submit(filter_request(app, heard), done)
