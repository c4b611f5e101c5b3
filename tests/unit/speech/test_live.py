"""Speech as `serve` sets it up: the media server opens a port only for flows that say
something, and the texts with no template are rendered as the flows load."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from flowrunner.cli import build_parser
from flowrunner.engine.machine import CompiledFlow, compile_flow
from flowrunner.flow import load_flow
from flowrunner.ports import SpeechRequest
from flowrunner.speech.live import LiveSpeech
from flowrunner.speech.plain import plain_texts

REPO = Path(__file__).parents[3]


def flow(name: str) -> CompiledFlow:
    return compile_flow(load_flow(str(REPO / "flows" / f"{name}.yaml")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live(tmp_path: Path, *options: str) -> LiveSpeech:
    args = build_parser({}).parse_args(["serve", "x.yaml", "--speech-dir", str(tmp_path), *options])
    return LiveSpeech(args, lambda: None)


def test_only_texts_with_no_template_are_rendered_ahead() -> None:
    texts = plain_texts([flow("tts-greeting"), flow("ivr-menu")])
    assert texts == {SpeechRequest("Hello, and thank you for calling.")}


def test_flows_that_say_nothing_open_no_port(tmp_path: Path) -> None:
    speech = live(tmp_path, "--speech-listen", f"127.0.0.1:{free_port()}")
    speech.loaded([flow("ivr-menu")])
    assert speech.server is None
    speech.close()


def test_a_flow_that_says_something_starts_the_server_and_its_plain_text_renders(
    tmp_path: Path,
) -> None:
    port = free_port()
    speech = live(tmp_path, "--speech-listen", f"127.0.0.1:{port}")
    try:
        speech.loaded([flow("tts-greeting")])
        assert speech.server is not None
        assert speech.server.address == ("127.0.0.1", port)
        assert speech.service.url == f"http://127.0.0.1:{port}/speech"
        deadline = time.monotonic() + 20
        while not list(tmp_path.glob("*.wav")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list(tmp_path.glob("*.wav"))) == 1  # espeak-ng and sox, for real
    finally:
        speech.close()


def test_with_no_server_asterisk_reads_the_cache_directory(tmp_path: Path) -> None:
    speech = live(tmp_path, "--speech-listen", "none")
    speech.loaded([flow("tts-greeting")])
    assert speech.server is None
    assert speech.service.url == str(tmp_path)
    speech.close()


@pytest.mark.parametrize(
    "option",
    [["--speech-engine", "festival"], ["--speech-listen", "8077"], ["--speech-cache-mb", "x"]],
)
def test_bad_speech_options_are_usage_errors(option: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser({}).parse_args(["serve", "x.yaml", *option])
    assert raised.value.code == 2


def test_a_missing_engine_is_logged_as_an_error_at_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    speech = live(tmp_path, "--speech-listen", "none", "--speech-engine", "command:no-such-tts")
    speech.loaded([flow("ivr-menu")])
    assert not [m for m in caplog.messages if "not installed" in m]  # no say: nothing to check
    speech.loaded([flow("tts-greeting")])
    speech.close()
    assert "speech: no-such-tts is not installed: every say will fail" in caplog.messages
