"""`collect`: play a prompt, gather DTMF keys into a variable, retry, and raise DigitsCollected,
NoInput or NoMatch.

The first-digit timer starts once the prompt has finished playing; a key stops the prompt
(barge-in) and starts the inter-digit timer. While it collects, the state's own DTMF
transitions do not fire: the keys are the entry's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..patterns import PatternError, compile_pattern
from ..ports import Event, Response, to_text, words
from .base import DURATION, MEDIA, VAR_NAME, ActionSpec, Checker, Context, Step, media_list
from .media import check_request, finished, play_request, stop_request


@dataclass
class CollectStep(Step):
    action: str
    into: str
    max_digits: int = 1
    terminator: str = "#"
    first_digit_timeout: float = 5.0
    inter_digit_timeout: float = 3.0
    retries: int = 2
    valid: list[str] | None = None  # the accepted entries, or
    pattern: str | None = None  # a regular expression the whole entry must match
    prompt: list[str] = field(default_factory=list)
    retry_prompt: list[str] = field(default_factory=list)
    secret: bool = False  # keys and entry stay out of the logs
    digits: str = ""
    tries: int = 0  # retries used
    prompt_id: str = ""  # the prompt's playback, while it is queued or playing

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        valid = params.get("valid")
        return cls(
            spec.name,
            into=to_text(params["into"]),
            max_digits=int(params.get("max_digits", 1)),
            terminator=to_text(params.get("terminator", "#")),
            first_digit_timeout=float(params.get("first_digit_timeout", 5.0)),
            inter_digit_timeout=float(params.get("inter_digit_timeout", 3.0)),
            retries=int(params.get("retries", 2)),
            valid=[to_text(v) for v in valid] if isinstance(valid, list) else None,
            pattern=valid if isinstance(valid, str) else None,
            prompt=media_list(params.get("prompt")),
            retry_prompt=media_list(params.get("retry_prompt")),
            secret=bool(params.get("secret", False)),
        )

    def start(self, ctx: Context) -> None:
        ctx.release()  # the state's next actions need not wait for the entry
        self._prompt(ctx, retry=False)

    def hides(self, event: Event) -> bool:
        return self.secret and event.type == "ChannelDtmfReceived"

    def on_event(self, ctx: Context, event: Event) -> bool:
        if event.media:
            if event.media != f"playback:{self.prompt_id}":
                return False
            if event.type == "PlaybackFinished":
                self._prompt_finished(ctx)
            if ctx.in_own_state:
                ctx.to_flow(event.type, event.fields)
            return True
        if event.type == "ChannelDtmfReceived" and event.channel == ctx.channel:
            self._key(ctx, to_text(event.get("digit", "")))
            return True
        return False

    def on_resume(self, ctx: Context) -> None:
        if self.prompt_id:
            ctx.send(check_request(self.prompt_id), "check")

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if tag == "check":  # after a restore: a prompt gone has finished meanwhile
            if response.gone and self.prompt_id:
                self.on_event(ctx, finished("playback", self.prompt_id, ctx.channel))
            return
        if response.ok:
            ctx.note("play ok", action="play", status=response.status)
        elif response.gone:
            ctx.gone()
        else:
            ctx.finish()
            ctx.fail(response.describe(), response.status, action="play")

    def on_timer(self, ctx: Context, tag: str) -> None:
        if self.digits:
            self._done(ctx)
        else:
            self._retry(ctx, "NoInput")

    def on_exit(self, ctx: Context) -> None:
        self._stop_prompt(ctx)
        ctx.finish()

    # -- the entry ---------------------------------------------------------------------------

    @property
    def shown(self) -> str:
        """The entry as logs show it."""
        return f"{len(self.digits)} key(s), hidden" if self.secret else f"'{self.digits}'"

    def accepts(self) -> bool:
        if self.valid is not None:
            return self.digits in self.valid
        if self.pattern is not None:
            return compile_pattern(self.pattern).fullmatch(self.digits)  # linear time
        return True

    def _prompt(self, ctx: Context, *, retry: bool) -> None:
        """Play the prompt (after the retry prompt), or start the timer when there is none."""
        media = (self.retry_prompt if retry else []) + self.prompt
        if not media:
            ctx.after(self.first_digit_timeout, "digits")
            return
        self.prompt_id = ctx.new_id("play")
        ctx.own(f"playback:{self.prompt_id}")
        ctx.send(play_request(ctx, self.prompt_id, media), "prompt")

    def _prompt_finished(self, ctx: Context) -> None:
        ctx.disown(f"playback:{self.prompt_id}")
        self.prompt_id = ""
        if not self.digits:
            ctx.after(self.first_digit_timeout, "digits")

    def _stop_prompt(self, ctx: Context) -> None:
        """A key stops the prompt (barge-in), whether it is playing or still queued."""
        if not self.prompt_id:
            return
        if not ctx.withdraw("prompt") and not ctx.caller_left:
            ctx.send(stop_request(self.prompt_id))
        ctx.disown(f"playback:{self.prompt_id}")
        self.prompt_id = ""

    def _key(self, ctx: Context, digit: str) -> None:
        self._stop_prompt(ctx)
        if digit == self.terminator:
            self._done(ctx)
            return
        self.digits += digit
        if len(self.digits) >= self.max_digits:
            self._done(ctx)
        else:
            ctx.after(self.inter_digit_timeout, "digits")

    def _done(self, ctx: Context) -> None:
        if not self.digits:  # the terminator alone
            self._retry(ctx, "NoInput")
        elif self.accepts():
            self._over(ctx, "DigitsCollected")
        else:
            self._retry(ctx, "NoMatch")

    def _retry(self, ctx: Context, outcome: str) -> None:
        if self.tries >= self.retries:
            self._over(ctx, outcome)
            return
        ctx.note(f"collect: {words(outcome)}, retrying")
        self.tries += 1
        self.digits = ""
        ctx.cancel("digits")  # the timer of the try before
        self._prompt(ctx, retry=True)

    def _over(self, ctx: Context, outcome: str) -> None:
        if self.secret:
            ctx.hide(self.digits)  # wherever the flow puts it next, logs show *** instead
        ctx.set_vars({self.into: self.digits})
        ctx.note(f"collect: {words(outcome)} {self.shown}")
        ctx.finish()
        ctx.outcome(outcome, digits=self.digits, tries=self.tries + 1)


def check(params: Mapping[str, Any], checker: Checker) -> None:
    """A pattern is checked here, so it cannot fail during a call: no template in it. A listed
    entry holding the terminator can never be collected: that key ends the entry."""
    valid = params.get("valid")
    terminator = params.get("terminator", "#")
    if isinstance(valid, list) and terminator != "none":
        for i, entry in enumerate(valid):
            if isinstance(entry, str) and terminator in entry and not checker.is_template(entry):
                message = (
                    f"'{entry}' can never be collected: {terminator} ends the entry (the "
                    "terminator); set terminator: none, or another key"
                )
                checker.problem(("valid", i), message)
    if not isinstance(valid, str):
        return
    if checker.is_template(valid):
        checker.problem(("valid",), "a pattern cannot be a template; list the entries instead")
        return
    try:
        compile_pattern(valid)
    except PatternError as error:
        checker.problem(("valid",), f"bad regular expression: {error}")


VALID_ENTRY = {
    "type": "string",
    "pattern": "^([0-9A-D*#]+|.*\\{\\{.*\\}\\}.*)$",
    "description": 'Keys (0-9, A-D, *, #), or a template, e.g. "{{ pin }}".',
}

SPECS = (
    ActionSpec(
        "collect",
        "Collect DTMF digits into a variable; DigitsCollected, NoInput or NoMatch follows.",
        CollectStep,
        {
            "into": VAR_NAME,
            "prompt": {
                "description": "Media played first (and again on each retry); "
                "a key pressed stops it.",
                **MEDIA,
            },
            "retry_prompt": {
                "description": "Media played before the prompt on a retry, e.g. sound:pbx-invalid.",
                **MEDIA,
            },
            "max_digits": {
                "type": "integer",
                "minimum": 1,
                "maximum": 64,
                "description": "Stop at this many digits; default 1.",
            },
            "terminator": {
                "enum": ["#", "*", "none"],
                "description": "Key that ends the entry early (not kept); default #.",
            },
            "first_digit_timeout": {
                **DURATION,
                "description": "Wait this long for the first key once the prompt ends; default 5s.",
            },
            "inter_digit_timeout": {
                **DURATION,
                "description": "Wait this long for each next key; default 3s.",
            },
            "retries": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10,
                "description": "Tries after the first on no input or no match; default 2.",
            },
            "valid": {
                "anyOf": [
                    {"type": "array", "minItems": 1, "maxItems": 100, "items": VALID_ENTRY},
                    {"type": "string", "minLength": 1},
                ],
                "description": "Accepted entries: a list (templates allowed), or a regular "
                "expression the whole entry must match. Others are no match.",
            },
            "secret": {
                "type": "boolean",
                "description": "Keep the keys out of the logs (a PIN, a card number): key "
                "presses and the entry are logged as hidden. Default false.",
            },
        },
        required=("into",),
        nullable=False,
        outcomes={
            "DigitsCollected": "collect: an entry was made (and is valid).",
            "NoInput": "collect: no key pressed, after the retries.",
            "NoMatch": "collect: the entry was not valid, after the retries.",
        },
        durations={"first_digit_timeout": 3600.0, "inter_digit_timeout": 3600.0},
        defines="into",
        requests=("play", "stop_playback"),
        escaped={"prompt": "name", "retry_prompt": "name"},
        check=check,
    ),
)
