"""Readiness: connected to Asterisk for every app, and the store's last write succeeded."""

from __future__ import annotations

from types import SimpleNamespace

from flowrunner.observe.health import Readiness


def ari(connected: bool = True, replaced: frozenset[str] = frozenset()) -> SimpleNamespace:
    return SimpleNamespace(connected=connected, replaced=replaced)


def test_ready_when_connected_and_the_store_writes() -> None:
    assert Readiness(ari(), SimpleNamespace(degraded=False)).problems() == []


def test_ready_with_no_store() -> None:
    assert Readiness(ari(), None).problems() == []


def test_each_reason_not_to_be_ready_is_said() -> None:
    readiness = Readiness(
        ari(connected=False, replaced=frozenset({"sales", "ivr"})), SimpleNamespace(degraded=True)
    )
    assert readiness.problems() == [
        "not connected to Asterisk (ARI)",
        "app ivr: another client took it over (no events for it here)",
        "app sales: another client took it over (no events for it here)",
        "the store's last write failed",
    ]
