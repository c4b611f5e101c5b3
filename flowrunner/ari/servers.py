"""Several Asterisk servers, inbound (a repeatable `--ari-url`): a session per server, each
call's requests back to the server its channel came from.

The runtime stays on one thread: the first server's live loop drives it (its messages and
timers); each other server's loop runs on a thread of its own and only reads, posting what
arrives to the runtime and waking the first loop. A channel belongs to the server whose
StasisStart brought it (`Router`); a server's channel listing after a reconnect covers only its
own channels (`Reconcile.scope`), so it never ends another server's calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..ports import Done, Request, Transport
from .event_filter import Reacted
from .session import AriSession, Engine

# (app, ids, scope, unstarted): as engine/messages.Reconcile
Listed = Callable[[str, frozenset[str], frozenset[str] | None, str], None]


class Router:
    """Each channel's requests over its server's transport; an unknown one, the first's."""

    name = "websocket"

    def __init__(self, sessions: list[AriSession]) -> None:
        self.sessions = sessions
        self.homes: dict[str, AriSession] = {}

    def route(self, channel: str) -> Transport:
        return (self.homes.get(channel) or self.sessions[0]).transport

    def submit(self, request: Request, done: Done) -> None:
        self.sessions[0].transport.submit(request, done)

    def learn(self, message: object, session: AriSession) -> None:
        if isinstance(message, dict) and message.get("type") == "StasisStart":
            channel = message.get("channel")
            if isinstance(channel, dict) and isinstance(channel.get("id"), str):
                self.homes[channel["id"]] = session

    def own(self, session: AriSession) -> frozenset[str]:
        return frozenset(ch for ch, home in self.homes.items() if home is session)


class _Reader:
    """What a server's loop drives: the first one drives the engine too; the others only
    post to it, and wake the first loop (which runs the engine) whenever they wake."""

    def __init__(
        self, engine: Engine, router: Router, session: AriSession, first: AriSession
    ) -> None:
        self.engine, self.router, self.session, self.first = engine, router, session, first
        self.drives = session is first

    def post(self, message: object) -> None:
        self.router.learn(message, self.session)
        self.engine.post(message)
        if not self.drives:
            self.first.wake()

    def run_due(self) -> float | None:
        if self.drives:
            return self.engine.run_due()
        self.first.wake()  # a reply may have come in on this server: the runtime runs it
        return None


class Servers:
    """What `serve` runs with several --ari-url: the same surface as one AriSession."""

    def __init__(self, sessions: list[AriSession]) -> None:
        self.sessions = sessions
        self.transport = Router(sessions)

    @property
    def connected(self) -> bool:
        return all(session.connected for session in self.sessions)

    @property
    def connections(self) -> int:
        return sum(session.connections for session in self.sessions)

    @property
    def replaced(self) -> frozenset[str]:
        return frozenset().union(*(session.replaced for session in self.sessions))

    def wake(self) -> None:
        self.sessions[0].wake()

    def hear_only(self, reacted: Reacted) -> None:
        for session in self.sessions:
            session.hear_only(reacted)

    def subscribe(self, apps: tuple[str, ...]) -> None:
        for session in self.sessions:
            session.subscribe(apps)

    def stop(self) -> None:
        for session in self.sessions:
            session.stop()

    def close(self) -> None:
        for session in self.sessions:
            session.close()

    def serve(self, engine: Engine, listed: Listed) -> None:
        first, threads = self.sessions[0], []
        for session in self.sessions[1:]:
            args = (_Reader(engine, self.transport, session, first), self._listed(session, listed))
            thread = threading.Thread(target=session.serve, args=args, name="ari-server")
            thread.start()
            threads.append(thread)
        try:
            first.serve(_Reader(engine, self.transport, first, first), self._listed(first, listed))
        finally:
            self.stop()
            for thread in threads:
                thread.join(timeout=10)

    def _listed(self, session: AriSession, listed: Listed) -> Callable[..., None]:
        """A server's listing covers what it lists and the channels it brought."""

        def on_listing(app: str, ids: frozenset[str], *_: Any) -> None:
            listed(app, ids, ids | self.transport.own(session), "")

        return on_listing
