from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from flowrunner.cli import main
from flowrunner.logs import JsonFormatter, LogJournal, setup

REPO = Path(__file__).parents[3]


def test_an_invalid_flow_stops_serve_at_start_with_validates_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text((REPO / "flows" / "channel-state.yaml").read_text().replace("2s:", "2x:"))
    assert main(["serve", str(flow), "--ari-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().out.startswith(f"{flow}:18:7: states.ringing.after: '2x'")


def test_two_flows_cannot_serve_one_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(REPO / "flows" / "channel-state.yaml", tmp_path / name)
    assert main(["serve", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path}/b.yaml:9:10: app: app 'channel-state' is already served by" in out


def test_json_logs_carry_the_call_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup("json", "info")
    LogJournal().record(
        "PJSIP/a-1",
        "transition",
        "ringing -> answered",
        source="ringing",
        target="answered",
        late_ms=0.4,
    )
    line = json.loads(capsys.readouterr().err)
    assert line["message"] == "PJSIP/a-1 ringing -> answered"
    assert (line["channel"], line["kind"], line["target"], line["late_ms"]) == (
        "PJSIP/a-1",
        "transition",
        "answered",
        0.4,
    )
    assert line["level"] == "info"


def test_quiet_events_are_debug_only(capsys: pytest.CaptureFixture[str]) -> None:
    setup("text", "info")
    LogJournal().record("PJSIP/a-1", "event", "event ChannelVarset (X)", level="debug")
    assert capsys.readouterr().err == ""


def test_the_json_formatter_keeps_tracebacks() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.makeLogRecord({"msg": "x", "exc_info": __import__("sys").exc_info()})
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(record))["traceback"]
