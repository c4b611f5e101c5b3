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
        "    start : do answer",
        "    start --> priority : then [vip]",
        "    start --> queue : then",
        "    start --> ended : StasisEnd",
        "    queue --> ended : after 30s [not vip]",
        "    queue --> ended : StasisEnd",
        "    priority --> ended : StasisEnd",
        "    ended --> [*]",
    ]
