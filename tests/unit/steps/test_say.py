"""`say`: the speech is asked for first, then its media played as `play` plays it; on a
recording Context, and through the simulator (with a snapshot after every message)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeContext

from flowrunner.engine.machine import compile_flow
from flowrunner.flow import FlowError, load_flow
from flowrunner.ports import Request, Response, SpeechRequest
from flowrunner.sim.run import CallerStep, simulate
from flowrunner.steps import ACTIONS
from flowrunner.steps.media import finished
from flowrunner.steps.say import RENDER_SECONDS, SayStep

REPO = Path(__file__).parents[3]
MEDIA = "sound:http://127.0.0.1:8077/speech/" + "ab" * 32 + ".wav"
READY = Response(200, {"media": MEDIA, "seconds": 1.5})


def say(**params: str) -> SayStep:
    step = ACTIONS["say"].step.create(ACTIONS["say"], {"text": "Hello Ada", **params})
    assert isinstance(step, SayStep)
    return step


def started(step: SayStep) -> FakeContext:
    ctx = FakeContext()
    step.start(ctx)
    return ctx


def test_speech_is_asked_for_first_and_nothing_else_starts_meanwhile() -> None:
    ctx = started(say(voice="en-us+f3", lang="en"))
    assert ctx.sent == [(SpeechRequest("Hello Ada", "en-us+f3", "en"), "speech")]
    assert ctx.timers == {"speech": RENDER_SECONDS}
    assert not ctx.released  # the state's next action waits, as it does behind a play


def test_the_rendered_media_is_played_as_one_owned_playback() -> None:
    step = say(lang="fr")
    ctx = started(step)
    step.on_reply(ctx, "speech", READY)
    request, tag = ctx.sent[-1]
    assert isinstance(request, Request)
    assert tag == "play"
    assert request.path == "channels/c/play/c-play-1"
    assert request.params == {"media": MEDIA}  # no `lang`: that is for sound files
    assert ctx.resources == ["playback:c-play-1"]
    assert ctx.timers == {}
    step.on_reply(ctx, "play", Response(201))
    assert ctx.released
    assert not ctx.finished


def test_playback_events_reach_the_state_and_finished_ends_the_step() -> None:
    step = say()
    ctx = started(step)
    step.on_reply(ctx, "speech", READY)
    assert step.on_event(ctx, finished("playback", "c-play-1", "c"))
    assert ctx.finished
    assert ctx.to_flows == ["PlaybackFinished"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Response(0, error="espeak-ng failed (exit 1)"), "espeak-ng failed (exit 1)"),
        (Response(503, error="busy"), "503 busy"),
        (Response(200, {}), "no media in its answer"),
        (Response(200, "x"), "no media in its answer"),
    ],
    ids=["failed", "a status", "no media", "not an object"],
)
def test_speech_that_fails_is_the_action_failing(reply: Response, reason: str) -> None:
    step = say()
    ctx = started(step)
    step.on_reply(ctx, "speech", reply)
    assert ctx.finished
    assert ctx.failures == [(f"speech failed: {reason}", reply.status)]
    assert len(ctx.sent) == 1  # nothing played


def test_speech_not_ready_in_time_is_the_action_failing() -> None:
    step = say()
    ctx = started(step)
    step.on_timer(ctx, "speech")
    assert ctx.finished
    assert ctx.failures == [(f"speech not ready within {RENDER_SECONDS:g}s", 0)]


def test_a_rendered_text_too_long_fails_without_being_spoken() -> None:
    ctx = started(say(text="x" * 2001))  # e.g. a caller's data made it so
    assert ctx.sent == []
    assert ctx.finished
    assert ctx.failures == [("text of 2001 characters, more than 2000", 0)]


def test_a_value_that_is_not_text_is_said_as_text() -> None:
    step = ACTIONS["say"].step.create(ACTIONS["say"], {"text": {"name": "Ada"}})
    ctx = started(step)  # type: ignore[arg-type]
    assert ctx.sent[0][0] == SpeechRequest('{"name":"Ada"}')


def test_leaving_the_state_before_the_speech_is_ready_stops_nothing() -> None:
    step = say()
    ctx = started(step)
    step.on_exit(ctx)
    assert ctx.finished
    assert len(ctx.sent) == 1


def test_leaving_the_state_while_it_plays_stops_the_playback() -> None:
    step = say()
    ctx = started(step)
    step.on_reply(ctx, "speech", READY)
    step.on_exit(ctx)
    assert ctx.sent[-1][0] == Request("DELETE", "playbacks/c-play-1", action="stop_playback")


def test_after_a_restore_the_speech_is_asked_again_or_the_playback_checked() -> None:
    step = say()
    ctx = started(step)
    step.on_resume(ctx)
    assert ctx.sent[-1] == (SpeechRequest("Hello Ada"), "speech")
    step.on_reply(ctx, "speech", READY)
    step.on_reply(ctx, "speech", READY)  # the first ask's answer, late: played once only
    assert [tag for _, tag in ctx.sent].count("play") == 1
    step.on_resume(ctx)
    assert ctx.sent[-1] == (Request("GET", "playbacks/c-play-1"), "check")


def test_the_step_is_json_data_and_restores() -> None:
    step = say(voice="en")
    step.on_reply(started(step), "speech", READY)
    assert SayStep.restore(step.data()) == step


def test_the_schema_bounds_the_text_and_takes_only_names_as_voices(tmp_path: Path) -> None:
    base = (REPO / "flows" / "tts-greeting.yaml").read_text()
    old = '{text: "Hello, and thank you for calling."}'
    for bad in ('{text: "' + "x" * 2001 + '"}', '{text: hi, voice: "-w /etc/x"}', "{voice: en}"):
        path = tmp_path / "flow.yaml"
        path.write_text(base.replace(old, bad))
        with pytest.raises(FlowError):
            load_flow(str(path))


@pytest.mark.parametrize("reload", [False, True], ids=["plain", "snapshot after each message"])
def test_a_say_plays_for_as_long_as_its_text_takes_on_the_simulator(reload: bool) -> None:
    compiled = compile_flow(load_flow(str(REPO / "flows" / "tts-greeting.yaml")))
    result = simulate(compiled, reload=reload)  # the CRM cannot be reached: the plain greeting
    assert [(s.at, s.action) for s in result.sent] == [(0, "answer"), (0, "play"), (2.5, "hangup")]
    play = result.sent[1].request
    assert play.params["media"].startswith("sound:http://speech.invalid/speech/")


def test_a_caller_who_hangs_up_while_it_plays_ends_the_call() -> None:
    compiled = compile_flow(load_flow(str(REPO / "flows" / "tts-greeting.yaml")))
    result = simulate(compiled, [CallerStep(1.0, "hangup")])
    assert (result.final_state, result.duration) == ("ended", 1.0)
