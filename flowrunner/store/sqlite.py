"""Calls kept in a SQLite file (the default store): one row per live call, in WAL mode so a
batch of writes costs one fsync and readers never wait."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (channel TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flows (version TEXT PRIMARY KEY, text TEXT NOT NULL);
"""


class SqliteStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: opened at start-up, then used by the writer thread alone
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at each checkpoint, fast
        self.db.executescript(SCHEMA)
        self.where = str(path)

    def write(self, calls: Mapping[str, str | None], flows: Mapping[str, str]) -> None:
        with self.db:  # one transaction
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR IGNORE INTO flows (version, text) VALUES (?, ?)", flows.items()
            )
            kept = [(channel, s) for channel, s in calls.items() if s is not None]
            gone = [(channel,) for channel, s in calls.items() if s is None]
            self.db.executemany(
                "INSERT INTO calls (channel, snapshot) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET snapshot = excluded.snapshot",
                kept,
            )
            self.db.executemany("DELETE FROM calls WHERE channel = ?", gone)

    def calls(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT channel, snapshot FROM calls"))

    def flow(self, version: str) -> str | None:
        row = self.db.execute("SELECT text FROM flows WHERE version = ?", (version,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self.db.close()
