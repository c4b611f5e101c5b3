from __future__ import annotations

import json
import random
from typing import Any

import pytest

from flowrunner.ari.http import response_from
from flowrunner.ari.session import BACKOFF_CAP, AriConfig, WebSocketRest, backoff
from flowrunner.ports import Request, Response

CONFIG = AriConfig("http://bob:secret@pbx.example:8088", "bob", "secret", ("a", "b c"))


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff(n, rng) for n in range(12)]
    assert 0.25 <= delays[0] <= 0.5
    assert 0.5 <= delays[1] <= 1.0
    assert all(BACKOFF_CAP / 2 <= d <= BACKOFF_CAP for d in delays[7:])


def test_urls_for_logs_carry_no_credentials() -> None:
    assert CONFIG.safe_url == "http://pbx.example:8088"
    assert CONFIG.events_url == "ws://pbx.example:8088/ari/events?app=a,b%20c&subscribeAll=false"


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def test_rest_over_the_websocket_matches_replies_to_requests() -> None:
    rest, socket, replies = WebSocketRest(), FakeSocket(), []
    rest.attach(socket)  # type: ignore[arg-type]
    rest.submit(Request("POST", "channels/1/play", {"media": "sound:x"}), replies.append)
    sent = socket.sent[0]
    assert (sent["type"], sent["method"], sent["uri"]) == (
        "RESTRequest",
        "POST",
        "channels/1/play?media=sound%3Ax",
    )
    rest.on_response(
        {
            "type": "RESTResponse",
            "request_id": sent["request_id"],
            "status_code": 404,
            "message_body": '{"message": "Channel not found"}',
        }
    )
    assert replies == [Response(404, {"message": "Channel not found"}, "Channel not found")]


def test_rest_requests_fail_when_not_connected_or_when_the_link_drops() -> None:
    rest, replies = WebSocketRest(), []
    rest.submit(Request("POST", "channels/1/answer"), replies.append)
    assert replies[0].status == 0
    rest.attach(FakeSocket())  # type: ignore[arg-type]
    rest.submit(Request("POST", "channels/1/answer"), replies.append)
    rest.attach(None)
    assert replies[1] == Response(0, error="connection lost")


def test_old_requests_time_out() -> None:
    rest, replies = WebSocketRest(), []
    rest.attach(FakeSocket())  # type: ignore[arg-type]
    rest.submit(Request("GET", "asterisk/ping"), replies.append)
    rest.fail_pending(0.0, "timed out")
    assert replies == []
    rest.fail_pending(float("inf"), "timed out")
    assert replies == [Response(0, error="timed out")]


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (204, "", Response(204)),
        (200, '{"ping": "pong"}', Response(200, {"ping": "pong"})),
        (500, "oops", Response(500, "oops")),
    ],
)
def test_responses_keep_asterisks_body(status: int, text: str, expected: Response) -> None:
    assert response_from(status, text) == expected
