from __future__ import annotations

import random

import pytest

from flowrunner.ari.http import response_from
from flowrunner.ari.session import BACKOFF_CAP, AriConfig, backoff
from flowrunner.ports import Response

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


def test_a_base_path_prefixes_the_events_url_as_it_does_http() -> None:
    """Regression: the path of --ari-url was kept for HTTP (/asterisk/ari/...) but dropped for
    the events WebSocket (/ari/events), so Asterisk behind a proxy prefix got no events."""
    config = AriConfig("https://pbx.example/asterisk/", "bob", "secret", ("a",))
    assert config.safe_url == "https://pbx.example/asterisk/"
    assert config.events_url == "wss://pbx.example/asterisk/ari/events?app=a&subscribeAll=false"


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (204, "", Response(204)),
        (200, '{"ping": "pong"}', Response(200, {"ping": "pong"})),
        (500, "oops", Response(500, "oops")),
        # Regression: a body nested too deep raised RecursionError out of json.loads.
        (200, "[" * 50_000 + "]" * 50_000, Response(200, "[" * 50_000 + "]" * 50_000)),
    ],
)
def test_responses_keep_asterisks_body(status: int, text: str, expected: Response) -> None:
    assert response_from(status, text) == expected
