"""What crosses the seam between the engine and Asterisk: requests, responses, the transport.

Pure data and a Protocol; the real transports (REST over the events WebSocket, or HTTP) and the
simulator implement `Transport`, so the engine runs the same against each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

Params = Mapping[str, str]


@dataclass(frozen=True)
class AriRequest:
    method: str
    path: str  # relative to /ari/, e.g. "channels/1234.5/answer"
    params: Params = field(default_factory=dict)
    body: Any = None  # a JSON body, for the few operations that take one

    @property
    def uri(self) -> str:
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


@dataclass(frozen=True)
class AriResponse:
    status: int  # HTTP status; 0 when the request never got an answer
    body: Any = None
    error: str = ""  # why there was no answer, or Asterisk's error message

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The channel (or other resource) no longer exists: normal after a hangup."""
        return self.status == 404

    def describe(self) -> str:
        if self.status == 0:
            return f"no answer ({self.error})"
        return f"{self.status} {self.error}".rstrip()


Done = Callable[[AriResponse], None]


class Transport(Protocol):
    """Sends ARI REST requests without blocking; `done` is called later, from any thread."""

    @property
    def name(self) -> str: ...

    def submit(self, request: AriRequest, done: Done) -> None: ...
