"""The `collect` step's bookkeeping: digits so far, tries, and whether an entry is valid.

The dispatcher plays the prompts, arms the timers and raises the outcome; this only decides.
Timers carry the collector's `token`: a key press or a retry bumps it, so older timers go stale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..flow.model import Action


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

    def may_retry(self) -> bool:
        return self.tries < self.retries

    def retry(self) -> None:
        self.tries += 1
        self.digits = ""


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(item) for item in value) if isinstance(value, list) else (str(value),)
