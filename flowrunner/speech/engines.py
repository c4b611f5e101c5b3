"""Speech engines: a command that writes a WAV file of the text, run without a shell.

`espeak-ng` (the default, a Debian package) reads the text on stdin. `command:ARGV` runs any
other engine (flite, piper …): ARGV is split as a shell would split it (it is the operator's),
then `{text}`, `{voice}`, `{lang}` and `{out}` are filled in each argument, once (a filled-in
value is never read for placeholders again). Without `{text}` the text goes on stdin; without
`{out}` the WAV is read from stdout. A value never turns an argument into an option: one that
would start with `-` is given a leading space.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
from pathlib import Path
from typing import Protocol

from ..ports import SpeechRequest

PLACEHOLDER = re.compile(r"\{(text|voice|lang|out)\}")


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


def filled(item: str, values: dict[str, str]) -> str:
    """One argument with its placeholders filled in, in one pass."""
    result = PLACEHOLDER.sub(lambda match: values[match.group(1)], item)
    return f" {result}" if result.startswith("-") and not item.startswith("-") else result


def engine_for(spec: str) -> Engine:
    """The engine `--speech-engine` names: `espeak-ng`, or `command:ARGV`."""
    if spec == "espeak-ng":
        return EspeakEngine()
    if spec.startswith("command:"):
        return CommandEngine(spec.removeprefix("command:"))
    raise ValueError(f"unknown speech engine {spec!r}: espeak-ng or command:ARGV")


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
