"""Load bench: real SIP calls (sipp) through the sandbox Asterisk, flowrunner against baselines.

    .venv/bin/python bench/load.py [--rates 25,50,100,200] [--seconds 10]
                                   [--transport auto|websocket|http[,...]]
                                   [--targets flowrunner,dialplan,seed] [--json FILE]
                                   [--cores ASTERISK:APPS]

Targets, each placed round(rate * seconds) calls at each rate with scripts/sipcall.py's "uac"
scenario (INVITE -> 180 -> 200 -> ACK -> wait for Asterisk's BYE -> 200):

- flowrunner: extension 1000 (Stasis(channel-state)), served by a fresh
  `.venv/bin/flowrunner serve flows/channel-state.yaml --log-level warning --ari-transport T`
  per run, keeping its calls in SQLite (the default) in a file of the bench's own. Several
  transports (`--transport auto,http`) give one target each.
- dialplan: extension 2000, the same call in pure dialplan: the baseline, no ARI at all.
- seed: extension 1000 served by the seed's Node.js app (bench/seed/channel-state.js, on
  node-ari-client), for comparison; `npm install` runs there on first use.

Per run: calls ok/failed; ring latency p50/p99; answer error |t - 2000 ms| and hangup error
|t - 6000 ms| p50/p99 (t from the caller's INVITE); CPU ms per call of the app (flowrunner or
node), of Asterisk and of sipp, over the load window; the app's peak RSS (VmHWM); new
"HTTP session count exceeded" and other WARNING/ERROR lines in Asterisk's messages.log; the
channels still in Asterisk 10 s after sipp finished; and how busy the rest of the machine was.

Every run starts from a clean Asterisk (up, no channel: leftovers are hung up and noted), is
bounded in time, and stops what it started in `finally` blocks.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import sipcall  # noqa: E402  (scripts/ is not a package: it is put on the path just above)

SANDBOX = REPO / "scripts" / "asterisk-sandbox"
FLOW = REPO / "flows" / "channel-state.yaml"
FLOWRUNNER = REPO / ".venv" / "bin" / "flowrunner"
SEED_DIR = REPO / "bench" / "seed"
ARI_URL = "http://127.0.0.1:8088"
ARI_USER = ARI_PASSWORD = "asterisk"  # the sandbox's throwaway ARI user (scripts/asterisk/etc)
APP = "channel-state"
ANSWER_AT_MS, HANGUP_AT_MS = 2000, 6000  # what flows/channel-state.yaml and ext 2000 do
CALL_TIMEOUT_S = 15.0  # sipp's wait for any one message: a 6 s call never needs more
READY_TIMEOUT_S = 30.0  # the app starts, connects and registers with Asterisk
DRAIN_S = 10.0  # after sipp: how long channels may take to go
STOP_TIMEOUT_S = 5.0
QUIET_CORES = 0.25  # "the machine is quiet": everything but Asterisk uses less than this
TICKS = os.sysconf("SC_CLK_TCK")
SESSION_LIMIT = "HTTP session count exceeded"
LOG_LEVEL = re.compile(r"^\[[^\]]*\] (?P<level>WARNING|ERROR)\[\d+\](?:\[[^\]]*\])? (?P<text>.*)")
TAIL_LINES = 15

# Each target's check against the goals (see `checks`).
P99_LIMIT_MS = 20
CPU_OF_SEED = 1 / 3  # the runner's CPU per call against the seed's, on the same calls


class BenchError(RuntimeError):
    """A run could not be made (Asterisk down, the app did not start): recorded, not raised."""


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """Nearest-rank percentiles of a list of milliseconds."""

    n: int
    p50: int | None
    p99: int | None
    max: int | None

    @classmethod
    def of(cls, values: Sequence[int]) -> Stat:
        ordered = sorted(values)
        if not ordered:
            return NO_CALLS

        def rank(q: float) -> int:
            return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

        return cls(len(ordered), rank(50), rank(99), ordered[-1])

    def __str__(self) -> str:
        return "-" if self.n == 0 else f"{self.p50} / {self.p99}"


NO_CALLS = Stat(0, None, None, None)


@dataclass
class RunResult:
    target: str
    transport: str | None  # what the flowrunner target used; None for the others
    rate: float
    seconds: float
    calls: int
    ok: int = 0
    failed: int = 0
    ring: Stat = NO_CALLS
    answer_error: Stat = NO_CALLS
    hangup_error: Stat = NO_CALLS
    app_cpu_ms: float | None = None  # per call placed; flowrunner or node
    asterisk_cpu_ms: float | None = None  # per call placed
    sipp_cpu_ms: float | None = None  # per call placed
    udp_per_call: float | None = None  # UDP datagrams sent on the machine, per call placed
    busy_cores: float | None = None  # busy cores of the whole machine over the load window
    other_cores: float | None = None  # of which not Asterisk, the app, sipp nor this bench
    app_peak_rss_mb: float | None = None
    session_limit_warnings: int = 0
    warning_lines: int = 0  # every new WARNING/ERROR line in messages.log, the above included
    top_warnings: list[tuple[str, int]] = field(default_factory=list)
    channels_left: int = 0
    failure_reasons: dict[str, int] = field(default_factory=dict)
    app_exit: str | None = None  # the app died during the run: how, and its stderr tail
    window_s: float = 0.0
    code: str = ""  # fingerprint of flowrunner's sources when the run started
    error: str | None = None  # the run could not be made
    notes: list[str] = field(default_factory=list)
    # every call's answer and hangup errors (ms), to pool the percentiles of several rounds
    answer_errors: list[int] = field(default_factory=list, repr=False)
    hangup_errors: list[int] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Target:
    name: str  # flowrunner, flowrunner-http, dialplan, seed
    ext: str
    command: tuple[str, ...] = ()  # the ARI app started fresh per run; () for dialplan
    cwd: Path = REPO
    env: tuple[tuple[str, str], ...] = ()
    transport: str | None = None  # flowrunner's --ari-transport, resolved from "auto"


# --- Asterisk ---------------------------------------------------------------------------------


def ari(method: str, path: str, timeout: float = 5.0) -> tuple[int, Any]:
    """One ARI request: (HTTP status or 0 if unreachable, decoded JSON body)."""
    request = urllib.request.Request(f"{ARI_URL}/ari/{path}", method=method)
    token = base64.b64encode(f"{ARI_USER}:{ARI_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, _json(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())
    except OSError as error:  # URLError is an OSError
        return 0, str(error)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def sandbox(*args: str, timeout: float = 180.0) -> str:
    """Run scripts/asterisk-sandbox; its stdout. `start` may build the chroot (a minute)."""
    done = subprocess.run(
        [str(SANDBOX), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0 and args[0] != "status":
        raise BenchError(f"asterisk-sandbox {' '.join(args)} failed: {done.stderr[-800:]}")
    return done.stdout


def ensure_asterisk() -> int:
    """Start the sandbox if needed (idempotent); Asterisk's pid."""
    sandbox("start")
    pid = asterisk_pid()
    if pid is None:
        raise BenchError("Asterisk is not running after asterisk-sandbox start")
    return pid


