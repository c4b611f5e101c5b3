"""`set`: give flow variables new values (templates rendered; a lone `{{ … }}` keeps its type)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import VAR_NAME, ActionSpec, Context, Step


@dataclass
class SetStep(Step):
    action: str
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        return cls(spec.name, dict(params))

    def start(self, ctx: Context) -> None:
        ctx.set_vars(self.values)
        ctx.note(f"set {', '.join(self.values)}")  # names, never values
        ctx.finish()


SPECS = (
    ActionSpec(
        "set",
        "Set flow variables: name -> value (templates allowed; a lone {{ expression }} keeps "
        "its type).",
        SetStep,
        schema={
            "type": "object",
            "minProperties": 1,
            "maxProperties": 50,
            "propertyNames": VAR_NAME,
        },
        nullable=False,
        defines="keys",
        after_call=True,
    ),
)
