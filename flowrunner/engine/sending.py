"""A call's requests on their way: ARI requests sent one at a time, in order; web and speech
requests at once, beside them. Each reply is posted back to the runtime as a `Replied` message
(it may come from any thread).

A transport that reaches Asterisk over several connections (`serve --listen`: one per call, or
one per Asterisk) has a `route(channel)`: the transport of the connection that call came on, so
its requests go back there."""

from __future__ import annotations

from collections.abc import Callable

from ..ports import (
    Clock,
    Done,
    Request,
    Response,
    Speech,
    SpeechRequest,
    Tap,
    Transport,
    WebClient,
    WebRequest,
)
from .call import Call, Pending, Queued, hangup_request
from .messages import Replied


class Sender:
    def __init__(
        self,
        transport: Transport,
        web: WebClient,
        clock: Clock,
        post: Callable[[object], None],
        speech: Speech,
        tap: Tap | None = None,
    ) -> None:
        self.transport, self.web, self.clock, self.post = transport, web, clock, post
        self.speech, self.tap = speech, tap
        self.route: Callable[[str], Transport] = getattr(transport, "route", lambda _: transport)

    def send(self, call: Call, item: Queued) -> None:
        """The call's next ARI request: nothing else of the call goes until it is answered."""
        call.sending = item.number
        action = item.request.action
        pending = Pending(item.owner, item.tag, action, self.clock.now(), item.request)
        call.pending[item.number] = pending
        self.route(call.channel_id).submit(
            item.request, self._reply(call, item.number, item.request)
        )

    def send_web(self, call: Call, owner: str, tag: str, request: WebRequest) -> None:
        self.web.submit(request, self._aside(call, owner, tag, request))

    def send_speech(self, call: Call, owner: str, tag: str, request: SpeechRequest) -> None:
        self.speech.submit(request, self._aside(call, owner, tag))

    def _aside(self, call: Call, owner: str, tag: str, request: WebRequest | None = None) -> Done:
        """A request outside the call's ARI queue (web, speech): pending until its reply."""
        number = call.new_request_number()
        call.pending[number] = Pending(owner, tag, "", self.clock.now())
        return self._reply(call, number, request)

    def hang_up(self, call: Call) -> None:
        """At once, unanswered: the call is ending."""
        if not call.left_app:
            self.at_once(hangup_request(call.channel_id), call.channel_id, call)

    def at_once(self, request: Request, channel: str, call: Call | None = None) -> None:
        """Outside any call's queue, its answer not waited for (a call that is over, a stray
        channel); over the connection of `channel`'s call. A recorder still sees the reply, as
        the call's."""
        transport, tap = self.route(channel), self.tap
        if tap is None or call is None:
            return transport.submit(request, lambda response: None)
        call_id, clock, sent = call.channel_id, self.clock, self.clock.now()
        transport.submit(
            request, lambda response: tap.replied(call_id, request, response, clock.now() - sent)
        )

    def answered(self, call: Call, replied: Replied) -> tuple[Pending, float] | None:
        """The request a reply answers, and how long it took (ms); None if none waits."""
        pending = call.pending.pop(replied.number, None)
        if pending is None:
            return None
        if call.sending == replied.number:
            call.sending = 0
        return pending, round((self.clock.now() - pending.sent_at) * 1000, 1)

    def _reply(self, call: Call, number: int, request: Request | WebRequest | None = None) -> Done:
        post, call_id, tap, clock = self.post, call.channel_id, self.tap, self.clock
        if tap is None or request is None:
            return lambda response: post(Replied(call_id, number, response))
        sent = clock.now()

        def done(response: Response) -> None:
            tap.replied(call_id, request, response, clock.now() - sent)  # as it comes
            post(Replied(call_id, number, response))

        return done