def asterisk_pid() -> int | None:
    match = re.search(r"running \(pid (\d+)\)", sandbox("status", timeout=30))
    return None if match is None else int(match[1])


def channels() -> list[dict[str, Any]]:
    status, body = ari("GET", "channels")
    if status != 200 or not isinstance(body, list):
        raise BenchError(f"GET /ari/channels: {status} {body}")
    return body


def wait_no_channels(timeout: float) -> list[dict[str, Any]]:
    """Poll until Asterisk has no channel or `timeout` passes; the channels still there."""
    deadline = time.monotonic() + timeout
    while True:
        left = channels()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)


def clear_channels(wait: float) -> str | None:
    """Make sure no channel is left from before: wait, then hang up the rest. A note, if any."""
    left = wait_no_channels(wait)
    if not left:
        return None
    for channel in left:
        ari("DELETE", f"channels/{channel['id']}")
    still = wait_no_channels(5.0)
    names = ", ".join(sorted(str(c.get("name")) for c in left)[:5])
    return f"hung up {len(left)} channel(s) left over ({names}...); {len(still)} remain"


def app_registered() -> bool:
    return ari("GET", f"applications/{APP}", timeout=2.0)[0] == 200


def messages_log() -> Path:
    return Path(sandbox("log", "--path", timeout=10).strip())


