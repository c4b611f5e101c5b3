"""What crosses the seam between the engine and web services: a request, its response, and
the client Protocol. The live client (`web/client.py`) and the simulator implement `WebClient`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class WebRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # may hold secrets: never logged
    body: Any = None  # sent as JSON when not None
    timeout: float = 5.0  # seconds for the whole exchange

    @property
    def safe_url(self) -> str:
        """The URL for logs: no credentials, no query string (it may carry an API key)."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


@dataclass(frozen=True)
class WebResponse:
    status: int  # HTTP status; 0 when there was no answer
    body: Any = None  # the JSON reply, or None when it was not JSON
    error: str = ""  # why there was no answer (no secrets, no URL)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


WebDone = Callable[[WebResponse], None]


class WebClient(Protocol):
    """Sends a request without blocking; `done` is called later, from any thread."""

    def submit(self, request: WebRequest, done: WebDone) -> None: ...
