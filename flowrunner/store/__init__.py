"""Durable call state: where a call's snapshot is kept after every message, so that another
runner (or this one, restarted) can carry the call on. `open_store` picks the store from
`--state`: a file path (SQLite, the default) or `redis://HOST:PORT/DB` (shared by runners)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..ports import Store
from .sqlite import SqliteStore

__all__ = ["StoreError", "default_path", "open_store"]


class StoreError(Exception):
    """The store `--state` names cannot be used; the message says why."""


def default_path() -> Path:
    """$XDG_STATE_HOME/flowrunner/calls.db, else ~/.local/state/flowrunner/calls.db."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "flowrunner" / "calls.db"


def open_store(spec: str) -> Store | None:
    """The store `--state` names: "none" for none, a redis:// URL, or a file path."""
    if spec == "none":
        return None
    if spec.startswith(("redis://", "rediss://", "unix://")):
        try:
            from .redis import RedisStore  # only then is the redis package needed
        except ImportError:
            raise StoreError(
                "--state redis://… needs the redis package: pip install 'flowrunner[redis]'"
            ) from None
        return RedisStore(spec)
    path = Path(spec).expanduser()
    try:
        return SqliteStore(path)
    except (OSError, sqlite3.Error) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise StoreError(f"cannot open the call store {path}: {reason}") from None
