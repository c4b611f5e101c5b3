"""A recorded call (`serve --record DIR`) as a flow test case: what the caller and the world
did, read from the call's ARI events and replies, and what the flow did, as expectations.

The case's inputs: the caller's number, name, extension and Stasis arguments; each key press
and the hang-up (when the caller hung up first), at their times; how long each sound played
(`media`: the simulator plays others 1 s); the requests that failed (`ari`); the values
`get_variable` read; what each web service answered and when (`http`); the time of the call
(`at`, for a flow that reads the clock). Its expectations: every ARI action the call made, in
order, and who ended it. The times expected are those of the simulator, which is checked to
retrace the recorded call on the flow version it ran (same actions, same order); when it does
not, the case expects the recorded times, and fails, showing where they part.

Everything of the case format is made here (one module to extend with the format).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..engine.machine import CompiledFlow
from ..flow.durations import parse_duration
from ..observe.callfiles import read_lines
from ..ports import to_text
from ..sim.run import simulate
from ..sim.web import CannedReply
from ..steps import ACTIONS
from .cases import caller_step, channel_of, parse_moment

LEAVES = frozenset({"hangup", *(name for name, spec in ACTIONS.items() if spec.leaves)})
KEYS = "0123456789ABCD*#"  # what a flow test's caller may press
STOPPED_MARGIN = 1.0  # a sound stopped before its end plays this much longer in the replay


@dataclass
class Recording:
    """A recorded call: its start, and its events and replies, each at seconds from the start,
    unrounded: a request's send time is its reply's time less how long it took, and two requests
    sent a fraction of a millisecond apart keep their order only at full precision."""

    start: dict[str, Any]
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    began: float = 0.0  # wall-clock time of the StasisStart

    @property
    def channel(self) -> str:
        return to_text(self.start.get("channel", ""))


def read_recording(path: Path) -> Recording:
    """The recording in a file; ValueError when it is none."""
    entries = read_lines(path)
    if not entries or entries[0].get("kind") != "start":
        raise ValueError(f"{path} is not a recorded call (serve --record DIR writes them)")
    recording = Recording(entries[0])
    began = next((_t(e) for e in entries if _type(e) == "StasisStart"), _t(entries[0]))
    recording.began = began
    for entry in entries[1:]:
        at = max(0.0, _t(entry) - began)
        if entry.get("kind") == "event" and isinstance(entry.get("event"), dict):
            recording.events.append((at, entry["event"]))
        elif entry.get("kind") == "reply":
            recording.replies.append((at, entry))
    return recording


@dataclass
class Replay:
    case: dict[str, Any]  # the case, as the test file writes it
    notes: list[str]  # what the case cannot say of the call, and why
    retraced: bool  # the simulator retraced the call on the version it ran


def replay(
    recording: Recording, ran: CompiledFlow | None, name: str, uses_time: bool = False
) -> Replay:
    """The case for a recording; `ran` is the flow version the call ran (None when that
    version is not at hand: the recorded times are expected then)."""
    notes: list[str] = []
    case: dict[str, Any] = {"name": name, **_call(recording)}
    if uses_time:
        moment = datetime.fromtimestamp(recording.began, UTC)
        case["at"] = moment.isoformat(timespec="milliseconds")
    for key, value in (
        ("caller", _caller(recording, notes)),
        ("media", _media(recording)),
        ("ari", _failures(recording, notes)),
        ("http", _web(recording, notes)),
    ):
        if value:
            case[key] = value
    real = _actions(recording)
    simulated = _simulated(ran, case) if ran else None
    retraced = simulated is not None and [a for _, a in simulated[0]] == [a for _, a in real]
    if ran is None:
        notes.append("the flow version the call ran is not at hand: recorded times expected")
    elif not retraced:
        notes.append("the simulator does not retrace the call: recorded times expected")
    actions = simulated[0] if simulated and retraced else real
    case["expect"] = {"actions": [f"{_seconds(at)} {action}" for at, action in actions]}
    if simulated and retraced and simulated[1]:
        case["expect"]["ended_by"] = simulated[1]
    return Replay(case, notes, retraced)


def case_file(cases: list[dict[str, Any]], flow: str, comment: str) -> str:
    """A flow test file of these cases for `flow` (relative to the file), as YAML (each value
    written as JSON, which YAML reads as it is)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [f"flow: {json.dumps(flow)}", "tests:"]
    for case in cases:
        first = True
        for key, value in case.items():
            lead = "  - " if first else "    "
            first = False
            if key == "expect":
                lines.append(f"{lead}expect:")
                lines += [f"      {k}: {_json(v)}" for k, v in value.items()]
            else:
                lines.append(f"{lead}{key}: {_json(value)}")
    return "\n".join(lines) + "\n"


