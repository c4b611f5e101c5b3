"""graph: the edges a flow's states have, labelled in the flow's own words."""

from __future__ import annotations

from pathlib import Path

from flowrunner.flow import load_flow
from flowrunner.flow.graph import mermaid

FLOW = """version: 1
app: demo
initial: start
vars: {vip: false}
on: {StasisEnd: ended}
states:
  start:
    do: [answer]
    then:
      - {when: vip, goto: priority}
      - {goto: queue}
  queue:
    after:
      30s: [{when: "not vip", goto: ended}]
  priority: {}
  ended: {final: true}
"""


def test_then_and_guarded_timers_are_drawn_with_their_guards(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    assert mermaid(load_flow(str(path))).splitlines() == [
        "stateDiagram-v2",
        "    [*] --> start",
        '    state "any state" as _any',
        "    start : answer",
        "    ended --> [*]",
        "    _any --> ended : StasisEnd",  # flow-wide: drawn once
        "    start --> priority : 1. then [vip]",  # guards numbered in the order they are tried
        "    start --> queue : 2. then",
        "    queue --> ended : after 30s [not vip]",
    ]


def test_parallel_edges_are_one_and_boxes_say_what_actions_do(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(
        "version: 1\napp: demo\ninitial: start\nstates:\n  start:\n"
        "    do: [{play: {media: [sound:a, 'digits:{{ caller.number }}']}}, {set: {n: 1, m: 2}}]\n"
        "    on: {PlaybackFinished: ended, StasisEnd: ended}\n  ended: {final: true}\n"
    )
    assert mermaid(load_flow(str(path))).splitlines()[2:] == [
        "    start : play sound:a, digits:{{ caller.number }}",
        "    start : set n, m",
        "    ended --> [*]",
        "    start --> ended : PlaybackFinished; StasisEnd",
    ]