class LogWatch:
    """The lines Asterisk adds to messages.log after `start()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def start(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            if log.seek(0, os.SEEK_END) < self.offset:
                self.offset = 0  # rotated or truncated meanwhile: read it all
            log.seek(self.offset)
            return log.read().decode(errors="replace").splitlines()


def warnings_in(lines: list[str]) -> tuple[int, int, list[tuple[str, int]]]:
    """Session-limit warnings, all WARNING/ERROR lines, and the five most frequent kinds."""
    kinds: Counter[str] = Counter()
    for line in lines:
        match = LOG_LEVEL.match(line)
        if match is not None:
            # Numbers (channel ids, counts) vary per line: fold them to count kinds of lines.
            kinds[f"{match['level']} " + re.sub(r"\d+", "N", match["text"])[:140]] += 1
    session = sum(SESSION_LIMIT in line for line in lines)
    return session, sum(kinds.values()), kinds.most_common(5)


# --- /proc ------------------------------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process and all its threads: fields 14 and 15 of /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return int(fields[11]) + int(fields[12])


def machine_busy_ticks() -> int:
    """Busy time of all cores (user, nice, system, irq, softirq, steal) from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values[:3]) + sum(values[5:8])


def children_ticks() -> int:
    """CPU of this process's reaped children: across place_calls, that is sipp's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * TICKS)


def self_ticks() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round((usage.ru_utime + usage.ru_stime) * TICKS)


def udp_sent(snmp: str, snmp6: str = "") -> int:
    """UDP datagrams the machine has sent, IPv4 and IPv6 (`/proc/net/snmp` and `snmp6`): sipp
    and Asterisk share its network stack, so over a run that is the calls' SIP, both ways, and
    the RTP Asterisk sends the callers."""
    names, values = (line.split()[1:] for line in snmp.splitlines() if line.startswith("Udp:"))
    sent = int(dict(zip(names, values, strict=True))["OutDatagrams"])
    for line in snmp6.splitlines():
        if line.startswith("Udp6OutDatagrams"):
            sent += int(line.split()[1])
    return sent


def udp_datagrams() -> int:
    snmp6 = Path("/proc/net/snmp6")
    return udp_sent(Path("/proc/net/snmp").read_text(), snmp6.read_text() if snmp6.exists() else "")


def peak_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def other_cores(seconds: float, pids: Sequence[int]) -> float:
    """How many cores everything but `pids` keeps busy, sampled over `seconds`."""
    before = machine_busy_ticks() - sum(cpu_ticks(p) for p in pids)
    time.sleep(seconds)
    after = machine_busy_ticks() - sum(cpu_ticks(p) for p in pids)
    return (after - before) / TICKS / seconds


def wait_until_quiet(asterisk: int, limit_s: float) -> str | None:
    """Another bench on these 2 cores would skew every number: wait (bounded) until it is done."""
    deadline = time.monotonic() + limit_s
    busy = other_cores(1.0, [asterisk])
    while busy > QUIET_CORES and time.monotonic() < deadline:
        busy = other_cores(2.0, [asterisk])
    if busy > QUIET_CORES:
        return f"the machine was busy before this run ({busy:.2f} cores used by other processes)"
    return None


# --- the ARI app under test -------------------------------------------------------------------


class App:
    """A fresh ARI app process for one run: started, checked, stopped (SIGTERM, then SIGKILL)."""

    def __init__(self, target: Target, logs: Path, tag: str = "") -> None:
        self.target = target
        self.stdout = logs / f"{target.name}{tag}.stdout"
        self.stderr = logs / f"{target.name}{tag}.stderr"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        # The app of the run before must be gone, or "registered" below would mean it.
        if not _poll(lambda: not app_registered(), 10.0):
            raise BenchError(f"ARI app {APP} is still registered by another client")
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                self.target.command,
                cwd=self.target.cwd,
                env={**os.environ, **dict(self.target.env)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # our Ctrl-C is handled here, not by the app
            )
        # Readiness from Asterisk's side: the app is registered once its events WebSocket is
        # up. This keeps the runner at warning level (its "connected" line is info).
        if not _poll(lambda: self.exit_status() is None and app_registered(), READY_TIMEOUT_S):
            raise BenchError(f"{self.target.name} did not register app {APP}: {self.describe()}")

    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def describe(self) -> str:
        code = self.exit_status()
        state = "still running" if code is None else f"exited with {code}"
        return f"{state}; stderr tail:\n{tail(self.stderr)}"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)


def _poll(condition: Any, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    if not path.exists():
        return "(none)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text) or "(empty)"


def resolve_transport(transport: str, logs: Path) -> str:
    """What `--ari-transport auto` picks on this Asterisk: one short run at info level, idle."""
    if transport != "auto":
        return transport
    probe = Target("transport-probe", "", flowrunner_command("auto", logs, "info"))
    app = App(probe, logs)
    try:
        app.start()
        found = _poll(lambda: "connected to ARI" in app.stderr.read_text(), 10.0)
        # "connected …; REST over http until Asterisk answers the probe", then the probe's
        # verdict on a line of its own: the last one says what the runs use
        _poll(lambda: len(re.findall(r"REST over (\w+)", app.stderr.read_text())) > 1, 3.0)
        said = re.findall(r"REST over (\w+)", app.stderr.read_text()) if found else []
        return f"auto→{said[-1]}" if said else "auto→?"
    finally:
        app.stop()


def flowrunner_command(transport: str, logs: Path, level: str = "warning") -> tuple[str, ...]:
    """`serve` with its defaults, but its calls kept in a SQLite file of the bench's own (the
    default kind of store), never in the user's."""
    options = (
        "--log-level",
        level,
        "--ari-transport",
        transport,
        "--state",
        str(logs / "calls.db"),
    )
    return (str(FLOWRUNNER), "serve", str(FLOW), *options)


