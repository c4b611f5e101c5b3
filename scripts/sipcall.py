#!/usr/bin/env python3
"""Place real SIP calls into the sandbox Asterisk with sipp, and time what the caller sees.

    python3 scripts/sipcall.py --calls 10 --rate 5 --ext 2000
    python3 scripts/sipcall.py --ext 2000 --scenario uac-hangup --hangup-after 1000

Each call is timed from its INVITE: ring (180), answer (200) and hangup (BYE from Asterisk, or
the caller's own CANCEL/BYE in the uac-hangup scenario). The scenarios live in
scripts/asterisk/sipp/ and log one line per step ("EVENT call=N t=MS id=CALL-ID") with sipp's
-trace_logs; sipp's error log gives the reason a call failed.

Also a module, for tests, demos and the load bench (standard library only):

    sys.path.insert(0, "<repo>/scripts")
    import sipcall
    report = sipcall.place_calls(calls=5, rate=5, ext="2000")
    assert report.failed_count == 0, report.format_text()
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).resolve().parent / "asterisk" / "sipp"
ASTERISK = "127.0.0.1:5060"
LOCAL_IP = "127.0.0.1"
DEFAULT_CALL_TIMEOUT_S = 30.0
KILL_GRACE_S = 3.0
# sipp exit codes: 0 all calls ok, 1 some failed, 99 no call processed. Others: sipp broke.
SIPP_RAN = {0, 1, 99}

LOG_LINE = re.compile(r"^(?P<event>[A-Z]+) call=(?P<number>\d+) t=(?P<t>\d+) id=(?P<id>\S+)$")
# Each sipp error entry starts with "date<TAB>time<TAB>epoch: "; entries are not always
# separated by newlines, so split on this header.
ERROR_HEADER = re.compile(r"\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t\d+\.\d+: ")
ERROR_CALL_ID = re.compile(r"Call-I[Dd][:]? '?(?P<id>[^',\s]+)")
UNEXPECTED = re.compile(r"Aborting call on unexpected message.*?received '(?P<line>[^\r\n]*)")
HANGUP_EVENTS = {"BYE": "remote", "CANCEL": "caller", "HANGUP": "caller"}
TIMED_FIELDS = ("ring_ms", "answer_ms", "hangup_ms")


class SippError(RuntimeError):
    """sipp could not run (missing, bad scenario, could not bind): no call was measured."""


@dataclass(frozen=True)
class CallResult:
    """What the caller saw on one call. Times are milliseconds after its INVITE."""

    number: int
    outcome: str  # "ok" or "failed"
    reason: str = ""  # why it failed; empty when ok
    call_id: str = ""
    ring_ms: int | None = None  # 180 Ringing
    answer_ms: int | None = None  # 200 OK to the INVITE
    hangup_ms: int | None = None  # first of: BYE from Asterisk, caller's CANCEL or BYE
    hangup_by: str | None = None  # "remote" or "caller"
    events: dict[str, int] = field(default_factory=dict)  # sipp clock ms per logged step

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: int | None
    p99: int | None


@dataclass(frozen=True)
class CallReport:
    """All calls of one sipp run, in call order, with a summary."""

    ext: str
    scenario: str
    calls: list[CallResult]
    wall_s: float
    sipp_exit: int | None  # None when the run was killed at its timeout
    log_dir: str | None = None  # where sipp's logs were kept, if asked

    @property
    def ok_count(self) -> int:
        return sum(call.ok for call in self.calls)

    @property
    def failed_count(self) -> int:
        return len(self.calls) - self.ok_count

    @property
    def failed(self) -> list[CallResult]:
        return [call for call in self.calls if not call.ok]

    def percentiles(self, name: str) -> Percentiles:
        """p50/p99 of ring_ms, answer_ms or hangup_ms over the calls that have it."""
        values = sorted(v for call in self.calls if (v := getattr(call, name)) is not None)
        return Percentiles(len(values), _percentile(values, 50), _percentile(values, 99))

    def summary(self) -> dict[str, Any]:
        return {
            "ext": self.ext,
            "scenario": self.scenario,
            "calls": len(self.calls),
            "ok": self.ok_count,
            "failed": self.failed_count,
            "wall_s": round(self.wall_s, 2),
            "sipp_exit": self.sipp_exit,
            **{name: asdict(self.percentiles(name)) for name in TIMED_FIELDS},
        }

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "calls": [asdict(call) for call in self.calls]}

    def format_text(self, per_call: bool = True) -> str:
        lines = _call_table(self.calls if per_call else self.failed)
        return "\n".join([*lines, *_summary_lines(self)])


def _percentile(values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    return values[max(0, math.ceil(q / 100 * len(values)) - 1)]


# --- running sipp -----------------------------------------------------------------------------


def place_calls(
    calls: int,
    rate: float,
    ext: str,
    scenario: str = "uac",
    timeout: float | None = None,
    *,
    hangup_after_ms: int = 1000,
    call_timeout: float = DEFAULT_CALL_TIMEOUT_S,
    target: str = ASTERISK,
    log_dir: str | Path | None = None,
    extra_args: Sequence[str] = (),
) -> CallReport:
    """Place `calls` calls at `rate` calls/s to extension `ext` and report what each saw.

    scenario: "uac" (Asterisk answers and hangs up), "uac-hangup" (the caller hangs up
    `hangup_after_ms` after its INVITE: CANCEL if not answered yet, else BYE), or a path to
    another sipp scenario that logs the same lines.
    timeout: hard wall-clock limit for the whole run, in seconds (default: the time to start
    all calls plus call_timeout plus 10 s). sipp is stopped then; calls not done fail.
    call_timeout: how long a call may wait for any one expected message (sipp -recv_timeout).
    log_dir: keep sipp's logs there (default: a temporary directory, removed).
    """
    if calls < 1 or rate <= 0:
        raise ValueError("calls must be >= 1 and rate > 0")
    if timeout is None:
        timeout = calls / rate + call_timeout + 10
    scenario_file = _scenario_path(scenario)
    with _log_directory(log_dir) as logs:
        command = _sipp_command(
            scenario_file, ext, calls, rate, logs, hangup_after_ms, call_timeout, target
        )
        started = time.monotonic()
        exit_code = _run_sipp([*command, *extra_args], logs, timeout)
        wall_s = time.monotonic() - started
        results = _results(logs, calls, killed=exit_code is None)
        if exit_code is not None and not any(call.events for call in results):
            # sipp exits 1 both when calls fail and when it cannot start at all.
            raise SippError(f"sipp placed no call (exit {exit_code}):\n{_output_tail(logs)}")
    kept = str(log_dir) if log_dir is not None else None
    return CallReport(ext, scenario, results, wall_s, exit_code, kept)


def _scenario_path(scenario: str) -> Path:
    path = Path(scenario) if scenario.endswith(".xml") else SCENARIO_DIR / f"{scenario}.xml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.xml")))
        raise ValueError(f"no sipp scenario {scenario!r} (known: {known}, or a path to .xml)")
    return path


@contextmanager
def _log_directory(keep: str | Path | None) -> Iterator[Path]:
    """The given directory (created, kept) or a temporary one (removed afterwards)."""
    if keep is not None:
        Path(keep).mkdir(parents=True, exist_ok=True)
        yield Path(keep)
        return
    with tempfile.TemporaryDirectory(prefix="sipcall-") as tmp:
        yield Path(tmp)


def free_udp_port(host: str = LOCAL_IP) -> int:
    """A port the kernel picks at random: sipp's own default (5061, 5062, ...) would reuse
    the last run's port, and Asterisk's retransmissions for that run would reach this one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _sipp_command(
    scenario: Path,
    ext: str,
    calls: int,
    rate: float,
    logs: Path,
    hangup_after_ms: int,
    call_timeout: float,
    target: str,
) -> list[str]:
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SippError("sipp is not installed (run: scripts/asterisk-sandbox deps)")
    return [
        sipp, target,
        "-sf", str(scenario),
        "-s", ext,
        "-i", LOCAL_IP,
        "-p", str(free_udp_port()),
        "-m", str(calls),
        "-r", f"{rate:g}",
        "-l", str(calls),  # never throttle: sipp's default limit assumes a call length
        "-d", str(hangup_after_ms),  # the <pause> of uac-hangup
        "-recv_timeout", str(int(call_timeout * 1000)),
        "-aa",  # answer OPTIONS/INFO/NOTIFY/UPDATE from Asterisk with 200
        "-nostdin",
        "-trace_logs", "-log_file", str(logs / "calls.log"),
        "-trace_err", "-error_file", str(logs / "errors.log"),
    ]  # fmt: skip


