"""Hostile input on the ARI link never takes the runner down, nor hurts other calls.

Each test runs a real `flowrunner serve flows/channel-state.yaml` against a simulated Asterisk
(`ari_fake.py`), starts a few normal calls (ring, answer after 2 s, hang up after 6 s) and, while
they run, sends what no Asterisk should: malformed messages of every kind, a frame dripped byte
by byte, a 200 MB frame, a link dropped with a hangup in flight. The runner must stay up, and
the other calls must finish: their answer and hangup requests arrive at the simulated Asterisk.
Time bounds are generous (a busy 2-core machine), and only ever far from what a fault costs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ari_fake import BINARY, EXPECTED_ACTIONS, TEXT, Asterisk, server_frame

APP = "channel-state"
FINISH_WITHIN = 20.0  # seconds for every call to be hung up (the flow takes 6 s)
ANSWER_WITHIN = 4.5  # seconds from StasisStart to the answer request (the flow's timer: 2 s)

MakeAsterisk = Callable[..., Asterisk]


@pytest.fixture
def asterisk(tmp_path: Path) -> Iterator[MakeAsterisk]:
    started: list[Asterisk] = []

    def make(*serve_args: str, **options: Any) -> Asterisk:
        fake = Asterisk(tmp_path, *serve_args, **options).__enter__()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.__exit__()


def event(kind: str, **fields: Any) -> bytes:
    return json.dumps({"type": kind, "application": APP, **fields}).encode()


def malformed(victim: str) -> dict[str, bytes]:
    """Every kind of bad message we know, by name; `victim` is the channel of the one call
    whose events are garbled."""
    return {
        "a JSON list": b"[]",
        "null": b"null",
        "a string": b'"StasisStart"',
        "a number": b"1e999",
        "JSON nested 50,000 deep": b"[" * 50_000 + b"]" * 50_000,
        "not JSON": b"{not json",
        "invalid UTF-8": b'{"type": "StasisStart\xff\xfe"}',
        "an empty text frame": b"",
        "a type that is not a string": json.dumps({"type": ["StasisStart"]}).encode(),
        "a PlaybackStarted whose playback is a string": event("PlaybackStarted", playback="p1"),
        "a playback whose target_uri is a number": event(
            "PlaybackFinished", playback={"id": "p1", "target_uri": 5, "state": "done"}
        ),
        "a StasisStart whose channel is a string": event("StasisStart", channel="1.1", args=[]),
        "a StasisStart whose channel id is a list": event(
            "StasisStart", channel={"id": ["1.1"], "name": 7}, args={}
        ),
        "a RESTResponse with status_code null": json.dumps(
            {"type": "RESTResponse", "request_id": "nobody", "status_code": None}
        ).encode(),
        "a RESTResponse whose message_body is an object": json.dumps(
            {"type": "RESTResponse", "request_id": "nobody", "status_code": 200, "message_body": {}}
        ).encode(),
        "a RESTResponse whose request_id is an object": json.dumps(
            {"type": "RESTResponse", "request_id": {"a": 1}, "status_code": 204}
        ).encode(),
        "an ApplicationReplaced for no app": event("ApplicationReplaced", application=None),
        # Events for a live call, with fields of the wrong types: that call may suffer.
        "a DTMF digit that is an object": event(
            "ChannelDtmfReceived", channel={"id": victim}, digit={"x": 1}
        ),
        "a channel state that is a number": event(
            "ChannelStateChange", channel={"id": victim, "state": 5, "caller": "x"}
        ),
        "a playback id that is a number": event(
            "PlaybackStarted", playback={"id": 5, "target_uri": f"channel:{victim}"}
        ),
        "a variable that is null": event(
            "ChannelVarset", channel={"id": victim}, variable=None, value=[1]
        ),
    }


def finished(fake: Asterisk, calls: list[Any]) -> bool:
    """Every call's answer and hangup arrived (over either transport)."""
    return fake.wait_until(
        lambda: all({"answer", "hangup"} <= set(call.arrivals) for call in calls), FINISH_WITHIN
    )