def seed_ready() -> str | None:
    """Install node-ari-client for the seed on first use; why the seed cannot run, if so."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node or npm is not installed"
    if (SEED_DIR / "node_modules" / "ari-client").is_dir():
        return None
    print("bench: npm install in bench/seed (first use)", file=sys.stderr)
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=SEED_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "npm install timed out after 300 s"
    if done.returncode != 0:
        return f"npm install failed ({done.returncode}): {done.stderr[-800:]}"
    return None


# --- one run ----------------------------------------------------------------------------------


@dataclass
class Window:
    """CPU counters, and UDP datagrams sent, at the start of the load window."""

    asterisk: int
    app: int | None
    sipp: int
    machine: int
    bench: int
    wall: float
    udp: int

    @classmethod
    def open(cls, asterisk: int, app: int | None) -> Window:
        return cls(
            cpu_ticks(asterisk),
            None if app is None else cpu_ticks(app),
            children_ticks(),
            machine_busy_ticks(),
            self_ticks(),
            time.monotonic(),
            udp_datagrams(),
        )

    def close(self, result: RunResult, asterisk: int, app: int | None) -> None:
        def per_call(ticks: int) -> float:
            return round(ticks / TICKS * 1000 / result.calls, 2)

        result.window_s = round(time.monotonic() - self.wall, 1)
        asterisk_d = cpu_ticks(asterisk) - self.asterisk
        app_d = 0 if app is None or self.app is None else cpu_ticks(app) - self.app
        sipp_d = children_ticks() - self.sipp
        result.asterisk_cpu_ms = per_call(asterisk_d)
        result.app_cpu_ms = None if app is None else per_call(app_d)
        result.sipp_cpu_ms = per_call(sipp_d)
        result.udp_per_call = round((udp_datagrams() - self.udp) / result.calls, 1)
        # Near 2 (this machine's cores), the run was CPU-bound whatever the app did.
        busy = machine_busy_ticks() - self.machine
        result.busy_cores = round(busy / TICKS / max(result.window_s, 0.1), 2)
        # What nobody in this bench used: other benches, builds, the kernel's own work.
        rest = busy - asterisk_d - app_d - sipp_d - (self_ticks() - self.bench)
        result.other_cores = round(rest / TICKS / max(result.window_s, 0.1), 2)


def run_once(target: Target, rate: float, seconds: float, logs: Path, quiet_s: float) -> RunResult:
    calls = max(1, round(rate * seconds))
    result = RunResult(target.name, target.transport, rate, seconds, calls, code=code_id())
    app = App(target, logs, f"-{rate:g}") if target.command else None
    try:
        _run(target, app, result, logs, quiet_s)
    except (BenchError, sipcall.SippError, OSError, subprocess.SubprocessError) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        if app is not None:
            app.stop()
        # Leave no channel to the next run (the app is gone: nobody else would end them).
        with contextlib.suppress(BenchError):
            if note := clear_channels(0.0):
                result.notes.append(f"after the run: {note}")
    return result


def _run(target: Target, app: App | None, result: RunResult, logs: Path, quiet_s: float) -> None:
    asterisk = ensure_asterisk()
    if note := clear_channels(15.0):
        result.notes.append(f"before the run: {note}")
    if note := wait_until_quiet(asterisk, quiet_s):
        result.notes.append(note)
    watch = LogWatch(messages_log())
    watch.start()
    if app is not None:
        app.start()
    app_pid = None if app is None else app.pid
    window = Window.open(asterisk, app_pid)
    report = sipcall.place_calls(
        result.calls,
        result.rate,
        target.ext,
        call_timeout=CALL_TIMEOUT_S,
        log_dir=logs / f"sipp-{target.name}-{result.rate:g}",
    )
    window.close(result, asterisk, app_pid)
    if app is not None:
        result.app_peak_rss_mb = peak_rss_mb(app.pid)
        if app.exit_status() is not None:
            result.app_exit = app.describe()
    result.channels_left = len(wait_no_channels(DRAIN_S))
    record_calls(result, report)
    record_log(result, watch.new_lines())
    if asterisk_pid() != asterisk:
        result.notes.append("Asterisk restarted during the run: its CPU figure is wrong")


def record_calls(result: RunResult, report: sipcall.CallReport) -> None:
    result.ok, result.failed = report.ok_count, report.failed_count
    result.ring = Stat.of([c.ring_ms for c in report.calls if c.ring_ms is not None])
    result.answer_errors = [
        abs(c.answer_ms - ANSWER_AT_MS) for c in report.calls if c.answer_ms is not None
    ]
    result.hangup_errors = [
        abs(c.hangup_ms - HANGUP_AT_MS) for c in report.calls if c.hangup_ms is not None
    ]
    result.answer_error = Stat.of(result.answer_errors)
    result.hangup_error = Stat.of(result.hangup_errors)
    # "after ANSWER" etc.: keep the reason, drop the per-call detail, to count kinds.
    reasons = Counter(re.sub(r"\d+", "N", c.reason) for c in report.failed)
    result.failure_reasons = dict(reasons.most_common(5))
    if report.sipp_exit is None:
        result.notes.append("sipp was stopped at its timeout")


def record_log(result: RunResult, lines: list[str]) -> None:
    session, total, top = warnings_in(lines)
    result.session_limit_warnings, result.warning_lines, result.top_warnings = session, total, top


# --- output -----------------------------------------------------------------------------------

COLUMNS = (
    "rate /s", "calls", "ok", "failed", "ring p50 / p99 ms", "answer err p50 / p99 ms",
    "hangup err p50 / p99 ms", "app CPU ms/call", "Asterisk CPU ms/call", "sipp CPU ms/call",
    "app peak RSS MB", "session-limit warnings", "WARNING/ERROR lines", "channels left",
    "busy / other cores",
)  # fmt: skip


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def row(r: RunResult) -> list[str]:
    if r.error is not None:
        return [_cell(r.rate), str(r.calls), "-", "-", *["-"] * (len(COLUMNS) - 5), "run failed"]
    return [
        _cell(r.rate), str(r.calls), str(r.ok), str(r.failed), str(r.ring),
        str(r.answer_error), str(r.hangup_error), _cell(r.app_cpu_ms), _cell(r.asterisk_cpu_ms),
        _cell(r.sipp_cpu_ms), _cell(r.app_peak_rss_mb), str(r.session_limit_warnings),
        str(r.warning_lines), str(r.channels_left),
        f"{_cell(r.busy_cores)} / {_cell(r.other_cores)}",
    ]  # fmt: skip


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def target_table(name: str, runs: list[RunResult]) -> str:
    title = f"### {name}" + (f" (transport {runs[0].transport})" if runs[0].transport else "")
    notes = [f"- {_cell(r.rate)}/s: {n}" for r in runs for n in run_notes(r)]
    return "\n".join([title, "", markdown(COLUMNS, [row(r) for r in runs]), "", *notes])


def run_notes(r: RunResult) -> list[str]:
    notes = [] if r.error is None else [f"run failed: {r.error}"]
    notes += [f"failed calls: {n} x {reason}" for reason, n in r.failure_reasons.items()]
    if r.app_exit is not None:
        notes.append("the app died during the run: " + r.app_exit.replace("\n", "\n      "))
    notes += [f"Asterisk log: {n} x {text}" for text, n in r.top_warnings]
    return notes + r.notes


def comparison(results: list[RunResult]) -> str:
    """Per rate, every target side by side, with Asterisk's cost over the dialplan baseline."""
    header = ["rate /s", "target", "ok / calls", "answer err p99", "hangup err p99",
              "Asterisk CPU ms/call", "vs dialplan", "app CPU ms/call", "UDP datagrams/call",
              "session warnings", "channels left"]  # fmt: skip
    rows = []
    for rate in sorted({r.rate for r in results}):
        at_rate = [r for r in results if r.rate == rate and r.error is None]
        base = next((r.asterisk_cpu_ms for r in at_rate if r.target == "dialplan"), None)
        for r in at_rate:
            extra = None if base is None or r.asterisk_cpu_ms is None else r.asterisk_cpu_ms - base
            rows.append([
                _cell(rate), r.target, f"{r.ok} / {r.calls}", _cell(r.answer_error.p99),
                _cell(r.hangup_error.p99), _cell(r.asterisk_cpu_ms),
                "-" if extra is None else f"{extra:+.2f}", _cell(r.app_cpu_ms),
                _cell(r.udp_per_call), str(r.session_limit_warnings), str(r.channels_left),
            ])  # fmt: skip
    return markdown(header, rows)


