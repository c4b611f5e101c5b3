"""`record` and `stop_recording`: record the caller into Asterisk's recordings folder.

A record owns its recording (by name). Leaving the state stops a live recording, and keeps what
was recorded: the RecordingFinished that follows still reaches the flow, in whatever state it
is then (a state may leave on a timer and play the message back). A live recording also holds
back the channel's other operations, which is why it is stopped on leaving.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from ..ports import Event, Request, Response, to_text
from .base import ActionSpec, Context, Step
from .media import StopPlaybacks, finished, started

ENDED = frozenset({"RecordingFinished", "RecordingFailed"})


def stop_request(name: str) -> Request:
    return Request("POST", f"recordings/live/{quote(name, safe='')}/stop", action="stop_recording")


@dataclass
class RecordStep(Step):
    action: str
    params: dict[str, str]
    stopped: bool = False  # the state was left and the stop sent: events go to any state

    @property
    def name(self) -> str:
        return self.params["name"]

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        query = {key: to_text(value) for key, value in params.items()}
        query.setdefault("format", "wav")
        return cls(spec.name, query)

    def start(self, ctx: Context) -> None:
        ctx.own(f"recording:{self.name}")
        path = f"channels/{quote(ctx.channel, safe='')}/record"
        ctx.send(Request("POST", path, self.params, action="record"), "record")

    def on_resume(self, ctx: Context) -> None:
        path = f"recordings/live/{quote(self.name, safe='')}"
        ctx.send(Request("GET", path), "check")

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if tag == "check":  # after a restore: not live any more means it finished meanwhile
            if response.gone:
                self.on_event(ctx, finished("recording", self.name, ctx.channel))
            return
        started(ctx, "record", response)

    def on_event(self, ctx: Context, event: Event) -> bool:
        if event.media != f"recording:{self.name}":
            return False
        if event.type in ENDED:
            ctx.finish()  # before the flow moves on: there is nothing left to stop
        if ctx.in_own_state or self.stopped:
            ctx.to_flow(event.type, event.fields)
        return True

    def on_exit(self, ctx: Context) -> None:
        if ctx.withdraw("record") or ctx.caller_left:
            ctx.finish()
            return
        self.stopped = True
        ctx.send(stop_request(self.name))


@dataclass
class StopRecordings(StopPlaybacks):
    """Stop each live recording of the call, keeping what was recorded."""

    kind: ClassVar[str] = "recording"

    @staticmethod
    def stop(name: str) -> Request:
        return stop_request(name)


SPECS = (
    ActionSpec(
        "record",
        "Record the caller; RecordingFinished or RecordingFailed follows. Leaving the state "
        "stops (and keeps) the recording.",
        RecordStep,
        {
            "name": {
                "type": "string",
                "minLength": 1,
                "description": "Recording name (templates allowed), e.g. vm-{{ call.id }}; "
                "stored under /var/spool/asterisk/recording.",
            },
            "format": {
                "type": "string",
                "minLength": 1,
                "description": "File format, e.g. wav (default), gsm, ulaw.",
            },
            "maxDurationSeconds": {
                "type": "integer",
                "minimum": 0,
                "description": "Longest recording in seconds; 0 for no limit.",
            },
            "maxSilenceSeconds": {
                "type": "integer",
                "minimum": 0,
                "description": "Stop after this many seconds of silence; 0 for no limit.",
            },
            "ifExists": {
                "enum": ["fail", "overwrite", "append"],
                "description": "When a recording of that name exists; default fail.",
            },
            "beep": {"type": "boolean", "description": "Play a beep first."},
            "terminateOn": {
                "enum": ["none", "any", "*", "#"],
                "description": "DTMF that ends the recording.",
            },
        },
        required=("name",),
        nullable=False,
        route=("POST", "channels/{channel}/record"),
        escaped={"name": "name"},
    ),
    ActionSpec(
        "stop_recording",
        "Stop this call's live recordings, keeping what was recorded (flowrunner does this "
        "when a state with a live recording is left).",
        StopRecordings,
        route=("POST", "recordings/live/{recording}/stop"),
        not_found="done",
    ),
)
