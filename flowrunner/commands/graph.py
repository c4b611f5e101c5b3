"""`flowrunner graph FLOW`: draw a flow (Mermaid for Markdown/GitHub, or Graphviz dot)."""

from __future__ import annotations

import argparse

from ..flow import FlowError, load_flow
from ..flow.graph import dot, mermaid
from .validate import report


def main(args: argparse.Namespace) -> int:
    try:
        flow = load_flow(args.flow)
    except FlowError as error:
        report(error.problems, "text")
        return 1
    print(mermaid(flow) if args.format == "mermaid" else dot(flow))
    return 0
