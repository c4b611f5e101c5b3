"""`flowrunner trace CALL`: a call's trace as a timeline, found by channel name, id or file."""

from __future__ import annotations

from pathlib import Path

import pytest
from observed import OK, PRESSES, observed, pin_flow

from flowrunner.cli import main
from flowrunner.flow import load_flow
from flowrunner.sim.asterisk import SimChannel


def traced(tmp_path: Path, **options: object) -> Path:
    _, trace, _ = observed(pin_flow(tmp_path), tmp_path, PRESSES, OK, **options)
    return trace


def test_the_timeline_shows_transitions_guards_vars_and_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traced(tmp_path)
    version = load_flow(str(tmp_path / "pin.yaml")).version
    assert main(["trace", "PJSIP/sim-00000001", "--dir", str(tmp_path / "traces")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "call PJSIP/sim-00000001 (id sim-0001), started 2026-11-30 00:53:20.000 UTC: "
        f"flow pin, version {version}, caller 100, extension 1000"
    )
    body = [line.strip() for line in lines[2:]]
    assert "+0.000s  transition  (start) -> ask (StasisStart)" in body
    assert "+2.100s  transition  check -> bye (http succeeded)  when reply.ok == true" in body
    assert '+2.100s  vars        reply = {"ok": true}' in body
    assert '+1.800s  vars        pin = "***"' in body
    assert '+0.000s  step        play  media="sound:enter-pin"' not in body  # collect's prompt
    assert '+2.100s  step        play  media="sound:goodbye"' in body
    assert "+0.000s  action      answer ok  (status 204, 0 ms)" in body
    assert (
        "+3.100s  end         call ended after 3.100s in ended: flow finished  (ended by flow)"
        in body
    )
    keys = [line for line in body if "ChannelDtmfReceived" in line]
    assert keys == [
        f"+{t}s  event       ChannelDtmfReceived (a key, hidden)"
        for t in ("1.500", "1.600", "1.700", "1.800")
    ]


def test_a_trace_file_is_shown_as_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = traced(tmp_path)
    assert main(["trace", str(trace)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"trace: {trace}"


def test_the_newest_call_of_a_channel_is_shown_and_the_others_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = traced(tmp_path / "1")
    second = traced(tmp_path / "2")
    folder = tmp_path / "both"
    folder.mkdir()
    (folder / "20261130T000000.000Z-a.jsonl").write_text(first.read_text())
    later = "20261130T010000.000Z-b.jsonl"
    (folder / later).write_text(second.read_text())
    assert main(["trace", "sim-0001", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"trace: {folder / later}"
    assert out[-1] == "(1 older call(s) had this channel too: give a file to see one)"


def test_no_such_call_or_folder_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traced(tmp_path)
    assert main(["trace", "PJSIP/nobody", "--dir", str(tmp_path / "traces")]) == 1
    assert capsys.readouterr().out == (
        f"flowrunner trace: no call in {tmp_path / 'traces'} had a channel 'PJSIP/nobody'\n"
    )
    assert main(["trace", "x", "--dir", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().out == (
        f"flowrunner trace: no trace folder {tmp_path / 'none'} (serve --trace DIR writes one)\n"
    )


def test_a_channel_name_with_control_characters_is_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = traced(tmp_path, channel=SimChannel(name="PJSIP/\x1b[31mred\nfake"))
    assert main(["trace", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.splitlines()[0].startswith("call PJSIP/\\x1b[31mred\\nfake (id sim-0001)")
