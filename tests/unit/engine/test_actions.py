from flowrunner.engine.actions import request_for
from flowrunner.flow.model import Action, Where

HERE = Where(1, 1, ())


def test_actions_become_the_ari_requests_the_schema_routes_them_to() -> None:
    request = request_for(Action("hangup", {"reason": "busy"}, HERE), "1700.5")
    assert (request.method, request.path, dict(request.params)) == (
        "DELETE",
        "channels/1700.5",
        {"reason": "busy"},
    )
    assert request_for(Action("ring", {}, HERE), "x").uri == "channels/x/ring"


def test_parameters_are_sent_as_ari_writes_them() -> None:
    play = Action("play", {"media": ["sound:a", "sound:b"], "lang": "en"}, HERE)
    assert request_for(play, "c", "c-play-1").uri == (
        "channels/c/play/c-play-1?media=sound%3Aa%2Csound%3Ab&lang=en"
    )
    cont = Action("continue", {"context": "x", "priority": 2}, HERE)
    assert dict(request_for(cont, "c").params) == {"context": "x", "priority": "2"}


def test_channel_ids_are_escaped_in_the_path() -> None:
    assert request_for(Action("answer", {}, HERE), "a/b").path == "channels/a%2Fb/answer"
