"""`flowrunner graph FLOW`: draw a flow as text (Mermaid for Markdown/GitHub, Graphviz dot) or
as a picture (SVG, PNG: rendered by Graphviz's dot program).

Text goes to stdout, or to `--output FILE`. A picture goes to `--output FILE`, or to stdout
when that is not a terminal (`> flow.svg`, `| display`): a terminal would get bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from .. import graphviz
from ..flow import load_flow
from ..flow.errors import printable
from ..flow.graph import dot, mermaid


def main(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    flow = load_flow(args.flow)
    if args.format not in graphviz.FORMATS:
        text = (mermaid(flow) if args.format == "mermaid" else dot(flow)) + "\n"
        return write(args.output, text.encode(), stdout)
    if args.output is None and stdout.isatty():
        print(
            f"flowrunner graph: --format {args.format} writes a picture: give --output FILE, "
            f"or send the output to a file (> flow.{args.format})",
            file=sys.stderr,
        )
        return 2
    try:
        picture = graphviz.render(dot(flow), args.format)
    except graphviz.GraphvizError as error:
        print(f"flowrunner graph: {error}", file=sys.stderr)
        return 1
    return write(args.output, picture, stdout)


def write(output: str | None, data: bytes, stdout: TextIO) -> int:
    """`data` into the file `output`, or onto stdout."""
    if output is None:
        stdout.flush()
        stdout.buffer.write(data)
        stdout.buffer.flush()
        return 0
    try:
        Path(output).write_bytes(data)
    except OSError as error:
        print(
            printable(f"flowrunner graph: cannot write {output}: {error.strerror}"), file=sys.stderr
        )
        return 1
    return 0