def pool(results: list[RunResult]) -> list[RunResult]:
    """One result per target and rate: the calls of its rounds together (percentiles over all
    of them, counts summed), and the median of their CPU figures. One round is left as it is."""
    groups: dict[tuple[str, float], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.target, r.rate), []).append(r)
    return [runs[0] if len(runs) == 1 else _pooled(runs) for runs in groups.values()]


def _pooled(runs: list[RunResult]) -> RunResult:
    made = [r for r in runs if r.error is None]
    if not made:
        return runs[0]
    answer = [ms for r in made for ms in r.answer_errors]
    hangup = [ms for r in made for ms in r.hangup_errors]

    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 2) if known else None

    first = made[0]
    return RunResult(
        first.target, first.transport, first.rate, sum(r.seconds for r in made),
        sum(r.calls for r in made), sum(r.ok for r in made), sum(r.failed for r in made),
        answer_error=Stat.of(answer), hangup_error=Stat.of(hangup),
        app_cpu_ms=median([r.app_cpu_ms for r in made]),
        asterisk_cpu_ms=median([r.asterisk_cpu_ms for r in made]),
        udp_per_call=median([r.udp_per_call for r in made]),
        session_limit_warnings=sum(r.session_limit_warnings for r in made),
        channels_left=max(r.channels_left for r in made),
    )  # fmt: skip


