"""After a (re)connect: what Asterisk still has in an app, against the calls the runtime runs.

A call whose channel is gone ends. A channel in the app that no call owns (left by a runner that
stopped, or a callee whose call is over) would stay in Stasis, its caller hearing silence, so it
is hung up; but first Asterisk is asked about it: its StasisStart may be on the way (it entered
just as we connected), and only once the answer is back, and still nobody owns it, is it hung up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..ports import Done, Request, Response
from .call import hangup_request
from .messages import Reconcile

if TYPE_CHECKING:
    from .runtime import Runtime


@dataclass(frozen=True)
class Stray:
    """Asterisk's answer about a channel in the app that no call owned when it was listed."""

    channel: str
    response: Response


class Reconciler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def reconcile(self, message: Reconcile) -> None:
        runtime = self.runtime
        for call in list(runtime.calls.values()):
            if call.flow_name == message.app and call.channel_id not in message.channel_ids:
                runtime.end(call, "channel vanished while disconnected")
        for channel in sorted(message.channel_ids - runtime.channels.keys()):
            ask = Request("GET", f"channels/{quote(channel, safe='')}", action="reconcile")
            runtime.sender.transport.submit(ask, self._answer_to(channel))

    def stray(self, message: Stray) -> None:
        if message.channel in self.runtime.channels or not message.response.ok:
            return  # its call started meanwhile, or it is gone
        body = message.response.body
        name = str(body.get("name") or message.channel) if isinstance(body, dict) else "?"
        why = "in the app, but no call of this runner owns it: hung up"
        self.runtime.journal.record(name, "error", f"channel {why}", level="warning")
        self.runtime.sender.transport.submit(hangup_request(message.channel), lambda _: None)

    def _answer_to(self, channel: str) -> Done:
        post = self.runtime.post
        return lambda response: post(Stray(channel, response))
