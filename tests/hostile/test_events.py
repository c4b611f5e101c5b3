"""Malformed ARI events never break the runtime: each is dropped or read defensively, no bug is
logged, and the calls in progress go on as if nothing happened. (The ARI link's own handling of
malformed frames is tests/hostile/test_ari_frames.py's.)"""

from __future__ import annotations

from typing import Any

import pytest
from fakes import Rig

MALFORMED: list[Any] = [
    [],
    None,
    "StasisStart",
    {"type": 42},
    {"type": "StasisStart"},  # no channel at all
    {"type": "StasisStart", "application": "channel-state", "channel": "c9"},
    {"type": "StasisStart", "application": "channel-state", "channel": {"id": 9}},
    {
        "type": "StasisStart",
        "application": "channel-state",
        "channel": {"id": "c8", "caller": "x", "dialplan": [], "name": None},
        "args": "not a list",
    },
    {"type": "PlaybackStarted", "playback": "c1-play-1"},
    {"type": "PlaybackFinished", "playback": {"id": 7, "target_uri": 12}},
    {"type": "RecordingFinished", "recording": {"name": None, "target_uri": "channel:c1"}},
    {"type": "ChannelStateChange", "channel": {"id": "c1", "state": {"odd": True}}},
    {"type": "ChannelDtmfReceived", "channel": {"id": "c1"}, "digit": None},
    {"type": "ChannelHangupRequest", "channel": {"id": "c1"}, "cause": "not a number"},
    {"type": "Dial", "peer": {"id": "c1"}, "dialstatus": None},
    {"type": "ChannelVarset", "channel": {"id": "c1"}, "variable": ["x"], "value": {}},
]


@pytest.mark.parametrize("event", MALFORMED, ids=[f"frame {i}" for i in range(len(MALFORMED))])
def test_a_malformed_event_is_dropped_and_the_call_goes_on(rig: Rig, event: Any) -> None:
    rig.event("StasisStart")
    rig.answer_all()
    rig.runtime.post(event)
    rig.runtime.drain()
    rig.at(2.0)
    rig.answer_all()
    rig.at(6.0)
    rig.answer_all()
    assert "POST channels/c1/answer" in rig.actions()
    assert "DELETE channels/c1" in rig.actions()
    assert not [m for m in rig.journal.messages("error") if "bug in flowrunner" in m]
