from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from flowrunner.cli import build_parser, main
from flowrunner.commands.serve import _statistics
from flowrunner.logs import JsonFormatter, LogJournal, setup
from flowrunner.observe.live import Observing

REPO = Path(__file__).parents[3]


def test_an_invalid_flow_stops_serve_at_start_with_validates_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text((REPO / "flows" / "channel-state.yaml").read_text().replace("2s:", "2x:"))
    assert main(["serve", str(flow), "--ari-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().out.startswith(f"{flow}:18:7: states.ringing.after.2x: '2x'")


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


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        # Regression (D16): the first exited 3 with a traceback, the next two retried forever.
        ("http://[::1", "invalid IPv6 URL"),
        ("not a url", "the scheme is missing, not http or https"),
        ("ftp://host", "the scheme is ftp, not http or https"),
        ("http://", "it names no host"),
        ("http://host:99999", "port out of range 0-65535"),
        ("http://host:port", "port could not be cast to integer value as 'port'"),
        ("http://host:0", "port 0"),
        ("http://ho st:8088", "it contains a space or a control character"),
        ("http://host:8088/?x=1", "it has a query or a fragment"),
    ],
)
def test_an_ari_url_that_cannot_work_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], url: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exit_:  # at parsing: serve never starts
        build_parser({}).parse_args(["serve", str(REPO / "flows"), "--ari-url", url])
    assert exit_.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message == (
        f"flowrunner serve: error: argument --ari-url: {url!r} is not an "
        f"http(s)://host[:port][/path] URL: {problem}"
    )


def test_a_bad_ari_url_exits_2_not_3(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(REPO / "flows"), "--ari-url", "http://[::1"])
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_ari_url_from_the_environment_is_checked_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser({"FLOWRUNNER_ARI_URL": "ftp://bob:secret@host"})
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "flows"])
    err = capsys.readouterr().err
    assert "'ftp://***@host' is not an http(s)://host[:port][/path] URL" in err
    assert "secret" not in err


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8088",
        "https://pbx.example",
        "http://bob:secret@10.0.0.1:8088/",
        "http://[::1]:8088/asterisk",
        "HTTP://PBX:1",
    ],
)
def test_good_ari_urls_are_taken_as_they_are(url: str) -> None:
    assert build_parser({}).parse_args(["serve", "flows", "--ari-url", url]).ari_url == [url]


def test_the_ari_url_repeated_names_several_servers_and_replaces_the_default() -> None:
    parser = build_parser({"FLOWRUNNER_ARI_URL": "http://default:8088"})
    assert parser.parse_args(["serve", "flows"]).ari_url == "http://default:8088"
    args = ["serve", "flows", "--ari-url", "http://a:8088", "--ari-url", "http://b:8088"]
    assert parser.parse_args(args).ari_url == ["http://a:8088", "http://b:8088"]


def test_a_terminal_that_cannot_show_a_character_gets_it_escaped_not_a_crash(
    tmp_path: Path,
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text("version: 1\napp: x\ninitial: stärt\nstates: {a: {final: true}}\n")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "flowrunner", "validate", str(flow)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "'st\\xe4rt' is not valid" in done.stdout


def test_stats_give_the_snapshot_and_store_costs_as_percentiles() -> None:
    runtime = SimpleNamespace(keeping=SimpleNamespace(costs=[1e-4, 2e-4, 3e-4]))
    writer = SimpleNamespace(batches=[(2, 0.003), (1, 0.001), (3, 0.002)])  # (snapshots, s)
    assert _statistics(runtime, writer) == {
        "snapshots": 3,
        "snapshot_us": {"p50": pytest.approx(200.0), "p99": pytest.approx(300.0)},
        "store_batches": 3,
        "store_batch_ms": {"p50": pytest.approx(2.0), "p99": pytest.approx(3.0)},
        "store_us_per_snapshot": pytest.approx(1000.0),  # 6 ms for 6 snapshots
    }
    assert _statistics(runtime, None)["store_batches"] == 0


@pytest.mark.parametrize("option", ["--trace-max-mb", "--record-max-days"])
@pytest.mark.parametrize("value", ["0", "-1", "lots", "inf"])
def test_trace_and_record_bounds_must_be_positive_numbers(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser({}).parse_args(["serve", str(REPO / "flows"), option, value])
    assert exit_.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert (
        message == f"flowrunner serve: error: argument {option}: {value!r} is not a positive number"
    )


@pytest.mark.parametrize(("given", "kept_within"), [([], 50), (["--keep-within", "0"], 0)])
def test_calls_are_kept_50_ms_after_a_change_unless_told(
    given: list[str], kept_within: int
) -> None:
    args = build_parser({}).parse_args(["serve", str(REPO / "flows"), *given])
    assert args.keep_within == kept_within


@pytest.mark.parametrize("value", ["-1", "1001", "0.5", "soon"])
def test_the_keep_window_is_whole_ms_up_to_a_second(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser({}).parse_args(["serve", str(REPO / "flows"), "--keep-within", value])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"flowrunner serve: error: argument --keep-within: {value!r} is not a whole number of ms "
        "from 0 to 1000"
    )


def test_trace_and_record_folders_are_made_with_their_bounds(tmp_path: Path) -> None:
    argv = ["serve", str(REPO / "flows"), "--trace", str(tmp_path / "t"), "--record-max-mb", "5"]
    args = build_parser({}).parse_args([*argv, "--record", str(tmp_path / "r")])
    observing = Observing.from_args(args)
    trace, recorder = observing.trace, observing.recorder
    assert trace is not None
    assert recorder is not None
    assert observing.journals() == (trace,)
    assert observing.tap() is recorder
    assert (trace.files.max_bytes, trace.files.max_age) == (200_000_000, 7 * 86400)
    assert (recorder.files.max_bytes, recorder.files.directory) == (5_000_000, tmp_path / "r")
    observing.close()
    nothing = Observing.from_args(build_parser({}).parse_args(argv[:2]))
    assert (nothing.journals(), nothing.tap()) == ((), None)
