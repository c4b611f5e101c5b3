"""`flowrunner graph FLOW`: draw a flow (Mermaid for Markdown/GitHub, or Graphviz dot)."""

from __future__ import annotations

import argparse

from ..flow import load_flow
from ..flow.graph import dot, mermaid


def main(args: argparse.Namespace) -> int:
    flow = load_flow(args.flow)
    print(mermaid(flow) if args.format == "mermaid" else dot(flow))
    return 0