# -- the inputs ------------------------------------------------------------------------------


def _call(recording: Recording) -> dict[str, Any]:
    started = next((e for _, e in recording.events if e.get("type") == "StasisStart"), {})
    channel = _section(started, "channel")
    caller, dialplan = _section(channel, "caller"), _section(channel, "dialplan")
    call: dict[str, Any] = {"channel": to_text(channel.get("name", "")) or None}
    call["caller_number"] = to_text(caller.get("number", "")) or None
    call["caller_name"] = to_text(caller.get("name", "")) or None
    call["extension"] = to_text(dialplan.get("exten", "")) or None
    args = started.get("args")
    call["args"] = [to_text(a) for a in args] if isinstance(args, list) and args else None
    variables = {
        to_text(_params(r).get("variable", "")): to_text(_section(r, "body").get("value", ""))
        for _, r in recording.replies
        if _action(r) == "get_variable" and r.get("status") == 200
    }
    call["variables"] = variables or None
    call = {key: value for key, value in call.items() if value is not None}
    return {"call": call} if call else {}


def _caller(recording: Recording, notes: list[str]) -> list[str]:
    """The caller's key presses, and its hang-up when it hung up before the flow let it go."""
    steps, left = [], _left_at(recording)
    for at, event in recording.events:
        if _channel_of(event) != recording.channel:
            continue
        kind = event.get("type")
        if kind == "ChannelDtmfReceived":
            digit = to_text(event.get("digit", ""))
            if digit == "***":
                notes.append(f"a key at {_seconds(at)} was hidden (a secret): not replayed")
            elif len(digit) == 1 and digit in KEYS:
                steps.append(f"{_seconds(at)} dtmf {digit}")
            else:
                notes.append(f"a key at {_seconds(at)} is no DTMF key: not replayed")
        elif kind in ("ChannelHangupRequest", "StasisEnd") and (left is None or at < left):
            steps.append(f"{_seconds(at)} hangup")
            break
    return steps


def _left_at(recording: Recording) -> float | None:
    """When the flow first sent a request after which the channel leaves (hangup, continue …)."""
    sent = [at - _took(r) for at, r in recording.replies if _action(r) in LEAVES]
    return min(sent) if sent else None


def _media(recording: Recording) -> dict[str, str]:
    """How long each sound played: its longest full play; a sound only ever stopped plays a
    little longer than it was heard (it is stopped at the same time in the replay)."""
    media_of = {
        to_text(r["ari"]["path"]).rsplit("/", 1)[-1]: to_text(_params(r).get("media", ""))
        for _, r in recording.replies
        if _action(r) == "play" and to_text(r.get("ari", {}).get("path", "")).count("/") == 3
    }
    stopped = {
        to_text(r["ari"]["path"]).rsplit("/", 1)[-1]: at - _took(r)
        for at, r in recording.replies
        if _action(r) == "stop_playback"
    }
    started: dict[str, float] = {}
    full: dict[str, float] = {}
    heard: dict[str, float] = {}
    for at, event in recording.events:
        playback = to_text(_section(event, "playback").get("id", ""))
        if playback not in media_of:
            continue
        media = media_of[playback]
        if event.get("type") == "PlaybackStarted":
            started[playback] = at
        elif event.get("type") == "PlaybackFinished" and playback in started:
            seconds = at - started[playback]
            if playback in stopped and stopped[playback] <= at:
                heard[media] = max(heard.get(media, 0.0), seconds + STOPPED_MARGIN)
            else:
                full[media] = max(full.get(media, 0.0), seconds)
    lengths = heard | full
    return {media: _seconds(max(seconds, 0.001)) for media, seconds in sorted(lengths.items())}


