"""Reloading flows while serving (SIGHUP, --watch), on a real runtime and a fake session."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from fakes import FakeTransport, Journal

from flowrunner.commands.serve import FlowFiles, Serving, _reacted, load_all
from flowrunner.engine.runtime import Runtime
from flowrunner.sim.clock import VirtualClock

FLOW = (
    "version: 1\napp: {app}\ninitial: a\n"
    "states:\n  a: {{after: {{{delay}: b}}}}\n  b: {{final: true}}\n"
)


class FakeSession:
    def __init__(self) -> None:
        self.apps: list[tuple[str, ...]] = []

    def subscribe(self, apps: tuple[str, ...]) -> None:
        self.apps.append(apps)

    def wake(self) -> None:
        pass


def serving(tmp_path: Path) -> tuple[Serving, Runtime, FakeSession, Path]:
    path = tmp_path / "one.yaml"
    path.write_text(FLOW.format(app="one", delay="5s"))
    runtime = Runtime(load_all([str(tmp_path)]), FakeTransport(), VirtualClock(), Journal())
    session = FakeSession()
    serve = Serving(runtime, session, [str(tmp_path)], watch=True)  # type: ignore[arg-type]
    return serve, runtime, session, path


def test_a_reload_gives_new_calls_the_new_version_and_keeps_calls_on_theirs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    serve, runtime, session, path = serving(tmp_path)
    runtime.post({"type": "StasisStart", "application": "one", "channel": {"id": "c1"}})
    runtime.drain()
    before = runtime.flows["one"]
    path.write_text(FLOW.format(app="one", delay="9s"))
    (tmp_path / "two.yaml").write_text(FLOW.format(app="two", delay="1s"))
    with caplog.at_level(logging.INFO, logger="flowrunner.serve"):
        serve.reload()
    after = runtime.flows["one"]
    assert after.flow.version != before.flow.version
    assert runtime.calls["c1"].compiled is before  # the call in progress stays on its version
    assert session.apps == [("one", "two")]
    assert f"app one: new calls run {path} version {after.flow.version} (was " in caplog.text


def test_a_broken_flow_is_refused_and_the_old_ones_keep_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    serve, runtime, session, path = serving(tmp_path)
    before = runtime.flows["one"]
    path.write_text("version: 1\napp: one\nstates: {broken\n")
    with caplog.at_level(logging.INFO, logger="flowrunner.serve"):
        serve.reload()
    assert runtime.flows["one"] is before
    assert session.apps == []
    assert "reload refused: " in caplog.text
    assert "the flows served are unchanged" in caplog.text


def test_an_app_removed_keeps_its_subscription_while_its_calls_last(tmp_path: Path) -> None:
    serve, runtime, session, path = serving(tmp_path)
    runtime.post({"type": "StasisStart", "application": "one", "channel": {"id": "c1"}})
    runtime.drain()
    (tmp_path / "two.yaml").write_text(FLOW.format(app="two", delay="1s"))
    path.unlink()
    serve.reload()
    assert list(runtime.flows) == ["two"]
    assert session.apps == [("one", "two")]  # one's call in progress still gets its events


def test_watching_sees_a_file_edited_added_or_removed(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(FLOW.format(app="one", delay="5s"))
    files = FlowFiles([str(tmp_path)])
    assert not files.changed()
    path.write_text(FLOW.format(app="one", delay="6s"))
    os.utime(path, ns=(1, 1))  # a new mtime, whatever the file system's resolution
    assert files.changed()
    (tmp_path / "two.yaml").write_text(FLOW.format(app="two", delay="1s"))
    assert files.changed()
    path.unlink()
    assert files.changed()
    assert not files.changed()


def test_an_app_hears_the_events_of_its_new_version_and_of_the_versions_its_calls_run(
    tmp_path: Path,
) -> None:
    serve, runtime, _, path = serving(tmp_path)
    path.write_text(FLOW.format(app="one", delay="5s") + "on: {ChannelVarset: b}\n")
    serve.reload()
    runtime.post({"type": "StasisStart", "application": "one", "channel": {"id": "c1"}})
    runtime.drain()
    reacted = _reacted(runtime)
    path.write_text(FLOW.format(app="one", delay="5s") + "on: {ChannelHold: b}\n")
    serve.reload()
    assert {"ChannelVarset", "ChannelHold"} <= reacted("one")  # c1 runs the version before
    runtime.calls.clear()
    assert "ChannelVarset" not in reacted("one")
    assert reacted("gone") == frozenset()


def test_an_app_hears_the_events_only_shown_when_a_journal_shows_them(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(FLOW.format(app="one", delay="5s"))
    flows = load_all([str(tmp_path)])
    quiet = Runtime(flows, FakeTransport(), VirtualClock(), Journal(reads=frozenset({"end"})))
    told = Runtime(flows, FakeTransport(), VirtualClock(), Journal(reads=frozenset({"event"})))
    assert "ChannelStateChange" not in _reacted(quiet)("one")
    assert {"ChannelStateChange", "ChannelHangupRequest"} <= _reacted(told)("one")
