"""The business-hours flow on a real Asterisk: `then` goes on after a real answer and after a
real playback, and the office's hours decide the way. The hours of the copies served here are
made from today's date, so that one is open and the other closed whenever the test runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import (
    REPO,
    Call,
    Runner,
    ari,
    flow_copy,
    lines_of,
    place_call,
    probing,
    serving,
    transitions,
    wait_until,
)
from test_local_channel import Probe

OPEN, CLOSED = "business-hours-open", "business-hours-closed"


def hours_block() -> str:
    """The `hours:` block of the shipped flow, as written."""
    text = (REPO / "flows" / "business-hours.yaml").read_text()
    block = re.search(r"\nhours:\n(?:  .*\n|\n)*", text)  # up to the next top-level key
    assert block is not None
    return block.group().rstrip("\n")


def with_hours(directory: Path, app: str, closed: list[str]) -> str:
    """A copy open all week, all day, except on the `closed` dates."""
    block = "\nhours:\n  office:\n    week: {mon-sun: 00:00-24:00}\n"
    block += f"    closed: [{', '.join(closed)}]\n" if closed else ""
    return flow_copy(directory, "business-hours", app, {hours_block(): block})


@pytest.fixture(scope="module")
def office(asterisk: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    directory = tmp_path_factory.mktemp("business-hours")
    today = datetime.now(ZoneInfo("Europe/London")).date()  # the flow's time zone
    around = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]  # a run across midnight too
    flows = with_hours(directory, OPEN, []), with_hours(directory, CLOSED, around)
    with serving(directory / "serve.log", *flows) as runner:
        yield runner


@pytest.fixture
def probe(office: Runner) -> Iterator[Probe]:
    with probing(office) as probe:
        yield probe


def hang_up(call: Call) -> None:
    ari("DELETE", f"channels/{call.phone}")


def line_index(runner: Runner, call: Call, **fields: str) -> int:
    """Where in the log the first line about the call with these fields is."""
    lines = runner.lines()
    (first, *_) = lines_of(runner, call.name, **fields)
    return lines.index(first)


def test_open_the_call_goes_on_to_the_menu_once_answered(office: Runner, probe: Probe) -> None:
    call = place_call(OPEN, probe)
    flow = lambda: transitions(office, call.name)  # noqa: E731
    wait_until(lambda: "welcome -> menu" in flow(), 10, "the menu")
    (moved,) = lines_of(office, call.name, kind="transition", target="menu")
    assert moved["reason"] == "actions done"  # `then`, on no event
    answers = lines_of(office, call.name, kind="action", action="answer")
    assert [line["status"] for line in answers] == [204]
    hang_up(call)
    wait_until(lambda: "menu -> ended" in flow(), 10, "the flow to end")
    assert flow() == ["(start) -> welcome", "welcome -> menu", "menu -> ended"]


def test_closed_today_the_message_plays_then_voicemail(office: Runner, probe: Probe) -> None:
    today = datetime.now(ZoneInfo("Europe/London")).date()
    call = place_call(CLOSED, probe)
    flow = lambda: transitions(office, call.name)  # noqa: E731
    wait_until(lambda: "closed -> voicemail" in flow(), 20, "the message, then voicemail")
    # `then` waited for the message to finish playing: Asterisk said so first
    finished = line_index(office, call, kind="event", event="PlaybackFinished")
    assert finished < line_index(office, call, kind="transition", target="voicemail")
    started = lambda: lines_of(office, call.name, kind="event", event="RecordingStarted")  # noqa: E731
    wait_until(started, 10, "the recording")
    time.sleep(1.5)  # a message of 1.5 s (of silence: a Local channel carries no audio)
    hang_up(call)
    # RecordingFinished may come before StasisEnd (to goodbye) or not: both end the call
    wait_until(lambda: flow()[-1].endswith(" -> ended"), 10, "the flow to end")
    assert flow()[:3] == ["(start) -> welcome", "welcome -> closed", "closed -> voicemail"]
    # the message is kept under the name the flow made from `now.date`, in the flow's zone
    names = {f"after-hours-{day}-{call.flow}" for day in (today, today + timedelta(days=1))}
    stored = {recording["name"] for recording in ari("GET", "recordings/stored")} & names
    for name in stored:
        ari("DELETE", f"recordings/stored/{name}")
    assert len(stored) == 1, names
