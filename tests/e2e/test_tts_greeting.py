"""The tts-greeting flow on a real Asterisk: `say` renders the greeting with espeak-ng, and
Asterisk fetches it over HTTP from flowrunner's media server and plays it to the caller.

A CRM in this process answers GET /customers?number=N (the caller's number is the originate's
`callerId`). Ports, the app name and the speech cache are the test's own, so it can run beside
other runners on the shared sandbox.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import wave
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import (
    Call,
    Runner,
    ari,
    assert_clean,
    flow_copy,
    lines_of,
    place_call,
    probing,
    serving,
    wait_until,
)
from test_local_channel import Probe

APP = "tts-greeting-e2e"
BARGE_IN = "tts-greeting-e2e-keys"  # a copy where a key leaves the greeting by name
BROKEN = "tts-greeting-e2e-broken"  # served by a runner whose speech engine always fails
NAMES = {
    "200": "Ada",
    "666": "$(touch /tmp/flowrunner-pwned); rm -rf ../.. `id` | -v --help > /etc/x",
}
GREETING = "Hello {}, welcome back. Thank you for calling."
PLAIN = "Hello, and thank you for calling."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CrmHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        number = parse_qs(urlsplit(self.path).query).get("number", [""])[0]
        name = NAMES.get(number)
        status, body = (200, {"name": name}) if name else (404, {"error": "not found"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def crm() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), CrmHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="module")
def listen() -> str:
    """Where flowrunner's media server listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def greeter(
    asterisk: None,
    crm: int,
    speech_dir: Path,
    listen: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Runner]:
    directory = tmp_path_factory.mktemp("tts-greeting")
    changes = {"crm: http://127.0.0.1:8099": f"crm: http://127.0.0.1:{crm}"}
    flow = flow_copy(directory, "tts-greeting", APP, changes)
    keys = "      ActionFailed: recorded\n      ChannelDtmfReceived: hang_up\n\n  plain:"
    barge_in = flow_copy(
        directory,
        "tts-greeting",
        BARGE_IN,
        changes | {"      ActionFailed: recorded\n\n  plain:": keys},
    )
    options = ("--speech-dir", str(speech_dir), "--speech-listen", listen)
    with serving(directory / "serve.log", flow, barge_in, options=options) as runner:
        yield runner


@pytest.fixture
def probe(greeter: Runner) -> Iterator[Probe]:
    with probing(greeter) as probe:
        yield probe


def at(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["time"]).timestamp()


def greeted(runner: Runner, call: Call) -> dict[str, dict[str, Any]]:
    """Wait for the call to be over; its log lines: the speech ready, Asterisk's fetch of it
    (if any), and the playback's start and finish."""
    wait_until(lambda: lines_of(runner, call.name, kind="end"), 30, "the call to end")
    (ready,) = lines_of(runner, call.name, kind="action", action="say")
    lines = {"ready": ready}
    for line in runner.lines():
        if line.get("speech") == key_of(ready) and line["message"].endswith("fetched by 127.0.0.1"):
            lines["fetched"] = line
    (lines["started"],) = lines_of(runner, call.name, kind="event", event="PlaybackStarted")
    (lines["finished"],) = lines_of(runner, call.name, kind="event", event="PlaybackFinished")
    return lines


def key_of(ready: dict[str, Any]) -> str:
    """The hash the speech ready line's media names: sound:http://…/speech/HASH.wav."""
    return str(ready["media"]).rsplit("/", 1)[-1].removesuffix(".wav")


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        return audio.getnframes() / audio.getframerate()


def played_through(lines: dict[str, dict[str, Any]], seconds: float) -> None:
    """PlaybackFinished came after about the WAV's length (on a busy machine: later, never
    much earlier), so Asterisk played it rather than refusing it."""
    played = at(lines["finished"]) - at(lines["started"])
    assert seconds * 0.5 <= played <= seconds + 5, (seconds, played)


def rendered(runner: Runner, key: str) -> list[dict[str, Any]]:
    return [
        line
        for line in runner.lines()
        if line.get("speech") == key and " rendered in " in line["message"]
    ]


