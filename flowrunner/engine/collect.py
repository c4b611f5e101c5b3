"""The `collect` step: play a prompt, gather DTMF keys into a variable, retry, and raise
DigitsCollected, NoInput or NoMatch.

`Collector` is the bookkeeping (digits so far, tries, is the entry valid); `CollectStep` runs it
on the dispatcher: prompts, timers, barge-in, the outcome. Timers carry the collector's `token`:
a key press or a retry bumps it, so older timers go stale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..flow.model import Action
from .actions import NOWHERE, STOP_PLAYBACKS
from .call import Call
from .journal import words

if TYPE_CHECKING:
    from .dispatcher import Dispatcher


@dataclass
class Collector:
    into: str
    max_digits: int = 1
    terminator: str = "#"
    first_digit_timeout: float = 5.0
    inter_digit_timeout: float = 3.0
    retries: int = 2
    valid: tuple[str, ...] | re.Pattern[str] | None = None
    prompt: tuple[str, ...] = ()
    retry_prompt: tuple[str, ...] = ()
    secret: bool = False  # keys and entry stay out of the logs
    digits: str = ""
    tries: int = 0  # retries used
    token: int = 0
    prompt_action: Action | None = None  # the play of the prompt, while it is queued or playing
    prompt_id: str = ""  # its playback, once started

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Collector:
        valid = params.get("valid")
        return cls(
            into=str(params["into"]),
            max_digits=int(params.get("max_digits", 1)),
            terminator=str(params.get("terminator", "#")),
            first_digit_timeout=float(params.get("first_digit_timeout", 5.0)),
            inter_digit_timeout=float(params.get("inter_digit_timeout", 3.0)),
            retries=int(params.get("retries", 2)),
            valid=re.compile(valid) if isinstance(valid, str) else _strings(valid) or None,
            prompt=_strings(params.get("prompt")),
            retry_prompt=_strings(params.get("retry_prompt")),
            secret=bool(params.get("secret", False)),
        )

    def key(self, digit: str) -> bool:
        """Take a key press; True when the entry is complete."""
        if digit == self.terminator:
            return True
        self.digits += digit
        return len(self.digits) >= self.max_digits

    def accepts(self) -> bool:
        if self.valid is None:
            return True
        if isinstance(self.valid, tuple):
            return self.digits in self.valid
        return self.valid.fullmatch(self.digits) is not None

    @property
    def shown(self) -> str:
        """The entry as logs show it."""
        return f"{len(self.digits)} key(s), hidden" if self.secret else f"'{self.digits}'"

    def may_retry(self) -> bool:
        return self.tries < self.retries

    def retry(self) -> None:
        self.tries += 1
        self.digits = ""


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(item) for item in value) if isinstance(value, list) else (str(value),)


class CollectStep:
    def __init__(self, engine: Dispatcher) -> None:
        self.engine = engine

    def start(self, call: Call, params: Mapping[str, Any]) -> None:
        call.collector = Collector.from_params(params)
        self._prompt(call, call.collector, retry=False)

    def prompt_finished(self, call: Call, event: dict[str, Any]) -> None:
        """The first-digit timer starts once the prompt has played."""
        collector = call.collector
        playback_id = (event.get("playback") or {}).get("id")
        if collector is not None and collector.prompt_id and playback_id == collector.prompt_id:
            collector.prompt_id, collector.prompt_action = "", None
            if not collector.digits:
                self._timer(call, collector, collector.first_digit_timeout)

    def key(self, call: Call, collector: Collector, digit: str) -> None:
        self._stop_prompt(call, collector)
        if collector.key(digit):
            self._done(call, collector)
        else:
            self._timer(call, collector, collector.inter_digit_timeout)

    def timeout(self, call: Call, token: int) -> None:
        collector = call.collector
        if collector is None or token != collector.token:
            return
        if collector.digits:
            self._done(call, collector)
        else:
            self._retry(call, collector, "NoInput")

    def _prompt(self, call: Call, collector: Collector, *, retry: bool) -> None:
        """Play the prompt (after the retry prompt), or start the timer when there is none."""
        media = (collector.retry_prompt if retry else ()) + collector.prompt
        collector.prompt_id = ""
        if media:
            collector.prompt_action = Action("play", {"media": list(media)}, NOWHERE)
            call.outbox.appendleft(collector.prompt_action)
        else:
            self._timer(call, collector, collector.first_digit_timeout)

    def _timer(self, call: Call, collector: Collector, seconds: float) -> None:
        collector.token += 1
        self.engine.schedule(call, seconds, "collect", token=collector.token)

    def _stop_prompt(self, call: Call, collector: Collector) -> None:
        """A key stops the prompt (barge-in), whether it is playing or still queued."""
        if collector.prompt_action is not None and collector.prompt_action in call.outbox:
            call.outbox.remove(collector.prompt_action)
        if collector.prompt_id in call.playing:
            call.outbox.appendleft(STOP_PLAYBACKS)
            self.engine.pump(call)
        collector.prompt_id, collector.prompt_action = "", None

    def _done(self, call: Call, collector: Collector) -> None:
        if not collector.digits:  # the terminator alone
            self._retry(call, collector, "NoInput")
        elif collector.accepts():
            self._over(call, collector, "DigitsCollected")
        else:
            self._retry(call, collector, "NoMatch")

    def _retry(self, call: Call, collector: Collector, outcome: str) -> None:
        if not collector.may_retry():
            self._over(call, collector, outcome)
            return
        self.engine.note(call, f"collect: {words(outcome)}, retrying")
        collector.retry()
        collector.token += 1  # timers of the try before go stale
        self._prompt(call, collector, retry=True)
        self.engine.pump(call)

    def _over(self, call: Call, collector: Collector, outcome: str) -> None:
        call.collector = None
        call.vars[collector.into] = collector.digits
        self.engine.note(call, f"collect: {words(outcome)} {collector.shown}")
        tries = collector.tries + 1
        self.engine.outcome(call, outcome, "collect", digits=collector.digits, tries=tries)
