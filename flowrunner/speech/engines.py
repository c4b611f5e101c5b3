"""Speech engines: a command that writes a WAV file of the text, run without a shell; or a
TTS service over HTTP.

`espeak-ng` (the default, a Debian package) reads the text on stdin. `command:ARGV` runs any
other engine (flite, piper …): ARGV is split as a shell would split it (it is the operator's),
then `{text}`, `{voice}`, `{lang}` and `{out}` are filled in each argument, once (a filled-in
value is never read for placeholders again). Without `{text}` the text goes on stdin; without
`{out}` the WAV is read from stdout. A value never turns an argument into an option: one that
would start with `-` is given a leading space.

`http:URL` asks a TTS service: a POST of `{"text", "voice", "lang"}` as JSON, answered with the
WAV (status 200; no redirects, no credentials from the environment, at most MAX_WAV_BYTES).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Protocol

import requests

from ..ports import SpeechRequest

PLACEHOLDER = re.compile(r"\{(text|voice|lang|out)\}")
MAX_WAV_BYTES = 64_000_000  # 2000 characters at 48 kHz stereo 16-bit fit, with room to spare


class SpeechError(Exception):
    """Speech could not be rendered; the message names no caller data."""


class Engine(Protocol):
    @property
    def name(self) -> str:
        """What the engine is, for the cache key: another engine (or template) says it anew."""

    @property
    def program(self) -> str:
        """The command it runs."""

    def render(self, request: SpeechRequest, out: Path, timeout: float) -> None:
        """Write the request's speech to `out` as a WAV file (any rate), or raise SpeechError."""


class EspeakEngine:
    name = program = "espeak-ng"

    def render(self, request: SpeechRequest, out: Path, timeout: float) -> None:
        voice = request.voice or request.lang
        argv = [
            "espeak-ng",
            "--stdin",
            "-b",
            "1",
            "-w",
            str(out),
            *(["-v", voice] if voice else []),
        ]
        run(argv, request.text.encode(), None, timeout)


class CommandEngine:
    def __init__(self, template: str) -> None:
        self.argv = shlex.split(template)
        if not self.argv:
            raise ValueError("the speech command is empty")
        self.name, self.program = f"command:{template}", self.argv[0]
        self.text_on_stdin = not any("{text}" in item for item in self.argv)
        self.wav_on_stdout = not any("{out}" in item for item in self.argv)

    def render(self, request: SpeechRequest, out: Path, timeout: float) -> None:
        values = {"text": request.text, "voice": request.voice, "lang": request.lang}
        values["out"] = str(out)
        argv = [filled(item, values) for item in self.argv]
        stdin = request.text.encode() if self.text_on_stdin else b""
        run(argv, stdin, out if self.wav_on_stdout else None, timeout)


class HttpEngine:
    program = ""  # nothing to install

    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url, self.name = url, f"http:{url}"
        self.session = requests.Session()
        self.session.trust_env = False  # no ~/.netrc credentials, no proxy from the environment

    def render(self, request: SpeechRequest, out: Path, timeout: float) -> None:
        body = {"text": request.text, "voice": request.voice, "lang": request.lang}
        try:
            with self.session.post(
                self.url, json=body, timeout=timeout, stream=True, allow_redirects=False
            ) as reply:
                if reply.status_code != 200:
                    raise SpeechError(f"the speech service answered {reply.status_code}")
                _save(reply, out, time.monotonic() + timeout)
        except requests.RequestException as error:
            raise SpeechError(f"the speech service failed ({type(error).__name__})") from None


def _save(reply: requests.Response, out: Path, deadline: float) -> None:
    """The reply's body into `out`, bounded in size and (between reads) in time: a service
    that drips its answer does not hold a worker for long."""
    size = 0
    with out.open("wb") as audio:
        for chunk in reply.iter_content(65_536):
            size += len(chunk)
            if size > MAX_WAV_BYTES:
                raise SpeechError("the speech service answered more than 64 MB")
            if time.monotonic() > deadline:
                raise SpeechError("the speech service took too long")
            audio.write(chunk)


def filled(item: str, values: dict[str, str]) -> str:
    """One argument with its placeholders filled in, in one pass."""
    result = PLACEHOLDER.sub(lambda match: values[match.group(1)], item)
    return f" {result}" if result.startswith("-") and not item.startswith("-") else result


def engine_for(spec: str) -> Engine:
    """The engine `--speech-engine` names: `espeak-ng`, `command:ARGV` or `http:URL`."""
    if spec == "espeak-ng":
        return EspeakEngine()
    if spec.startswith("command:"):
        return CommandEngine(spec.removeprefix("command:"))
    if spec.startswith("http:"):
        return HttpEngine(spec.removeprefix("http:"))
    raise ValueError(f"unknown speech engine {spec!r}: espeak-ng, command:ARGV or http:URL")


def run(argv: list[str], stdin: bytes, stdout: Path | None, timeout: float) -> None:
    """Run a command to its end (killed at `timeout`); SpeechError unless it exits 0. Its
    stderr is not reported: it may echo the text."""
    program = Path(argv[0]).name
    try:
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(stdout.open("wb")) if stdout else subprocess.DEVNULL
            done = subprocess.run(
                argv, input=stdin, stdout=sink, stderr=subprocess.DEVNULL, timeout=timeout
            )
    except subprocess.TimeoutExpired:
        raise SpeechError(f"{program} took more than {timeout:g}s") from None
    except (OSError, ValueError) as error:  # not installed; a NUL in an argument
        raise SpeechError(f"{program} could not run ({type(error).__name__})") from None
    if done.returncode != 0:
        raise SpeechError(f"{program} failed (exit {done.returncode})")
