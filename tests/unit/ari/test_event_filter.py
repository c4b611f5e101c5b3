"""Which events each app asks Asterisk for: those its flows, their steps or the journal read."""

from __future__ import annotations

from pathlib import Path

from flowrunner.ari.event_filter import SHOWN, UNREAD, filter_request, heard_by
from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.flow import load_flow


def compiled(tmp_path: Path, body: str) -> CompiledFlow:
    path = tmp_path / "flow.yaml"
    path.write_text("version: 1\napp: a\ninitial: s\n" + body)
    return compile_flow(load_flow(str(path)))


def disallowed(heard: frozenset[str]) -> list[str]:
    body = filter_request("a", heard).body
    assert isinstance(body, dict)
    return [item["type"] for item in body["disallowed"]]


def test_the_reference_flow_unshown_is_sent_none_of_the_events_it_does_not_read(
    channel_state: CompiledFlow,
) -> None:
    assert disallowed(heard_by(channel_state, shown=False)) == [*UNREAD, *SHOWN]
    assert SHOWN == ("ChannelStateChange", "ChannelHangupRequest")


def test_events_that_are_shown_are_heard(channel_state: CompiledFlow) -> None:
    assert disallowed(heard_by(channel_state, shown=True)) == list(UNREAD)


def test_a_flow_hears_what_it_reacts_to(tmp_path: Path) -> None:
    flow = compiled(
        tmp_path,
        "states:\n  s:\n    on: {ChannelStateChange: e, ChannelVarset: e}\n  e: {final: true}\n",
    )
    assert disallowed(heard_by(flow, shown=False)) == [
        "ChannelDialplan",
        "ChannelCallerId",
        "ChannelConnectedLine",
        "ChannelHangupRequest",
    ]


def test_a_flow_hears_what_its_steps_read(tmp_path: Path) -> None:
    flow = compiled(
        tmp_path,
        "states:\n  s:\n    do: [{conference: {room: r}}]\n"
        "    on: {ConferenceJoined: e, StasisEnd: e}\n  e: {final: true}\n",
    )
    assert "ChannelHangupRequest" in heard_by(flow, shown=False)
    assert "ChannelStateChange" not in heard_by(flow, shown=False)
