"""The call stores, on the real thing: SQLite in a file, Redis from Debian's redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import redis_server

from flowrunner.ports import Store
from flowrunner.store import StoreError, open_store
from flowrunner.store.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        store = open_store(str(tmp_path / "state" / "calls.db"))  # its folder is made
        assert store is not None
        yield store
        store.close()
        return
    with redis_server(tmp_path) as url:
        store = open_store(url)
        assert store is not None
        yield store
        store.close()


def test_a_batch_keeps_the_latest_snapshots_and_removes_the_calls_that_ended(
    store: Store,
) -> None:
    store.write({"c1": '{"n": 1}', "c2": '{"n": 2}'}, {"v1": "version: 1\n"})
    store.write({"c1": '{"n": 3}', "c2": None}, {})
    assert store.calls() == {"c1": '{"n": 3}'}
    assert store.flow("v1") == "version: 1\n"
    assert store.flow("v2") is None


def test_a_flow_version_is_written_once(store: Store) -> None:
    store.write({}, {"v1": "first"})
    store.write({}, {"v1": "second"})  # the same hash: the same text, never replaced
    assert store.flow("v1") == "first"


def test_sqlite_keeps_calls_across_a_reopen_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    first = SqliteStore(path)
    first.write({"c1": "{}"}, {})
    first.close()
    second = SqliteStore(path)
    assert second.calls() == {"c1": "{}"}
    assert second.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second.close()


def test_none_means_no_store() -> None:
    assert open_store("none") is None


def test_a_store_that_cannot_be_opened_says_why(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot open the call store"):
        open_store(str(tmp_path / "file" / "calls.db"))
