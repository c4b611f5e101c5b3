"""Keeping calls: after every message, the call it changed is written down (its snapshot, as
JSON, handed to the keeper, which writes it off the runtime's thread), and a call that ended is
forgotten. With no keeper (no `--state`), nothing is kept."""

from __future__ import annotations

import json

from ..ports import Clock, Keeper
from .call import Call
from .snapshot import snapshot


class Keeping:
    def __init__(self, keeper: Keeper | None, clock: Clock) -> None:
        self.keeper, self.clock = keeper, clock

    def changed(self, call: Call | None) -> None:
        if self.keeper is None or call is None or call.ended:
            return
        flow = call.compiled.flow
        text = json.dumps(snapshot(call, self.clock), separators=(",", ":"))
        self.keeper.keep(call.channel_id, text, flow.version, flow.text)

    def ended(self, call: Call) -> None:
        self.forget(call.channel_id)

    def forget(self, channel: str) -> None:
        if self.keeper is not None:
            self.keeper.forget(channel)