def checks(results: list[RunResult]) -> list[str]:
    """The issue's goals for each flowrunner target, each marked PASS or FAIL."""
    lines = []
    for r in results:
        if not r.target.startswith("flowrunner") or r.error is not None:
            continue
        seed = next((s for s in results if s.target == "seed" and s.rate == r.rate), None)
        for goal, ok in goals(r, seed):
            lines.append(f"- {'PASS' if ok else 'FAIL'} {r.target} @ {_cell(r.rate)}/s: {goal}")
    return lines


def goals(r: RunResult, seed: RunResult | None) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    if r.rate == 50:
        found.append((f"no failed call ({r.failed} failed)", r.failed == 0))
        for name, stat in (("answer", r.answer_error), ("hangup", r.hangup_error)):
            p99 = stat.p99
            found.append((f"{name} error p99 <= {P99_LIMIT_MS} ms ({_cell(p99)})",
                          p99 is not None and p99 <= P99_LIMIT_MS))  # fmt: skip
    if r.rate >= 100:
        found.append((f"no session-limit warning ({r.session_limit_warnings})",
                      r.session_limit_warnings == 0))  # fmt: skip
        found.append((f"no channel left ({r.channels_left})", r.channels_left == 0))
        if seed is not None and seed.error is None:
            found.append((f"ok calls >= seed's ({r.ok} vs {seed.ok})", r.ok >= seed.ok))
            found += _no_worse_than(r, seed)
    if seed is not None and seed.error is None and seed.app_cpu_ms:
        limit, cpu = seed.app_cpu_ms * CPU_OF_SEED, r.app_cpu_ms
        found.append((f"runner CPU <= 1/3 of the seed's {seed.app_cpu_ms:g}: {limit:.2f} ms/call "
                      f"({_cell(cpu)})", cpu is not None and cpu <= limit))  # fmt: skip
    return found


