"""The steps: what each action of the flow language is (its `ActionSpec`: parameters, outcomes,
durations, ARI route) and what it does (its `Step`).

Every module here that defines `SPECS` is a plug-in, found when this package is imported: adding
an action is adding a module (see "Adding a step" in docs/architecture.md). The flow language
reads the specs (schema, checks), the engine runs the steps; a step knows only `ports` and the
`Context` the engine gives it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

from .base import ActionSpec, Step

__all__ = ["ACTIONS", "ActionSpec", "Step", "request_names"]


def _discover() -> dict[str, ActionSpec]:
    actions: dict[str, ActionSpec] = {}
    for module in sorted(info.name for info in pkgutil.iter_modules(__path__)):
        for spec in getattr(importlib.import_module(f"{__name__}.{module}"), "SPECS", ()):
            if spec.name in actions:
                raise RuntimeError(f"action '{spec.name}' is defined twice (steps.{module})")
            actions[spec.name] = spec
    return actions


ACTIONS: Mapping[str, ActionSpec] = _discover()


def request_names() -> frozenset[str]:
    """Every kind of ARI request the steps make: what a flow test may fail (`ari: {…}`)."""
    return frozenset(name for spec in ACTIONS.values() for name in spec.request_names)
