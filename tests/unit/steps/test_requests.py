"""The requests the one-request actions (and the escape hatch) send, on a recording Context."""

from typing import Any

from fakes import FakeContext

from flowrunner.flow.model import Action, Where
from flowrunner.flow.templates import parse_template, render
from flowrunner.ports import Request
from flowrunner.steps import ACTIONS


def request_for(action: Action, ids: dict[str, str], params: Any) -> Request:
    """The first request the action's step sends, on channel `ids["channel"]` (a playback is
    named by the step itself: `ids["playback"]` says what it should be)."""
    spec = ACTIONS[action.name]
    ctx = FakeContext(channel=ids["channel"])
    if "playback" in ids:
        ctx.new_id = lambda kind: ids["playback"]  # type: ignore[method-assign]
    spec.step.create(spec, params).start(ctx)
    return ctx.sent[0][0]


def failure_of(action: Action, params: Any) -> str:
    """Why the action's step failed at its start."""
    spec = ACTIONS[action.name]
    ctx = FakeContext()
    spec.step.create(spec, params).start(ctx)
    return ctx.failures[0][0]


HERE = Where(1, 1, ())


def request(action: Action, channel: str = "c", **ids: str) -> tuple[str, str, dict[str, str]]:
    sent = request_for(action, {"channel": channel, **ids}, action.params)
    return sent.method, sent.path, dict(sent.params)


def test_actions_become_the_ari_requests_the_schema_routes_them_to() -> None:
    hangup = Action("hangup", {"reason": "busy"}, HERE)
    assert request(hangup, "1700.5") == ("DELETE", "channels/1700.5", {"reason": "busy"})
    ring = Action("ring", {}, HERE)
    assert request_for(ring, {"channel": "x"}, {}).uri == "channels/x/ring"


def test_parameters_are_sent_as_ari_writes_them() -> None:
    play = Action("play", {"media": ["sound:a", "sound:b"], "lang": "en"}, HERE)
    assert request_for(play, {"channel": "c", "playback": "c-play-1"}, play.params).uri == (
        "channels/c/play/c-play-1?media=sound%3Aa%2Csound%3Ab&lang=en"
    )
    cont = Action("continue", {"context": "x", "priority": 2}, HERE)
    assert request(cont)[2] == {"context": "x", "priority": "2"}
    record = Action("record", {"name": "vm", "beep": True}, HERE)
    # the step adds the default format (it was the dispatcher's job when this test was written)
    expected = {"name": "vm", "beep": "true", "format": "wav"}
    assert request(record) == ("POST", "channels/c/record", expected)


def test_channel_ids_are_escaped_in_the_path() -> None:
    assert request(Action("answer", {}, HERE), "a/b")[1] == "channels/a%2Fb/answer"


def test_into_is_kept_by_the_engine_not_sent_to_asterisk() -> None:
    get = Action("get_variable", {"variable": "CALLERID(num)", "into": "number"}, HERE)
    assert request(get) == ("GET", "channels/c/variable", {"variable": "CALLERID(num)"})


def test_templates_are_rendered_with_the_call_variables_keeping_lone_values_typed() -> None:
    params = {
        "name": parse_template("vm-{{ call.id }}"),
        "count": parse_template("{{ tries + 1 }}"),
        "list": [parse_template("{{ caller.number }}"), "x"],
    }
    scope = {"call": {"id": "17.3"}, "tries": 2, "caller": {"number": "100"}}
    assert render(params, scope) == {"name": "vm-17.3", "count": 3, "list": ["100", "x"]}


def test_the_escape_hatch_fills_in_the_channel_and_sends_params_and_body() -> None:
    ari = Action(
        "ari",
        {"method": "POST", "path": "/channels/{channelId}/variable", "params": {"variable": "X"}},
        HERE,
    )
    assert request(ari, "17.3") == ("POST", "channels/17.3/variable", {"variable": "X"})
    body = {"method": "POST", "path": "channels/{channelId}/variables", "body": {"v": 1}}
    assert request_for(Action("ari", body, HERE), {"channel": "c"}, body).body == {"v": 1}


def test_the_escape_hatch_refuses_a_path_a_variable_turned_into_another_operation() -> None:
    params = {"method": "DELETE", "path": "bridges/{{ id }}"}
    rendered = {"method": "DELETE", "path": "bridges/a/addChannel"}  # id was "a/addChannel"
    assert "not an ARI operation once rendered" in failure_of(Action("ari", params, HERE), rendered)