def _no_worse_than(r: RunResult, seed: RunResult) -> list[tuple[str, bool]]:
    found = []
    for name, ours, theirs in (
        ("answer", r.answer_error.p99, seed.answer_error.p99),
        ("hangup", r.hangup_error.p99, seed.hangup_error.p99),
    ):
        ok = ours is not None and theirs is not None and ours <= theirs
        found.append((f"{name} error p99 <= seed's ({_cell(ours)} vs {_cell(theirs)})", ok))
    return found


def machine() -> dict[str, str]:
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    asterisk = sandbox("cli", "core show version", timeout=30).split(" built by")[0].strip()
    return {
        "cpu": f"{os.cpu_count()} x {cpu[1] if cpu else platform.processor()}",
        "memory": f"{mem_kb // 1024 // 1024} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "asterisk": asterisk,
        "sipp": " ".join(_output(["sipp", "-v"]).split()[:2]),
        "node": _version(["node", "--version"]),
        "flowrunner": code_id(),
    }


def code_id() -> str:
    """The commit, and a hash of flowrunner/'s sources if the work tree differs from it: the
    runner runs the work tree (editable install), which others may edit during a sweep."""
    git = ["git", "-C", str(REPO)]
    head = _output([*git, "rev-parse", "--short", "HEAD"])
    if not _output([*git, "status", "--porcelain", "--", "flowrunner"]):
        return f"commit {head}"
    digest = hashlib.sha1()
    for path in sorted((REPO / "flowrunner").rglob("*.py")):
        digest.update(path.read_bytes())
    return f"commit {head} + uncommitted changes (sources {digest.hexdigest()[:8]})"


