"""`wait`: pause the state's actions for a while, e.g. after `answer`, so the first words of a
prompt are not lost while the caller's media settles. The state's transitions still apply
meanwhile: an event that leaves the state ends the wait."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import DURATION, ActionSpec, Context, Step


@dataclass
class WaitStep(Step):
    action: str
    seconds: float

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        return cls(spec.name, float(params["for"]))

    def start(self, ctx: Context) -> None:
        ctx.after(self.seconds, "over")  # until then, the state's next actions wait

    def on_timer(self, ctx: Context, tag: str) -> None:
        ctx.finish()


SPECS = (
    ActionSpec(
        "wait",
        "Pause before the state's next action, e.g. {wait: {for: 500ms}} after answer.",
        WaitStep,
        {"for": {**DURATION, "description": "How long, e.g. 500ms or 2s (at most 1m)."}},
        required=("for",),
        nullable=False,
        durations={"for": 60.0},
    ),
)
