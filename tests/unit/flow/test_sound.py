"""sound: the units of a file the schema refused, left out of what the model is built from."""

from __future__ import annotations

import pytest

from flowrunner.flow.errors import Trail
from flowrunner.flow.sound import HOLE, Broken, items, unit


@pytest.mark.parametrize(
    ("spot", "expected"),
    [
        (("states", "menu", "do", 1, "collect", "timeout"), ("states", "menu", "do", 1)),
        (
            ("states", "menu", "on", "ChannelDtmfReceived", 2, "goto"),
            ("states", "menu", "on", "ChannelDtmfReceived", 2),
        ),
        (("states", "menu", "on", "StasisEnd"), ("states", "menu", "on", "StasisEnd")),
        (("states", "menu", "after", "2 sec"), ("states", "menu", "after", "2 sec")),
        (("states", "menu", "then", 0, "when"), ("states", "menu", "then", 0)),
        (("states", "menu", "then", "goto"), ("states", "menu", "then")),
        (("states", "menu", "final"), ("states", "menu", "final")),
        (("states", "menu"), ("states", "menu")),
        (("states",), ("states",)),
        (("on", "ChannelDtmfReceived", 0, "digit"), ("on", "ChannelDtmfReceived", 0)),
        (("after_call", "do", 0, "http", "url"), ("after_call", "do", 0)),
        (("uses", "door", "exits", "ok"), ("uses", "door")),
        (("hours", "office", "week", "mon"), ("hours", "office")),
        (("limits", "max_steps"), ("limits",)),
        (("initial",), ("initial",)),
    ],
)
def test_a_spot_lies_in_the_smallest_unit_the_model_can_do_without(
    spot: Trail, expected: Trail
) -> None:
    assert unit(spot) == expected


def test_pruned_leaves_broken_units_out_and_keeps_the_rest_in_place() -> None:
    data = {
        "initial": 5,
        "states": {
            "menu": {"do": ["answer", {"plya": {}}, "hangup"], "on": {"StasisEnd": 3, "X": "a"}},
            "bad": ["not", "a", "state"],
        },
        "uses": {"door": {"piece": 1}},
    }
    broken = Broken(
        [
            ("initial",),
            ("states", "menu", "do", 1, "plya"),
            ("states", "menu", "on", "StasisEnd"),
            ("states", "bad"),
            ("uses", "door", "exits"),
        ]
    )
    assert broken.pruned(data) == {
        "states": {
            # an item of a list is a HOLE, so the items after it keep their index (and line)
            "menu": {"do": ["answer", HOLE, "hangup"], "on": {"X": "a"}},
            "bad": {},  # a state keeps its name: a transition to it is no unknown state
        },
        "uses": {"door": {}},
    }
    assert data["initial"] == 5  # a copy: the file's data is as it was
    assert [i for i, _ in items(["answer", HOLE, "hangup"])] == [0, 2]


def test_what_is_broken_says_what_the_checks_must_skip() -> None:
    broken = Broken([("states", "menu", "do", 0, "x"), ("limits", "max_steps")])
    assert (broken.states, broken.moves, broken.skeleton) == (frozenset({"menu"}), False, False)
    assert ("states", "menu", "do", 0) in broken
    assert ("states", "menu", "do", 0, "play", "media") in broken  # inside a broken unit
    assert ("states", "menu", "do", 1) not in broken
    assert Broken([("states", "menu", "then")]).moves  # a move left out: the graph has holes
    assert Broken([("states", "menu", "final")]).moves  # where a call can end
    assert not Broken([("states", "menu", "max_visits")]).moves
    assert Broken([("initial",)]).moves
    assert Broken([("states",)]).skeleton
    assert Broken([("uses",)]).skeleton
