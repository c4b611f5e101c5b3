"""Durations as flows write them: `500ms`, `2s`, `1.5s`, `1m`, `1h`."""

from __future__ import annotations

import re

from .errors import excerpt

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
LONGEST = 24 * 3600.0


def parse_duration(text: str, *, allow_zero: bool = False) -> float:
    """Seconds in `text`; ValueError with a sentence saying what is wrong."""
    match = _DURATION.match(text.strip())
    shown = excerpt(text)
    if not match:
        raise ValueError(
            f"bad duration '{shown}': write a number and a unit, e.g. 500ms, 2s, 1m, 1h"
        )
    seconds = float(match.group(1)) * _SCALE[match.group(2)]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"bad duration '{shown}': it must be longer than 0")
    if 0 < seconds < 0.001:
        raise ValueError(f"bad duration '{shown}': it must be at least 1ms")
    if seconds > LONGEST:
        raise ValueError(f"bad duration '{shown}': it must be at most 24h")
    return seconds
