"""How the engine words what it reports: event lines and outcome names, for the journal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..ports import Event, Journal, Response, to_text

if TYPE_CHECKING:
    from .call import Call


class Fanout:
    """A journal that hands every record to several: the log, and observers such as metrics
    or traces, so none of them is known to the engine. Each gets its own copy of the fields."""

    def __init__(self, *journals: Journal) -> None:
        self.journals = journals
        self._wanted: dict[tuple[str, str], tuple[Journal, ...]] = {}  # who reads each kind

    def record(self, channel: str, kind: str, message: str, **fields: Any) -> None:
        for journal in self._readers(kind, fields.get("level", "info")):
            journal.record(channel, kind, message, **dict(fields))

    def wants(self, kind: str, level: str) -> bool:
        return bool(self._readers(kind, level))

    def _readers(self, kind: str, level: str) -> tuple[Journal, ...]:
        readers = self._wanted.get((kind, level))
        if readers is None:
            readers = tuple(j for j in self.journals if j.wants(kind, level))
            self._wanted[(kind, level)] = readers
        return readers


def tell(journal: Journal, call: Call, kind: str, message: str, **fields: Any) -> None:
    """A record of `call`: named by its channel, for people, and with its id (`id`) for the
    journals that keep calls apart (traces, metrics): names repeat across Asterisk servers."""
    journal.record(call.channel_name, kind, message, id=call.channel_id, **fields)


def record_event(
    journal: Journal, call: Call, event: Event, who: str = "", hide: bool = False
) -> None:
    level = "debug" if event.type == "ChannelVarset" else "info"  # five a call
    if not journal.wants("event", level):
        return
    line = event_line(event, who, hide)
    detail = event_fields(event, hide, call.secrets)
    tell(journal, call, "event", line, event=event.type, fields=detail, level=level)


# The nested objects of an event, kept by what identifies them (a channel's whole caller ID,
# dialplan and variables are in the start record, and would make every line ten times longer).
_SECTION_KEYS = ("id", "name", "state", "media_uri", "target_uri", "format", "duration")


def event_fields(event: Event, hide: bool = False, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """An event's fields for the journal: its own values, each nested object by its id, name
    and state; a hidden key press as ***, the call's secrets masked."""
    detail: dict[str, Any] = {}
    for key, value in event.fields.items():
        if key in ("type", "application", "asterisk_id"):
            continue
        if isinstance(value, dict):
            value = {k: value[k] for k in _SECTION_KEYS if k in value}
        detail[str(key)] = masked(value, secrets)
    if hide and "digit" in detail:
        detail["digit"] = "***"
    return detail


def recorded(event: Event, hide: bool, secrets: Sequence[str]) -> Mapping[str, Any]:
    """An event's frame as a recorder may keep it: a hidden key press as ***, a channel
    variable holding a secret masked; otherwise the frame itself."""
    if not hide and not (secrets and event.type == "ChannelVarset"):
        return event.fields
    fields = dict(event.fields)
    if hide:
        fields["digit"] = "***"
    if "value" in fields:
        fields["value"] = masked(fields["value"], secrets)
    return fields


def masked(value: Any, secrets: Sequence[str]) -> Any:
    """`value` with the call's secrets (a collected PIN) masked as ***; a value that is not
    text and holds one becomes its text, masked."""
    if not secrets:
        return value
    text = value if isinstance(value, str) else to_text(value)
    if not any(secret in text for secret in secrets):
        return value
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def step_params(params: Mapping[str, Any], secrets: Sequence[str]) -> dict[str, Any]:
    """An action's rendered parameters for the journal: a web request's headers and body never
    (tokens), its URL without credentials and query (an API key); the call's secrets masked."""
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("headers", "body"):
            value = "(not shown)"
        elif key == "url" and isinstance(value, str):
            parts = urlsplit(value)
            value = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
        shown[key] = masked(value, secrets)
    return shown


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
    fields = {"flow": call.flow_name, "version": version, "caller": caller, "exten": exten}
    return message, fields | {"path": call.compiled.flow.path}
