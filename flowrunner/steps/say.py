"""`say`: text spoken to the caller, rendered by the speech port, then played as `play` plays.

The text (templates filled in) goes to the speech port (a worker thread in `serve`, at once in
the simulator); its reply is the media to play, e.g. `sound:http://…/HASH.wav`. From there the
step is a `play` of that media: it owns the playback, lets the state's next action start once
Asterisk took it, hands PlaybackStarted/Finished to its state, and stops it when the state is
left. Speech that fails, or takes longer than RENDER_SECONDS, is the action failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..ports import MAX_SPEECH_TEXT, VOICE_NAME, Response, SpeechRequest, to_text
from .base import ActionSpec, Context, Step, text
from .media import PlayStep

RENDER_SECONDS = 15.0  # speech not rendered by then fails the action


@dataclass
class SayStep(PlayStep):
    """A play whose media is known once the speech port has rendered the text."""

    text: str = ""
    voice: str = ""
    speech_lang: str = ""  # the text's language; `lang` (the play's sound language) stays ""

    @classmethod
    def create(cls, spec: ActionSpec, params: Mapping[str, Any]) -> Step:
        return cls(
            spec.name,
            [],
            text=to_text(params.get("text")),
            voice=to_text(params.get("voice")),
            speech_lang=to_text(params.get("lang")),
        )

    @property
    def request(self) -> SpeechRequest:
        return SpeechRequest(self.text, self.voice, self.speech_lang)

    def start(self, ctx: Context) -> None:
        if len(self.text) > MAX_SPEECH_TEXT:
            ctx.finish()
            ctx.fail(f"text of {len(self.text)} characters, more than {MAX_SPEECH_TEXT}")
            return
        ctx.speak(self.request, "speech")
        ctx.after(RENDER_SECONDS, "speech")

    def on_reply(self, ctx: Context, tag: str, response: Response) -> None:
        if tag != "speech":
            super().on_reply(ctx, tag, response)
        elif self.media:
            return  # asked again after a restore, and answered twice
        elif response.ok and isinstance(response.body, dict) and response.body.get("media"):
            ctx.cancel("speech")
            self.media = [to_text(response.body["media"])]  # names a hash, never the text
            seconds = response.body.get("seconds")
            ctx.note("say: speech ready", action="say", media=self.media[0], seconds=seconds)
            super().start(ctx)
        else:
            ctx.finish()
            ctx.fail(f"speech failed: {_why(response)}", response.status)

    def on_timer(self, ctx: Context, tag: str) -> None:
        ctx.finish()
        ctx.fail(f"speech not ready within {RENDER_SECONDS:g}s")

    def on_resume(self, ctx: Context) -> None:
        if self.media:
            super().on_resume(ctx)
        else:  # the speech's reply went to the runner that was away: ask again
            ctx.speak(self.request, "speech")

    def on_exit(self, ctx: Context) -> None:
        if self.media:
            super().on_exit(ctx)  # withdraws the play, or stops the playback
        else:
            ctx.finish()  # nothing plays yet: the speech's reply will find the step over


def _why(response: Response) -> str:
    if response.ok:
        return "no media in its answer"
    return response.error if response.status == 0 else response.describe()


SPECS = (
    ActionSpec(
        "say",
        "Speak text to the caller (text-to-speech); the state's PlaybackFinished follows, as "
        "for play.",
        SayStep,
        {
            "text": text(
                "What to say; templates allowed, e.g. Hello {{ customer.name }}.",
                maxLength=MAX_SPEECH_TEXT,
            ),
            "voice": text(
                "The speech engine's voice, e.g. en-us+f3 for espeak-ng; default its own.",
                maxLength=64,
                pattern=VOICE_NAME,
            ),
            "lang": text(
                "The text's language, e.g. en or fr (the voice, when none is given).",
                maxLength=16,
                pattern=VOICE_NAME,
            ),
        },
        required=("text",),
        nullable=False,
        requests=("speech", "play"),  # a flow test may fail either: `ari: {speech: 503}`
    ),
)
