"""Expected lines match what was sent as a subset, and a mismatch is an aligned diff."""

from __future__ import annotations

from typing import Any

import pytest

from flowrunner.flowtest.expectations import ExpectedLine, all_fit, diff, fits
from flowrunner.flowtest.shown import Shown


def sent(at: float, action: str, **params: Any) -> Shown:
    return Shown(at, action, params)


PLAY = sent(2, "play", media="sound:hello-world", lang="en")


@pytest.mark.parametrize(
    ("expected", "matches"),
    [
        (ExpectedLine("play", at=2), True),
        (ExpectedLine("play", {"media": "sound:hello-world"}, at=2), True),
        (ExpectedLine("play", {"media": "sound:hello-*"}, at=2), True),
        (ExpectedLine("play", {"media": "sound:hello"}, at=2), False),
        (ExpectedLine("play", {"medium": "sound:hello-world"}, at=2), False),
        (ExpectedLine("play", {"media": "sound:hello-world"}, at=3), False),
        (ExpectedLine("answer", at=2), False),
    ],
)
def test_only_the_parameters_written_are_compared(expected: ExpectedLine, matches: bool) -> None:
    assert fits(expected, PLAY, within=0) is matches


def test_query_parameters_compare_as_the_text_ari_got() -> None:
    record = sent(1, "record", name="vm", maxDurationSeconds="30", beep="true")
    assert fits(ExpectedLine("record", {"maxDurationSeconds": 30, "beep": True}, 1), record, 0)
    assert not fits(ExpectedLine("record", {"maxDurationSeconds": 31}, 1), record, 0)
    several = sent(1, "play", media=["sound:a", "recording:b"])
    assert fits(ExpectedLine("play", {"media": ["sound:a", "recording:b"]}, 1), several, 0)
    assert fits(ExpectedLine("play", {"media": "sound:a,recording:b"}, 1), several, 0)


def test_a_body_compares_as_json_by_the_keys_written() -> None:
    post = sent(0, "POST http://crm/calls", body={"tier": "gold", "n": 1, "ok": True})
    assert fits(ExpectedLine("POST http://crm/calls", {"body": {"tier": "gold"}}), post, 0)
    assert fits(ExpectedLine("POST http://crm/*", {"body": {"n": 1, "ok": True}}), post, 0)
    assert not fits(ExpectedLine("POST http://crm/calls", {"body": {"n": "1"}}), post, 0)
    assert not fits(ExpectedLine("POST http://crm/calls", {"body": {"ok": 1}}), post, 0)
    assert not fits(ExpectedLine("GET http://crm/calls"), post, 0)


def test_headers_compare_by_name_in_any_case() -> None:
    get = sent(0, "GET http://crm/x?number=1", headers=["Authorization"])
    assert fits(ExpectedLine("GET http://crm/x?number=1", {"headers": ["authorization"]}), get, 0)
    assert not fits(ExpectedLine("GET http://crm/x?number=1", {"headers": ["X-Key"]}), get, 0)
    # a ? in a URL is a question mark, not "any character"
    assert not fits(
        ExpectedLine("GET http://crm/x?number=1"), sent(0, "GET http://crm/xXnumber=1"), 0
    )


def test_a_tolerance_admits_a_time_that_is_off() -> None:
    line = ExpectedLine("play", at=2.04)
    assert not fits(line, PLAY, within=0)
    assert fits(line, PLAY, within=0.05)
    assert all_fit([line], [PLAY], 0.05)
    assert not all_fit([line, line], [PLAY], 0.05)


ACTUAL = [
    sent(0, "answer"),
    sent(0, "play", media="sound:vm-intro"),
    sent(1, "record", name="vm-sim-0001", format="wav"),
    sent(31, "play", media=["sound:vm-msgsaved", "recording:vm-sim-0001"]),
    sent(33, "hangup"),
]


def test_one_missing_line_is_one_minus_line() -> None:
    expected = [
        ExpectedLine("answer", at=0),
        ExpectedLine("play", {"media": "sound:vm-intro"}, 0),
        ExpectedLine("play", {"media": "sound:vm-goodbye"}, 32),
        ExpectedLine("record", {"name": "vm-*"}, 1),
        ExpectedLine("play", at=31),
        ExpectedLine("hangup", at=33),
    ]
    assert diff(expected, ACTUAL, 0) == [
        "    0s answer",
        "    0s play: {media: sound:vm-intro}",
        "  - 32s play: {media: sound:vm-goodbye}",
        "    1s record: {name: vm-*}",
        "    31s play",
        "    33s hangup",
    ]


def test_a_changed_line_shows_what_was_sent_for_the_keys_it_names() -> None:
    expected = [
        ExpectedLine("answer", at=0),
        ExpectedLine("play", {"media": "sound:vm-intr"}, 0),
        ExpectedLine("record", {"nmae": "vm"}, 1),
        ExpectedLine("hangup", {"reason": "busy"}, 33),
    ]
    assert diff(expected, ACTUAL, 0) == [
        "    0s answer",
        "  - 0s play: {media: sound:vm-intr}",
        "  + 0s play: {media: sound:vm-intro}",
        "  - 1s record: {nmae: vm}",
        "  + 1s record: {name: vm-sim-0001, format: wav}",  # no nmae: all it had
        "  + 31s play: {media: [sound:vm-msgsaved, recording:vm-sim-0001]}",
        "  - 33s hangup: {reason: busy}",
        "  + 33s hangup",
    ]


def test_values_are_printed_as_yaml_writes_them() -> None:
    expected = [ExpectedLine("set_variable", {"value": "1", "x": None, "y": True}, 0)]
    actual = [sent(0, "set_variable", value="2", variable="A: B")]
    assert diff(expected, actual, 0) == [
        "  - 0s set_variable: {value: '1', x: null, y: true}",
        "  + 0s set_variable: {value: '2', variable: 'A: B'}",
    ]


def test_web_requests_have_no_time() -> None:
    expected = [ExpectedLine("POST http://crm/calls", {"body": {"tier": "vip"}})]
    actual = [sent(5, "POST http://crm/calls", body={"tier": "gold"}, headers=["Authorization"])]
    assert diff(expected, actual, 0) == [
        "  - POST http://crm/calls: {body: {tier: vip}}",
        "  + POST http://crm/calls: {body: {tier: gold}}",
    ]