def assert_unhurt(fake: Asterisk) -> None:
    log = fake.log()
    assert fake.alive(), f"the runner died:\n{log[-3000:]}"
    assert "bug in flowrunner" not in log
    assert "Traceback" not in log


def start_calls(fake: Asterisk, count: int) -> list[Any]:
    """`count` calls, once each has rung (its first request answered)."""
    calls = fake.start_calls(count)
    assert fake.wait_until(lambda: all("ring" in call.arrivals for call in calls), 10.0)
    return calls


def test_malformed_messages_are_skipped_and_counted_and_no_call_is_hurt(
    asterisk: MakeAsterisk,
) -> None:
    fake = asterisk(listing_ids=None)  # the first channel listing is malformed too
    *calls, victim = start_calls(fake, 5)
    kinds = malformed(victim.channel_id)
    for _ in range(20):  # each kind many times: the log must not grow a line per frame
        fake.send_text(*kinds.values())
        fake.send_raw(server_frame(BINARY, b"\x00\xff"))
    assert finished(fake, calls), fake.log()[-3000:]
    for call in calls:
        assert tuple(call.requests) == EXPECTED_ACTIONS
    assert_unhurt(fake)
    assert fake.ari.stats.connects == 1  # not one reconnect
    log = fake.log()
    assert "could not list the channels of app channel-state" in log
    # Over 400 bad messages, a few lines: the calls' own lines name their channel.
    assert len([line for line in log.splitlines() if "PJSIP/" not in line]) < 25


def test_a_frame_dripped_byte_by_byte_holds_no_timer(asterisk: MakeAsterisk) -> None:
    """Regression (D7): the loop read a frame with blocking calls until whole, so a frame
    dripped over 26 s held every engine timer (a 2 s answer came after the drip)."""
    fake = asterisk()
    calls = start_calls(fake, 3)
    fake.drip(server_frame(TEXT, event("ChannelVarset", variable="X", value="y" * 200)), 5.0)
    for call in calls:
        assert call.since_start_ms("answer") is not None
        assert call.since_start_ms("answer") < ANSWER_WITHIN * 1000  # the drip took 5 s
    assert finished(fake, calls)
    assert_unhurt(fake)
    assert fake.ari.stats.connects == 1


def test_a_200_mb_frame_costs_one_reconnect_and_no_memory(asterisk: MakeAsterisk) -> None:
    """Regression (D7): a 200 MB frame was buffered whole, then parsed: 628 MB peak RSS."""
    fake = asterisk()
    calls = start_calls(fake, 3)
    before = fake.peak_rss_mb()
    written = fake.stream_frame(200 * 2**20)
    assert written < 100 * 2**20  # the runner closed the link long before the end
    assert finished(fake, calls)
    assert fake.peak_rss_mb() - before < 50
    assert_unhurt(fake)
    assert fake.ari.stats.connects == 2
    assert "MessageTooBig" in fake.log()


def test_a_link_dropped_with_a_hangup_in_flight_loses_no_hangup(asterisk: MakeAsterisk) -> None:
    """Regression (D6): requests in flight when the link dropped failed "connection lost", and
    those sent while it was down "not connected": the hangups were lost, the channels left up."""
    fake = asterisk()
    calls = start_calls(fake, 3)
    fake.call(lambda: setattr(fake.ari, "drop_on", lambda method, uri: method == "DELETE"))
    assert finished(fake, calls)
    [dropped] = fake.ari.dropped
    hangups = [a for call in calls for a in fake.ari.requests_for(call, "DELETE")]
    assert {a.uri for a in hangups} == {f"channels/{call.channel_id}" for call in calls}
    assert dropped.uri in {a.uri for a in hangups if a.via == "http"}  # sent again
    assert_unhurt(fake)