def _output(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    return done.stdout.strip()


def _version(command: list[str]) -> str:
    return "-" if shutil.which(command[0]) is None else _output(command)


# --- main -------------------------------------------------------------------------------------


def targets(names: list[str], transports: list[str], logs: Path) -> list[Target]:
    found = []
    for name in names:
        if name == "dialplan":
            found.append(Target("dialplan", "2000"))
        elif name == "flowrunner":
            for transport in transports:
                label = "flowrunner" if transport == "auto" else f"flowrunner-{transport}"
                used = resolve_transport(transport, logs)
                found.append(
                    Target(label, "1000", flowrunner_command(transport, logs), transport=used)
                )
        elif name == "seed":
            if (why := seed_ready()) is not None:
                print(f"bench: skipping the seed target: {why}", file=sys.stderr)
                continue
            env = (("ARI_URL", ARI_URL), ("ARI_USERNAME", ARI_USER), ("ARI_PASSWORD", ARI_PASSWORD))
            found.append(Target("seed", "1000", ("node", "channel-state.js"), SEED_DIR, env))
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25,50,100,200", help="calls/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of calls per run")
    parser.add_argument(
        "--transport", default="auto",
        help="flowrunner's --ari-transport: auto, websocket, http, or several (auto,http)",
    )  # fmt: skip
    parser.add_argument("--targets", default="flowrunner,dialplan,seed")
    parser.add_argument("--json", type=Path, help="write every result to this file")
    parser.add_argument("--keep-logs", type=Path, help="keep sipp's and the apps' logs here")
    parser.add_argument(
        "--quiet-wait", type=float, default=60.0, metavar="S",
        help="before each run, wait up to S s for other processes to stop using CPU",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="run every target this many times at each rate, in turn; the goals are then "
        "judged on all their calls together (pooled percentiles, median CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--retries", type=int, default=2,
        help="make a run again, at most this many times, if other processes used the cores",
    )  # fmt: skip
    parser.add_argument(
        "--cores", metavar="ASTERISK:APPS",
        help="e.g. 0:1: every thread of Asterisk on cores ASTERISK, the bench (sipp and the "
        "apps it starts) on cores APPS, for the whole bench; default: anywhere",
    )  # fmt: skip
    return parser


def core_set(text: str) -> set[int]:
    """`0`, `0,2` or `0-3` -> the cores."""
    cores: set[int] = set()
    for part in _split(text):
        first, _, last = part.partition("-")
        cores.update(range(int(first), int(last or first) + 1))
    return cores


@contextlib.contextmanager
def pinned(spec: str | None) -> Iterator[None]:
    """`--cores A:B`: Asterisk's threads on cores A and this process (so the sipp and apps it
    starts) on cores B, each kept off the other's caches; Asterisk's affinity is given back
    afterwards. (An Asterisk started again meanwhile, after a crash, runs anywhere.)"""
    if not spec:
        yield
        return
    asterisk_cores, _, app_cores = spec.partition(":")
    pid = asterisk_pid()
    if pid is None or not asterisk_cores or not app_cores:
        raise SystemExit(f"bench: --cores {spec}: need ASTERISK:APPS, and a running Asterisk")
    threads = [int(task) for task in os.listdir(f"/proc/{pid}/task")]
    before = {thread: os.sched_getaffinity(thread) for thread in threads}
    ours = os.sched_getaffinity(0)
    for thread in threads:
        os.sched_setaffinity(thread, core_set(asterisk_cores))
    os.sched_setaffinity(0, core_set(app_cores))
    try:
        yield
    finally:
        os.sched_setaffinity(0, ours)
        for thread, cores in before.items():
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                os.sched_setaffinity(thread, cores)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _stop_on_sigterm() -> None:
    """SIGTERM ends the bench like Ctrl-C does: through the finally blocks that stop the apps."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rates = [float(r) for r in _split(args.rates)]
    unknown = set(_split(args.targets)) - {"flowrunner", "dialplan", "seed"}
    if unknown or not rates:
        print(f"bench: unknown targets {sorted(unknown)} or no rates", file=sys.stderr)
        return 2
    _stop_on_sigterm()
    with _log_dir(args.keep_logs) as logs:
        ensure_asterisk()
        info = machine()
        chosen = targets(_split(args.targets), _split(args.transport), logs)
        plan = Plan(args.seconds, logs, args.quiet_wait, args.retries, max(1, args.rounds))
        with pinned(args.cores):
            results = bench(chosen, rates, plan)
    print(render(info, results))
    if args.json:
        data = {"machine": info, "argv": sys.argv[1:], "runs": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0 if all(r.error is None for r in results) else 1


@contextlib.contextmanager
def _log_dir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="flowrunner-load-") as tmp:
        yield Path(tmp)


@dataclass(frozen=True)
class Plan:
    seconds: float
    logs: Path
    quiet_s: float  # how long to wait for a quiet machine before each run
    retries: int  # runs again when other processes shared the cores
    rounds: int = 1  # the targets run this many times in turn at each rate


def bench(chosen: list[Target], rates: list[float], plan: Plan) -> list[RunResult]:
    """Every target at each rate; rates outer, so targets compared at one rate ran close in time."""
    results = []
    for rate in rates:
        for target in [t for _ in range(plan.rounds) for t in chosen]:  # in turn, round by round
            print(
                f"bench: {target.name} at {rate:g} calls/s for {plan.seconds:g} s", file=sys.stderr
            )
            result = measured(target, rate, plan)
            print(f"bench:   {' | '.join(row(result))}", file=sys.stderr)
            results.append(result)
    return results


def measured(target: Target, rate: float, plan: Plan) -> RunResult:
    """One run, made again (at most `plan.retries` times) if something else used the cores:
    on 2 cores, another process's load skews every number of the run."""
    shared: list[str] = []  # the other load of each attempt that had some
    for _ in range(plan.retries + 1):
        result = run_once(target, rate, plan.seconds, plan.logs, plan.quiet_s)
        other = result.other_cores
        if result.error is not None or other is None or other <= QUIET_CORES:
            if shared:
                result.notes.append(f"made again: other processes used {', '.join(shared)} cores")
            return result
        shared.append(f"{other:g}")
        print(f"bench:   other processes used {other:g} cores", file=sys.stderr)
    result.notes.append(f"other processes used {', '.join(shared)} cores: numbers pessimistic")
    return result


def render(info: dict[str, str], results: list[RunResult]) -> str:
    parts = ["## Load bench", "", *(f"- {k}: {v}" for k, v in info.items()), ""]
    parts.append(f"`bench/load.py {' '.join(sys.argv[1:])}`".replace("` ", "`"))
    for name in dict.fromkeys(r.target for r in results):
        parts += ["", target_table(name, [r for r in results if r.target == name])]
    parts += ["", "### Comparison (same run)", "", comparison(results)]
    pooled = pool(results)
    if len(pooled) < len(results):
        rounds = len(results) // len(pooled)
        parts += ["", f"### All {rounds} rounds together", "", comparison(pooled)]
    if len(codes := {r.code for r in results}) > 1:
        parts += ["", f"**flowrunner's code changed during the sweep**: {', '.join(sorted(codes))}"]
    if goal_lines := checks(pooled):
        parts += ["", "### Goals", "", *goal_lines]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