def _failures(recording: Recording, notes: list[str]) -> dict[str, int]:
    """Requests that failed (a 404 is the simulator's to give: a gone channel, an ended
    playback); a case fails only the first request of a name."""
    failed: dict[str, int] = {}
    seen: set[str] = set()
    for at, reply in recording.replies:
        action, status = _action(reply), reply.get("status")
        if not action or not isinstance(status, int):
            continue
        if status == 0:
            notes.append(f"{action} at {_seconds(at)} got no answer: not replayed")
        elif status >= 400 and status != 404:
            if action in seen:
                notes.append(f"{action} failed at {_seconds(at)}, not its first: not replayed")
            else:
                failed[action] = status
        seen.add(action)
    return failed


def _web(recording: Recording, notes: list[str]) -> list[dict[str, Any]]:
    """Each web service's answer, matched by method and URL (without its query)."""
    replies: list[dict[str, Any]] = []
    for at, reply in recording.replies:
        web = reply.get("web")
        if not isinstance(web, dict):
            continue
        url = "*" + _literal(to_text(web.get("url", "")).split("://", 1)[-1]) + "*"
        method = to_text(web.get("method", ""))
        if any(r["url"] == url and r["method"] == method for r in replies):
            notes.append(f"{method} {url} again at {_seconds(at)}: the first answer is replayed")
            continue
        answer: dict[str, Any] = {"url": url, "method": method}
        status = reply.get("status")
        if status == 0:
            if "time" not in to_text(reply.get("error", "")).lower():
                continue  # could not connect: a request nothing matches does the same
            answer["timeout"] = True
        else:
            answer["status"] = status
            if reply.get("body") is not None:
                answer["json"] = reply["body"]
            answer["after"] = _seconds(_took(reply))
        replies.append(answer)
    return replies


# -- the expectations ------------------------------------------------------------------------


def _actions(recording: Recording) -> list[tuple[float, str]]:
    """The call's ARI requests, in the order they were sent, at the time they were sent."""
    sent = [(at - _took(r), _action(r)) for at, r in recording.replies if _action(r)]
    sent.sort(key=lambda s: s[0])  # stable: a tie keeps the order the replies came in
    return [(round(max(0.0, at), 3), action) for at, action in sent]


def _simulated(compiled: CompiledFlow, case: dict[str, Any]) -> tuple[list[tuple[float, str]], str]:
    """The case's call on the simulator: the actions it makes, and who ends it."""
    channel = channel_of(case.get("call", {}))
    replies = [
        CannedReply(
            r["url"],
            r["method"],
            r.get("status", 200),
            r.get("json"),
            parse_duration(r.get("after", "0s"), allow_zero=True),
            r.get("timeout", False),
        )
        for r in case.get("http", [])
    ]
    media = {k: parse_duration(v, allow_zero=True) for k, v in case.get("media", {}).items()}
    result = simulate(
        compiled,
        [caller_step(text) for text in case.get("caller", [])],
        channel=channel,
        failures=dict(case.get("ari", {})),
        replies=replies,
        at=parse_moment(case["at"]) if "at" in case else 0.0,
        media=media,
    )
    return [(round(s.at, 3), s.action) for s in result.sent], result.ended_by


# -- small helpers ---------------------------------------------------------------------------


def _t(entry: dict[str, Any]) -> float:
    value = entry.get("t")
    return float(value) if isinstance(value, int | float) else 0.0


def _type(entry: dict[str, Any]) -> str:
    event = entry.get("event")
    return to_text(event.get("type", "")) if isinstance(event, dict) else ""


def _section(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _channel_of(event: dict[str, Any]) -> str:
    return to_text(_section(event, "channel").get("id", ""))


def _action(reply: dict[str, Any]) -> str:
    return to_text(_section(reply, "ari").get("action", ""))


def _params(reply: dict[str, Any]) -> dict[str, Any]:
    return _section(_section(reply, "ari"), "params")


def _took(reply: dict[str, Any]) -> float:
    value = reply.get("seconds")
    return float(value) if isinstance(value, int | float) else 0.0


def _seconds(value: float) -> str:
    text = f"{max(0.0, value):.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _literal(text: str) -> str:
    """`text` as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
