"""Hints for the mistakes newcomers make: what to write instead, in flowrunner's words.

An Asterisk user writes the dialplan's application names (`Playback`, `Read`), a number where a
duration or a key goes (`timeout: 20`, `digit: 1`), a duration in words (`2 sec`). Each gets the
spelling flowrunner wants.
"""

from __future__ import annotations

import re
from typing import Any

# Asterisk dialplan applications, as Asterisk spells them -> the flowrunner action for their job.
_DIALPLAN = {
    "Answer": "answer",
    "BackGround": "play",
    "ConfBridge": "conference",
    "Dial": "dial",
    "Goto": "continue",
    "GotoIf": "then, with when",
    "GotoIfTime": "hours, with then",
    "Hangup": "hangup",
    "MeetMe": "conference",
    "MusicOnHold": "start_moh",
    "Playback": "play",
    "Read": "collect",
    "Record": "record",
    "Ringing": "ring",
    "SayDigits": "play, with digits:",
    "SayNumber": "play, with number:",
    "SendDTMF": "send_dtmf",
    "Set": "set (flow variables) or set_variable (channel variables)",
    "Stasis": "move",
    "Wait": "wait",
    "WaitExten": "collect",
}
DIALPLAN = {name.lower(): (name, action) for name, action in _DIALPLAN.items()}

_UNITS = {
    "ms": "ms",
    "msec": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "hours": "h",
}
_SPELLED = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def dialplan_action(name: str) -> str:
    """`; Asterisk's Playback is play here` for a dialplan application's name, else ''."""
    known = DIALPLAN.get(name.lower())
    if known is None or known[1] == name:
        return ""
    return f"; Asterisk's {known[0]} is {known[1]} here"


def duration_for(value: Any) -> str:
    """The duration a number or a spelled-out text means (`20` -> `20s`, `2 sec` -> `2s`)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return ""
    match = _SPELLED.match(str(value))
    if not match:
        return ""
    number, unit = match.groups()
    found = _UNITS.get(unit.lower(), "") if unit else "s"
    return f"{number}{found}" if found else ""


def quoted(value: Any) -> str:
    """A number written where text goes, as the text to write: `"1"`."""
    text = str(value)
    return f'"{text}"'