def _run_sipp(command: list[str], logs: Path, timeout: float) -> int | None:
    """Run sipp; its exit code, or None if it had to be stopped at the timeout."""
    with (logs / "sipp.out").open("wb") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=logs
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            return None
    if code not in SIPP_RAN:
        raise SippError(f"sipp failed (exit {code}): {' '.join(command)}\n{_output_tail(logs)}")
    return code


def _output_tail(logs: Path) -> str:
    return _read(logs / "sipp.out")[-2000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGINT lets sipp flush its logs; SIGKILL if it does not go.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- reading sipp's logs ----------------------------------------------------------------------


def _results(logs: Path, calls: int, killed: bool) -> list[CallResult]:
    events, call_ids = parse_call_log(_read(logs / "calls.log"))
    errors = parse_error_log(_read(logs / "errors.log"))
    number_of = {call_id: number for number, call_id in call_ids.items()}
    reasons: dict[int, str] = {}
    for call_id, reason in errors:
        number = number_of.get(call_id)
        if number is not None:
            reasons.setdefault(number, reason)
    return [
        _call_result(n, events.get(n, {}), call_ids.get(n, ""), reasons.get(n), killed)
        for n in range(1, calls + 1)
    ]


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def parse_call_log(text: str) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    """Events per call number ({"INVITE": t, ...}, first of each) and Call-IDs."""
    events: dict[int, dict[str, int]] = {}
    call_ids: dict[int, str] = {}
    for line in text.splitlines():
        match = LOG_LINE.match(line.strip())
        if match is None:
            continue
        number = int(match["number"])
        events.setdefault(number, {}).setdefault(match["event"], int(match["t"]))
        call_ids[number] = match["id"]
    return events, call_ids


def parse_error_log(text: str) -> list[tuple[str, str]]:
    """(Call-ID, reason) for each sipp error entry that names a call and fails it."""
    found = []
    for entry in ERROR_HEADER.split(text):
        if entry.startswith(("Dead call", "Discarding message")):
            continue  # late messages for calls already over: not a reason
        call_id = ERROR_CALL_ID.search(entry)
        if call_id is not None:
            found.append((call_id["id"], _reason(entry)))
    return found


def _reason(entry: str) -> str:
    unexpected = UNEXPECTED.search(entry)
    if unexpected is not None:
        line = unexpected["line"].removeprefix("SIP/2.0 ")
        return f"unexpected {line.split(' sip:')[0]}"
    if "receive timeout" in entry:
        return "receive timeout (nothing expected came within call_timeout)"
    if "retransmission timeout" in entry:
        return "no response to retransmissions"
    return entry.splitlines()[0][:160]


def _call_result(
    number: int, events: dict[str, int], call_id: str, error: str | None, killed: bool
) -> CallResult:
    invite = events.get("INVITE")
    if invite is None:
        reason = "never started (the run was stopped first)" if killed else "never started"
        return CallResult(number, "failed", reason, call_id)

    def after(event: str) -> int | None:
        return events[event] - invite if event in events else None

    hangup = min((e for e in HANGUP_EVENTS if e in events), key=events.__getitem__, default=None)
    ok = "END" in events and error is None
    return CallResult(
        number,
        "ok" if ok else "failed",
        "" if ok else _failure_reason(events, error, killed),
        call_id,
        ring_ms=after("RINGING"),
        answer_ms=after("ANSWER"),
        hangup_ms=after(hangup) if hangup else None,
        hangup_by=HANGUP_EVENTS[hangup] if hangup else None,
        events=dict(events),
    )


def _failure_reason(events: dict[str, int], error: str | None, killed: bool) -> str:
    last = max(events, key=events.__getitem__)
    if error is not None:
        return f"{error} (after {last})"
    if killed:
        return f"still in progress when the run was stopped (after {last})"
    return f"did not finish (after {last})"


# --- text output ------------------------------------------------------------------------------


def _ms(value: int | None) -> str:
    return "-" if value is None else str(value)


def _row(*cols: object) -> str:
    """call, result, ring, answer, hangup, by, reason: aligned."""
    number, result, ring, answer, hangup, by, reason = cols
    return f"{number:>5}  {result:<6}  {ring:>7}  {answer:>7}  {hangup:>7}  {by:<6}  {reason}"


def _call_table(calls: Iterable[CallResult]) -> list[str]:
    rows = [_call_row(call) for call in calls]
    if not rows:
        return []
    return [_row("call", "result", "ring", "answer", "hangup", "by", "reason"), *rows, ""]


def _call_row(c: CallResult) -> str:
    times = (_ms(c.ring_ms), _ms(c.answer_ms), _ms(c.hangup_ms))
    return _row(c.number, c.outcome, *times, c.hangup_by or "-", c.reason)


def _summary_lines(report: CallReport) -> list[str]:
    lines = [
        f"ext {report.ext} ({report.scenario}): {len(report.calls)} calls, "
        f"{report.ok_count} ok, {report.failed_count} failed, in {report.wall_s:.1f} s"
        + ("" if report.sipp_exit is not None else " (stopped at the timeout)"),
    ]
    for name in TIMED_FIELDS:
        p = report.percentiles(name)
        label = name.removesuffix("_ms")
        lines.append(f"  {label:<7} p50 {_ms(p.p50):>6} ms   p99 {_ms(p.p99):>6} ms  (n={p.count})")
    if report.log_dir:
        lines.append(f"  sipp logs: {report.log_dir}")
    return lines


# --- command line -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Place SIP calls into the sandbox Asterisk with sipp and time them.",
    )
    parser.add_argument("--calls", type=int, default=1, help="number of calls (default 1)")
    parser.add_argument("--rate", type=float, default=1.0, help="new calls per second")
    parser.add_argument("--ext", default="2000", help="extension in [from-trunk] (default 2000)")
    parser.add_argument(
        "--scenario", default="uac", help="uac (default), uac-hangup, or a path to a .xml"
    )
    parser.add_argument(
        "--hangup-after", type=int, default=1000, metavar="MS",
        help="uac-hangup: the caller hangs up MS after its INVITE (default 1000)",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, help="hard limit for the whole run, seconds")
    parser.add_argument(
        "--call-timeout", type=float, default=DEFAULT_CALL_TIMEOUT_S, metavar="S",
        help=f"max wait for any one message of a call (default {DEFAULT_CALL_TIMEOUT_S:g})",
    )  # fmt: skip
    parser.add_argument("--log-dir", help="keep sipp's logs in this directory")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--brief", action="store_true", help="table of failed calls only, then the summary"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 if every call was ok, 1 if some failed, 2 if sipp could not run."""
    args = _parser().parse_args(argv)
    try:
        report = place_calls(
            args.calls, args.rate, args.ext, args.scenario, args.timeout,
            hangup_after_ms=args.hangup_after, call_timeout=args.call_timeout,
            log_dir=args.log_dir,
        )  # fmt: skip
    except (SippError, ValueError) as error:
        print(f"sipcall: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.format_text(per_call=not args.brief))
    return 0 if report.failed_count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