def test_a_known_caller_hears_their_name_fetched_from_flowrunner_and_played_through(
    greeter: Runner, probe: Probe, speech_dir: Path, listen: str
) -> None:
    call = place_call(APP, probe, callerId="200")
    lines = greeted(greeter, call)
    key = key_of(lines["ready"])
    assert lines["ready"]["media"] == f"sound:http://{listen}/speech/{key}.wav"
    # Asterisk fetched the rendering from flowrunner's server while it played it
    assert "fetched" in lines, greeter.text()
    assert at(lines["ready"]) <= at(lines["fetched"]) <= at(lines["finished"])
    seconds = wav_seconds(speech_dir / f"{key}.wav")
    text = GREETING.format("Ada")
    assert 0.03 * len(text) < seconds < 0.15 * len(text)  # espeak-ng speaks ~16 characters/s
    assert abs(lines["ready"]["seconds"] - seconds) < 0.01
    played_through(lines, seconds)
    (done,) = lines_of(greeter, call.name, kind="transition", target="hang_up")
    assert (done["source"], done["reason"]) == ("by_name", "playback finished")


def test_an_unknown_caller_hears_the_plain_greeting_rendered_when_the_flow_loaded(
    greeter: Runner, probe: Probe, speech_dir: Path
) -> None:
    call = place_call(APP, probe, callerId="404")
    lines = greeted(greeter, call)
    key = key_of(lines["ready"])
    (start,) = lines_of(greeter, call.name, kind="start")
    (made,) = rendered(greeter, key)  # once, and before the call
    assert at(made) <= at(start)
    seconds = wav_seconds(speech_dir / f"{key}.wav")
    assert 0.03 * len(PLAIN) < seconds < 0.15 * len(PLAIN)
    played_through(lines, seconds)
    (done,) = lines_of(greeter, call.name, kind="transition", target="hang_up")
    assert done["source"] == "plain"


def test_a_hostile_name_is_only_spoken(greeter: Runner, probe: Probe, speech_dir: Path) -> None:
    pwned = Path("/tmp/flowrunner-pwned")
    pwned.unlink(missing_ok=True)
    call = place_call(APP, probe, callerId="666")
    lines = greeted(greeter, call)
    key = key_of(lines["ready"])
    seconds = wav_seconds(speech_dir / f"{key}.wav")
    assert seconds > 0.03 * len(GREETING.format(NAMES["666"]))  # all of it was read out
    played_through(lines, seconds)
    assert not pwned.exists()
    names = sorted(path.name for path in speech_dir.iterdir())
    assert all(re.fullmatch(r"[0-9a-f]{64}\.wav", name) for name in names if name != ".work")
    assert f"{key}.wav" in names
    assert not list((speech_dir / ".work").iterdir())  # nothing half-rendered left behind


def test_a_key_stops_the_greeting_mid_sentence(greeter: Runner, probe: Probe) -> None:
    call = place_call(BARGE_IN, probe, callerId="666")  # the long greeting: 10 s
    wait_until(
        lambda: lines_of(greeter, call.name, kind="event", event="PlaybackStarted"),
        10,
        "the greeting to start",
    )
    ari("POST", f"channels/{call.phone}/dtmf", dtmf="5")
    lines = greeted(greeter, call)
    played = at(lines["finished"]) - at(lines["started"])
    assert played < lines["ready"]["seconds"] / 2, played  # stopped, not played to its end
    (done,) = lines_of(greeter, call.name, kind="transition", target="hang_up")
    assert done["reason"] != "playback finished"
    assert lines_of(greeter, call.name, kind="action", action="stop_playback")


def test_speech_that_fails_is_action_failed_and_the_recorded_greeting_plays(
    asterisk: None, crm: int, tmp_path: Path
) -> None:
    changes = {"crm: http://127.0.0.1:8099": f"crm: http://127.0.0.1:{crm}"}
    flow = flow_copy(tmp_path, "tts-greeting", BROKEN, changes)
    options = ("--speech-engine", "command:false", "--speech-dir", str(tmp_path / "speech"))
    options += ("--speech-listen", f"127.0.0.1:{free_port()}")
    runner = Runner(tmp_path / "serve.log", flow, options=options)
    try:
        runner.wait_connected()
        probe = Probe()
        try:
            call = place_call(BROKEN, probe, callerId="200")
            wait_until(lambda: lines_of(runner, call.name, kind="end"), 30, "the call to end")
        finally:
            probe.close()
    finally:
        code = runner.stop()
    assert code == 0, runner.text()
    assert_clean(runner)  # a failure the flow handles is a warning, not an error
    (failed,) = lines_of(runner, call.name, kind="error", action="say")
    assert failed["message"].endswith("say failed: speech failed: false failed (exit 1)")
    assert [line["target"] for line in lines_of(runner, call.name, kind="transition")] == [
        "lookup",
        "by_name",
        "recorded",
        "hang_up",
        "ended",
    ]
    (finished,) = lines_of(runner, call.name, kind="event", event="PlaybackFinished")
    (started,) = lines_of(runner, call.name, kind="event", event="PlaybackStarted")
    assert at(finished) - at(started) > 0.5  # hello-world, about 1.4 s, played
