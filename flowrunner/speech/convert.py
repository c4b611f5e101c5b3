"""The conversion of an engine's WAV to what Asterisk plays as `wav`: 8 kHz, mono, 16-bit.

sox does it, whatever the engine wrote: espeak-ng has no option for its rate (it writes
22,050 Hz), and other engines write others (flite 16 kHz, piper 22,050 Hz). Python's own
`audioop`, which could resample, is gone from Python 3.13.
"""

from __future__ import annotations

import wave
from pathlib import Path

from .engines import SpeechError, run

RATE = 8000


def to_telephone(source: Path, target: Path, timeout: float) -> None:
    """`target` (a .wav) is `source` at 8 kHz mono 16-bit signed PCM."""
    argv = ["sox", str(source), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
    run([*argv, str(target)], b"", None, timeout)


def seconds(path: Path) -> float:
    """How long a WAV file plays."""
    try:
        with wave.open(str(path), "rb") as audio:
            return audio.getnframes() / audio.getframerate()
    except (OSError, EOFError, wave.Error) as error:
        raise SpeechError(f"not a WAV file ({type(error).__name__})") from None
