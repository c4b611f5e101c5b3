"""Logging for `serve`: readable lines by default, one JSON object per line for machines.

The engine's journal records become log records whose extra fields (channel, kind, …) the JSON
format keeps. No record carries credentials: the ARI layer logs URLs without them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

calls_log = logging.getLogger("flowrunner.calls")


class LogJournal:
    """The engine's journal for `serve`: each record becomes one log line."""

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        level = _LEVELS.get(fields.pop("level", "info"), logging.INFO)
        if calls_log.isEnabledFor(level):
            calls_log.log(
                level, "%s %s", channel, message, extra={"channel": channel, "kind": kind, **fields}
            )

    def wants(self, kind: str, level: str) -> bool:
        return calls_log.isEnabledFor(_LEVELS.get(level, logging.INFO))


class TextFormatter(logging.Formatter):
    """One record, one line: a newline in a message (a caller's number may hold one) starts an
    indented continuation, never what looks like a record of its own; other control characters
    (a terminal's escape sequences) are shown escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return _CONTROL.sub(_escape, super().format(record)).replace("\n", "\n    | ")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup(fmt: str = "text", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-5s %(message)s"))
    root = logging.getLogger("flowrunner")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
