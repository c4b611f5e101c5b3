"""How the engine words what it reports: event lines and outcome names, for the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ports import Event, Journal, Response, to_text

if TYPE_CHECKING:
    from .call import Call


class Fanout:
    """A journal that hands every record to several: the log, and observers such as metrics
    or traces, so none of them is known to the engine. Each gets its own copy of the fields."""

    def __init__(self, *journals: Journal) -> None:
        self.journals = journals

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        for journal in self.journals:
            journal.record(channel, kind, message, **dict(fields))


def record_event(
    journal: Journal, channel: str, event: Event, who: str = "", hide: bool = False
) -> None:
    level = "debug" if event.type == "ChannelVarset" else "info"  # five a call
    line = event_line(event, who, hide)
    journal.record(channel, "event", line, event=event.type, level=level)


def event_line(event: Event, who: str = "", hide: bool = False) -> str:
    """`event ChannelDtmfReceived (digit 5)`: the event, and the one field that tells most."""
    detail = "a key, hidden" if hide else _detail(event)
    return f"{who}event {event.type}" + (f" ({detail})" if detail else "")


def _detail(event: Event) -> str:
    kind = event.type
    if kind == "ChannelStateChange":
        return to_text(event.section("channel").get("state", ""))
    if kind == "ChannelDtmfReceived":
        return f"digit {to_text(event.get('digit', ''))}"
    if kind == "ChannelVarset":
        return to_text(event.get("variable", ""))
    if kind in ("ChannelHangupRequest", "ChannelDestroyed"):
        return f"cause {to_text(event.get('cause', ''))}"
    if kind == "Dial":
        return to_text(event.get("dialstatus", ""))
    return ""


def reply_line(action: str, response: Response, took_ms: float) -> tuple[str, dict[str, Any]]:
    """The line for the reply to a request nobody waits for, e.g. a clean-up; a 404 is fine
    there: what it was to end had ended already."""
    ok = response.ok or response.gone
    line = f"{action} {'ok' if ok else 'failed: ' + response.describe()}"
    level = "info" if ok else "warning"
    return line, {"action": action, "status": response.status, "took_ms": took_ms, "level": level}


def start_line(call: Call) -> tuple[str, dict[str, Any]]:
    caller, exten = call.caller["number"], call.info["extension"]
    version = call.compiled.flow.version
    where = f"caller {caller or '-'}, extension {exten or '-'}; version {version}"
    message = f"entered {call.flow_name} ({where})"
    return message, {"flow": call.flow_name, "version": version, "caller": caller, "exten": exten}
