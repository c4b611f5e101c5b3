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
from ..flow import Flow, load_flow
from ..flow.errors import printable
from ..flow.graph import dot, mermaid


def main(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    flow = load_flow(args.flow)
    if args.format in graphviz.FORMATS:
        return picture(flow, args.format, args.output, stdout)
    text = (mermaid(flow) if args.format == "mermaid" else dot(flow)) + "\n"
    if args.output is None:
        stdout.write(text)
        return 0
    return write(args.output, text.encode())


def picture(flow: Flow, fmt: str, output: str | None, stdout: TextIO) -> int:
    """The flow drawn by Graphviz, into `output`, or onto stdout when it is no terminal."""
    if output is None and stdout.isatty():
        print(
            f"flowrunner graph: --format {fmt} writes a picture: give --output FILE, "
            f"or send the output to a file (> flow.{fmt})",
            file=sys.stderr,
        )
        return 2
    try:
        drawn = graphviz.render(dot(flow), fmt)
    except graphviz.GraphvizError as error:
        print(f"flowrunner graph: {error}", file=sys.stderr)
        return 1
    if output is not None:
        return write(output, drawn)
    stdout.flush()
    stdout.buffer.write(drawn)
    stdout.buffer.flush()
    return 0


def write(output: str, data: bytes) -> int:
    """`data` into the file `output`."""
    try:
        Path(output).write_bytes(data)
    except OSError as error:
        message = f"flowrunner graph: cannot write {output}: {error.strerror}"
        print(printable(message), file=sys.stderr)
        return 1
    return 0
