"""Speech engines run without a shell: caller text reaches the command as data (stdin, or one
argument), never as syntax, a path or an option. A fake engine (a Python script) records what
it got."""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flowrunner.ports import SpeechRequest
from flowrunner.speech.engines import (
    CommandEngine,
    EspeakEngine,
    SpeechError,
    engine_for,
    filled,
)

HOSTILE = "$(touch pwned); rm -rf ../.. `id` | > /etc/passwd {out} \"' \\ \n--help"
RECORDER = """
import json, sys
record = {"argv": sys.argv[1:], "stdin": sys.stdin.read()}
out = [a for a in sys.argv[1:] if a.endswith("spoken.wav")]
data = json.dumps(record).encode()
(open(out[0], "wb") if out else sys.stdout.buffer).write(data)
sys.exit(int(__import__("os").environ.get("EXIT", "0")))
"""


@pytest.fixture
def recorder(tmp_path: Path) -> str:
    script = tmp_path / "engine.py"
    script.write_text(RECORDER)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def rendered(engine: CommandEngine, request: SpeechRequest, tmp_path: Path) -> dict[str, object]:
    out = tmp_path / "spoken.wav"
    engine.render(request, out, timeout=10)
    return dict(json.loads(out.read_text()))


def test_text_goes_on_stdin_byte_for_byte_when_the_command_does_not_place_it(
    recorder: str, tmp_path: Path
) -> None:
    engine = CommandEngine(f"{recorder} --voice {{voice}} -o {{out}}")
    got = rendered(engine, SpeechRequest(HOSTILE, "en-us"), tmp_path)
    assert got == {
        "argv": ["--voice", "en-us", "-o", str(tmp_path / "spoken.wav")],
        "stdin": HOSTILE,
    }
    assert not (tmp_path / "pwned").exists()


def test_text_placed_in_the_command_is_one_argument_never_expanded_again(
    recorder: str, tmp_path: Path
) -> None:
    engine = CommandEngine(f"{recorder} -t {{text}} -o {{out}}")
    got = rendered(engine, SpeechRequest(HOSTILE), tmp_path)
    assert got["argv"] == ["-t", HOSTILE, "-o", str(tmp_path / "spoken.wav")]  # {out} stayed
    assert got["stdin"] == ""


def test_a_value_never_turns_an_argument_into_an_option() -> None:
    assert filled("{text}", {"text": "--output=/etc/passwd"}) == " --output=/etc/passwd"
    assert filled("--text={text}", {"text": "-x"}) == "--text=-x"  # already an option: its value
    assert filled("{voice}", {"voice": "en"}) == "en"


def test_without_out_the_wav_is_read_from_stdout(recorder: str, tmp_path: Path) -> None:
    got = rendered(CommandEngine(recorder), SpeechRequest("hi"), tmp_path)
    assert got == {"argv": [], "stdin": "hi"}


def test_a_failing_command_is_a_speech_error_that_does_not_repeat_the_text(
    recorder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIT", "3")
    with pytest.raises(SpeechError, match=r"^python[0-9.]* failed \(exit 3\)$") as raised:
        CommandEngine(recorder).render(SpeechRequest("secret name"), tmp_path / "o.wav", 10)
    assert "secret" not in str(raised.value)


def test_a_command_that_hangs_is_killed_at_the_timeout(tmp_path: Path) -> None:
    engine = CommandEngine(f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(30)'")
    with pytest.raises(SpeechError, match=r"took more than 0\.3s"):
        engine.render(SpeechRequest("hi"), tmp_path / "o.wav", timeout=0.3)


def test_a_missing_program_or_a_nul_in_an_argument_is_a_speech_error(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="could not run"):
        CommandEngine("no-such-tts-engine").render(SpeechRequest("hi"), tmp_path / "o.wav", 5)
    with pytest.raises(SpeechError, match="could not run"):
        CommandEngine("true {text}").render(SpeechRequest("a\0b"), tmp_path / "o.wav", 5)


def test_engines_are_named_on_the_command_line() -> None:
    assert isinstance(engine_for("espeak-ng"), EspeakEngine)
    assert engine_for("command:flite -o {out}").name == "command:flite -o {out}"
    assert engine_for("http:http://tts.local/say").name == "http:http://tts.local/say"
    for bad in ("festival", "command:", "command:'unclosed", "http:ftp://x"):
        with pytest.raises(ValueError):  # noqa: PT011 (each its own message)
            engine_for(bad)


def test_espeak_ng_reads_the_text_on_stdin_and_writes_a_wav(tmp_path: Path) -> None:
    out = tmp_path / "spoken.wav"
    elsewhere = tmp_path / "elsewhere.wav"
    EspeakEngine().render(SpeechRequest(f"-w {elsewhere} --help", lang="en"), out, timeout=20)
    assert out.read_bytes()[:4] == b"RIFF"
    assert not elsewhere.exists()


class TtsService(BaseHTTPRequestHandler):
    """Answers a POST with a 'WAV' holding the JSON it got; /fail with 500; /big with 65 MB."""

    def do_POST(self) -> None:
        got = self.rfile.read(int(self.headers["Content-Length"]))
        body = got if self.path == "/ok" else b"x" * (65 * 2**20)
        self.send_response(500 if self.path == "/fail" else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may stop reading a big one
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TtsService)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_engine_posts_the_text_as_json_and_keeps_the_answer(
    service: str, tmp_path: Path
) -> None:
    out = tmp_path / "spoken.wav"
    engine = engine_for(f"http:{service}/ok")
    engine.render(SpeechRequest(HOSTILE, "v", "en"), out, timeout=5)
    assert json.loads(out.read_bytes()) == {"text": HOSTILE, "voice": "v", "lang": "en"}


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/fail", "answered 500"),
        ("/big", "more than 64 MB"),
    ],
)
def test_an_http_engine_refuses_failures_and_huge_answers(
    service: str, tmp_path: Path, path: str, error: str
) -> None:
    with pytest.raises(SpeechError, match=error):
        engine_for(f"http:{service}{path}").render(SpeechRequest("hi"), tmp_path / "o.wav", 5)


def test_an_http_engine_that_cannot_connect_is_a_speech_error(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match=r"failed \(ConnectionError\)"):
        engine_for("http:http://127.0.0.1:9/tts").render(SpeechRequest("hi"), tmp_path / "o", 5)
