"""The `say` actions of the flows served: whether there are any (the media server starts only
then), and the texts with no template in them, rendered when a flow loads so that the first
caller to hear one does not wait for the engine."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..engine.machine import CompiledFlow
from ..ports import SpeechRequest


def says(flows: Iterable[CompiledFlow]) -> Iterator[Mapping[str, Any]]:
    """The parameters of each `say` action (templates unrendered)."""
    for compiled in flows:
        for state in compiled.flow.states.values():
            yield from (a.params for a in state.actions if a.name == "say")


def plain_texts(flows: Iterable[CompiledFlow]) -> set[SpeechRequest]:
    return {
        SpeechRequest(params["text"], params.get("voice", ""), params.get("lang", ""))
        for params in says(flows)
        if all(isinstance(value, str) for value in params.values())
    }
