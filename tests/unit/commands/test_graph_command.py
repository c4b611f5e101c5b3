"""`flowrunner graph`: text to stdout or a file; a picture to a file, or to stdout when that is
not a terminal; no dot program: a clear error and its install hint, exit 1."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fakes import REPO

from flowrunner.cli import build_parser, main
from flowrunner.commands import graph
from flowrunner.flow import load_flow
from flowrunner.flow.graph import dot, mermaid
from flowrunner.graphviz import MISSING

FLOW = str(REPO / "flows" / "channel-state.yaml")


class Terminal(io.TextIOWrapper):
    def __init__(self) -> None:
        super().__init__(io.BytesIO())

    def isatty(self) -> bool:
        return True


def test_text_goes_to_stdout_or_to_the_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", FLOW]) == 0
    assert capsys.readouterr().out == mermaid(load_flow(FLOW)) + "\n"
    out = tmp_path / "flow.dot"
    assert main(["graph", FLOW, "--format", "dot", "-o", str(out)]) == 0
    assert out.read_text() == dot(load_flow(FLOW)) + "\n"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG\r\n\x1a\n")])
def test_a_picture_goes_to_the_output_file(tmp_path: Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"flow.{fmt}"
    assert main(["graph", FLOW, "--format", fmt, "--output", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_a_picture_goes_to_stdout_when_that_is_no_terminal(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert main(["graph", FLOW, "--format", "svg"]) == 0
    svg = capsysbinary.readouterr().out
    assert svg.startswith(b"<?xml")
    assert b"<title>ringing</title>" in svg


def test_a_picture_is_not_written_onto_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    terminal = Terminal()
    args = build_parser().parse_args(["graph", FLOW, "--format", "png"])
    assert graph.main(args, stdout=terminal) == 2
    assert terminal.buffer.getvalue() == b""  # type: ignore[attr-defined]
    assert capsys.readouterr().err == (
        "flowrunner graph: --format png writes a picture: give --output FILE, or send the "
        "output to a file (> flow.png)\n"
    )


def test_without_dot_a_picture_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on it
    out = tmp_path / "flow.svg"
    assert main(["graph", FLOW, "--format", "svg", "-o", str(out)]) == 1
    assert capsys.readouterr().err == f"flowrunner graph: {MISSING}\n"
    assert MISSING == (
        "Graphviz's dot program is not installed (--format svg and png need it): install it "
        "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or use "
        "--format dot or mermaid"
    )
    assert not out.exists()


def test_an_output_file_that_cannot_be_written_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nowhere" / "flow.svg"
    assert main(["graph", FLOW, "--format", "mermaid", "-o", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"flowrunner graph: cannot write {out}: No such file or directory\n"
    )
