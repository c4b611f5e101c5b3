"""Runner-only bench: how many channel-state calls/s one `flowrunner serve` process sustains.

    .venv/bin/python bench/runner_only.py [--rates 100,250,500,750,1000] [--seconds 10]
                                          [--transport websocket|http]

For each rate, a simulated Asterisk (bench/fake_ari.py, in this process) on a free loopback
port starts round(rate * seconds) calls of flows/channel-state.yaml against a fresh
`flowrunner serve ... --log-level warning` subprocess, waits until every call has left the app,
and reports per run:

- calls started / completed (the flow's four requests in order, then StasisEnd) / failed;
- timer lateness, measured by the fake server, not the runner: answer arrival - StasisStart
  - 2 s, and hangup arrival - StasisStart - 6 s (p50 / p99 / max, in ms), and the ring latency
  (StasisStart -> ring request: how fast the runner reacts to an event);
- the runner's CPU per call (utime + stime from /proc/PID/stat) and peak RSS (VmHWM);
- the fake server's own CPU per call and how late it started calls, to show it kept up.

Then one run at --info-rate with `--log-level info` (the cost of logging), and one run that holds
--concurrent calls at once (peak RSS at that load). The ceiling is the highest rate at which this
and every lower rate ran every call with answer and hangup lateness p99 <= 10 ms.

`--transport websocket` serves with `--ari-transport auto` (the probe picks REST over the events
WebSocket, as on Asterisk 22); `--transport http` with `--ari-transport http`.
`--profile DIR` also records each run's runner with py-spy (that costs CPU: compare numbers from
unprofiled runs only); bench/pyspy_top.py summarises such a file.

The machine is shared: before each run the bench waits (--quiet-wait) for other processes to
go quiet, and it reports the CPU they took during the run; a run where they took more than
0.25 cores is marked "busy machine: rerun" and left out of the ceiling. The report names the
flowrunner it measured: the working tree (commit, and whether flowrunner/ was modified), or a
pinned copy, e.g. `git archive HEAD flowrunner | tar -x -C /tmp/fr` then `PYTHONPATH=/tmp/fr`.

Every run is bounded in time and kills its subprocesses on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fake_ari import CallRecord, FakeAri
from pyspy_top import summarize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import redis_server  # the tests' loopback redis-server

REPO = Path(__file__).resolve().parent.parent
FLOW = REPO / "flows" / "channel-state.yaml"
ANSWER_AT, HANGUP_AT = 2.0, 6.0  # the flow's timers, from StasisStart
CALL_SECONDS = HANGUP_AT
P99_LIMIT_MS = 10.0
CONNECT_TIMEOUT = 20.0  # the runner imports, connects, probes and lists channels
DRAIN_GRACE = 15.0  # after the last call's 6 s, how long we wait for stragglers
STOP_TIMEOUT = 5.0
QUIET_CORES = 0.25  # before a run, the rest of the machine should use less than this
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
USER = PASSWORD = "bench"


@dataclass(frozen=True)
class RunSpec:
    rate: float
    seconds: float
    transport: str  # websocket | http
    log_level: str = "warning"
    purpose: str = "sweep"  # sweep | logging | concurrent
    profile_dir: Path | None = None
    state: str = "none"  # none | sqlite | redis://… | legacy (a runner with no --state)
    observe: str = "none"  # none | trace | record | trace+record (serve --trace/--record DIR)


@dataclass(frozen=True)
class Spread:
    p50: float
    p99: float
    max: float

    def __str__(self) -> str:
        return f"{self.p50:.1f} / {self.p99:.1f} / {self.max:.1f}"


@dataclass
class RunResult:
    spec: RunSpec
    started: int = 0
    completed: int = 0
    answer_late: Spread | None = None
    hangup_late: Spread | None = None
    ring_latency: Spread | None = None
    runner_cpu_ms: float = 0.0  # per call, user + system
    runner_sys_ms: float = 0.0  # per call, system (kernel) part
    runner_cpu_share: float = 0.0  # of one core, over the run
    runner_rss_mb: float = 0.0  # VmHWM
    runner_idle_rss_mb: float = 0.0  # VmRSS once connected, before the first call
    server_cpu_ms: float = 0.0  # per call
    server_cpu_share: float = 0.0
    start_lag_p99_ms: float = 0.0
    other_load: float = 0.0  # cores used by everything else on the machine during the run
    peak_live: int = 0
    requests_ws: int = 0
    requests_http: int = 0
    probes: int = 0
    unknown_requests: int = 0  # answered 404: the channel had already left
    log_lines: int = 0
    problems: list[str] = field(default_factory=list)  # runner WARNING/ERROR lines, bench notes
    failures: list[str] = field(default_factory=list)  # what the failed calls did, by kind
    code: str = ""  # the flowrunner the runner imported: commit, or folder
    keeping: dict[str, Any] = field(default_factory=dict)  # the runner's --stats

    @property
    def failed(self) -> int:
        return self.started - self.completed

    @property
    def disturbed(self) -> bool:
        """Other processes took CPU during the run: its numbers say little about the runner."""
        return self.other_load > QUIET_CORES

    @property
    def passed(self) -> bool:
        lateness = [s.p99 for s in (self.answer_late, self.hangup_late) if s is not None]
        on_time = len(lateness) == 2 and max(lateness) <= P99_LIMIT_MS
        return self.started > 0 and self.failed == 0 and on_time


# -- /proc ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process, all threads: fields 14 and 15 of /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from the first line of /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


async def wait_until_quiet(limit: float) -> str | None:
    """Wait (at most `limit` s) until other processes use < QUIET_CORES; a note if they never do."""
    if limit <= 0:
        return None
    deadline, load = time.monotonic() + limit, 0.0
    while time.monotonic() < deadline:
        busy0, own0 = busy_seconds(), time.process_time()
        await asyncio.sleep(1.0)
        load = busy_seconds() - busy0 - (time.process_time() - own0)
        if load < QUIET_CORES:
            return None
    return f"bench: the machine stayed busy ({load:.2f} cores besides us) for {limit:.0f}s"


def rss_mb(pid: int, key: str = "VmHWM") -> float:
    """VmHWM (peak resident set) or VmRSS (current) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def spread(values: list[float]) -> Spread | None:
    """p50, p99 (nearest rank) and max."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return Spread(rank(50), rank(99), ordered[-1])


# -- one run ----------------------------------------------------------------------------------


def start_runner(port: int, spec: RunSpec, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "flowrunner",
        "serve",
        str(FLOW),
        "--ari-url",
        f"http://127.0.0.1:{port}",
        "--ari-user",
        USER,
        "--ari-password",
        PASSWORD,
        "--ari-transport",
        "auto" if spec.transport == "websocket" else "http",
        "--log-level",
        spec.log_level,
    ]
    if spec.state != "legacy":  # an older flowrunner has no --state: it keeps nothing
        state = str(log.parent / "calls.db") if spec.state == "sqlite" else spec.state
        command += ["--state", state, "--stats", str(log.parent / "stats.json")]
    for kind in ("trace", "record"):
        if kind in spec.observe.split("+"):
            command += [f"--{kind}", str(log.parent / kind)]
    # Logs go to a file: a pipe nobody reads would block the runner once full. It runs in the
    # log's folder, not the repository, so that PYTHONPATH can pin another copy of flowrunner.
    with log.open("wb") as sink:
        return subprocess.Popen(command, cwd=log.parent, stdout=subprocess.DEVNULL, stderr=sink)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (serve stops cleanly on it), then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)


def start_profiler(pid: int, spec: RunSpec) -> subprocess.Popen[bytes] | None:
    if spec.profile_dir is None:
        return None
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    spec.profile_dir.mkdir(parents=True, exist_ok=True)
    out = spec.profile_dir / f"{spec.transport}-{spec.log_level}-{spec.rate:g}.txt"
    duration = str(math.ceil(spec.seconds + CALL_SECONDS))
    command = [py_spy, "record", "--format", "raw", "--threads", "--nonblocking"]
    command += ["--rate", "100", "--duration", duration, "-o", str(out), "-p", str(pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_once(spec: RunSpec, quiet_wait: float = 0.0) -> RunResult:
    result = RunResult(spec, code=code_version())
    if note := await wait_until_quiet(quiet_wait):
        result.problems.append(note)
    server = FakeAri(user=USER, password=PASSWORD)
    port = await server.start()
    with tempfile.TemporaryDirectory(prefix="runner-only-") as folder:
        log = Path(folder) / "serve.log"
        proc = start_runner(port, spec, log)
        profiler: subprocess.Popen[bytes] | None = None
        try:
            await asyncio.wait_for(server.ready.wait(), CONNECT_TIMEOUT)
            await asyncio.sleep(0.5)  # let start-up settle before the CPU baseline
            profiler = start_profiler(proc.pid, spec)
            await measure(server, proc, result)
        except TimeoutError:
            result.problems.append(f"bench: the runner did not connect in {CONNECT_TIMEOUT:.0f}s")
        finally:
            stop(proc)
            if profiler is not None:
                stop(profiler)
            await server.close()
            read_log(log, result)
            stats = log.parent / "stats.json"
            if stats.exists():
                result.keeping = json.loads(stats.read_text())
    collect(server, result)
    return result


async def measure(server: FakeAri, proc: subprocess.Popen[bytes], result: RunResult) -> None:
    spec = result.spec
    result.runner_idle_rss_mb = rss_mb(proc.pid, "VmRSS")
    (user0, sys0), own0, wall0 = cpu_seconds(proc.pid), time.process_time(), time.monotonic()
    busy0 = busy_seconds()
    await server.drive(spec.rate, spec.seconds)
    if not await server.wait_finished(CALL_SECONDS + DRAIN_GRACE):
        result.problems.append(f"bench: {len(server.live)} call(s) still in the app at timeout")
    if proc.poll() is not None:
        result.problems.append(f"bench: the runner exited with {proc.returncode}")
        return
    wall = time.monotonic() - wall0
    user1, sys1 = cpu_seconds(proc.pid)
    runner_cpu, own_cpu = user1 - user0 + sys1 - sys0, time.process_time() - own0
    calls = max(1, len(server.calls))
    result.runner_cpu_ms, result.runner_cpu_share = runner_cpu * 1000 / calls, runner_cpu / wall
    result.runner_sys_ms = (sys1 - sys0) * 1000 / calls
    result.other_load = max(0.0, busy_seconds() - busy0 - runner_cpu - own_cpu) / wall
    result.server_cpu_ms, result.server_cpu_share = own_cpu * 1000 / calls, own_cpu / wall
    result.runner_rss_mb = rss_mb(proc.pid)


def collect(server: FakeAri, result: RunResult) -> None:
    calls = server.calls
    result.started = len(calls)
    result.completed = sum(call.ok for call in calls)
    result.answer_late = spread(late(calls, "answer", ANSWER_AT))
    result.hangup_late = spread(late(calls, "hangup", HANGUP_AT))
    result.ring_latency = spread(late(calls, "ring", 0.0))
    lag = spread([s * 1000 for s in server.stats.start_lag])
    result.start_lag_p99_ms = lag.p99 if lag else 0.0
    result.peak_live = server.stats.peak_live
    result.requests_ws, result.requests_http = server.stats.ws_requests, server.stats.http_requests
    result.probes, result.unknown_requests = server.stats.probes, server.stats.unknown_requests
    result.failures = failure_kinds(calls)


def failure_kinds(calls: list[CallRecord]) -> list[str]:
    """The requests each failed call sent, grouped: e.g. `12 calls: ring, answer, hangup`."""
    kinds = Counter(
        ", ".join(call.requests or ["nothing"]) + ("" if call.ended else " (never left the app)")
        for call in calls
        if not call.ok
    )
    return [f"{count} call(s) sent: {kind}" for kind, count in kinds.most_common(3)]


def late(calls: list[CallRecord], action: str, due: float) -> list[float]:
    values = (call.since_start_ms(action) for call in calls)
    return [value - due * 1000 for value in values if value is not None]


def read_log(log: Path, result: RunResult) -> None:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    result.log_lines = len(lines)
    # The runner is stopped before the server closes, so any warning here is a real one.
    result.problems += [line for line in lines if " WARNING " in line or " ERROR " in line]


# -- the report -------------------------------------------------------------------------------

HEADER = (
    "| rate/s | log | calls | done | failed | peak live | answer late p50/p99/max ms "
    "| hangup late p50/p99/max ms | ring p50/p99 ms | runner CPU ms/call: all (sys), core % "
    "| runner peak RSS MB | fake ARI CPU ms/call (core %) | start lag p99 ms "
    "| other load (cores) | state: snapshot p50/p99 µs, store µs/snapshot "
    "| p99 ≤ 10 ms, 0 failed |"
)


def row(r: RunResult) -> str:
    ring = f"{r.ring_latency.p50:.1f} / {r.ring_latency.p99:.1f}" if r.ring_latency else "-"
    cells = [
        f"{r.spec.rate:g}",
        r.spec.log_level,
        str(r.started),
        str(r.completed),
        str(r.failed),
        str(r.peak_live),
        str(r.answer_late or "-"),
        str(r.hangup_late or "-"),
        ring,
        f"{r.runner_cpu_ms:.2f} ({r.runner_sys_ms:.2f}), {r.runner_cpu_share:.0%}",
        f"{r.runner_rss_mb:.1f}",
        f"{r.server_cpu_ms:.2f} ({r.server_cpu_share:.0%})",
        f"{r.start_lag_p99_ms:.1f}",
        f"{r.other_load:.2f}",
        keeping(r),
        ("yes" if r.passed else "**no**") + (" (busy machine: rerun)" if r.disturbed else ""),
    ]
    return "| " + " | ".join(cells) + " |"


def keeping(r: RunResult) -> str:
    """What keeping calls cost the runner: per snapshot on its loop, per snapshot written."""
    state = "redis" if r.spec.state.startswith("redis") else r.spec.state
    state += "" if r.spec.observe == "none" else f", {r.spec.observe}"
    k = r.keeping
    if not k or not k.get("snapshots"):
        return state
    shot = k["snapshot_us"]
    return f"{state}: {shot['p50']:.0f} / {shot['p99']:.0f}, {k['store_us_per_snapshot']:.1f}"


def table(results: list[RunResult]) -> str:
    separator = "|" + "---|" * HEADER.count(" | ") + "---|"
    return "\n".join([HEADER, separator, *(row(r) for r in results)])


def ceiling(sweep: list[RunResult]) -> float | None:
    """The highest rate at which it, and every lower rate, passed; runs on a busy machine are
    inconclusive and skipped (the report says which)."""
    best = None
    for result in sorted(sweep, key=lambda r: r.spec.rate):
        if result.disturbed:
            continue
        if not result.passed:
            break
        best = result.spec.rate
    return best


def report(results: list[RunResult], transport: str) -> str:
    sweep = [r for r in results if r.spec.purpose == "sweep"]
    top = ceiling(sweep)
    lines = [
        f"## Runner-only bench, REST over {transport}",
        "",
        machine_note(results),
        "",
        table(results),
        "",
        f"Ceiling (p99 lateness ≤ {P99_LIMIT_MS:g} ms, no failed call, log level warning): "
        + (f"**{top:g} calls/s**" if top is not None else "**below the lowest rate tried**"),
    ]
    if busy := [f"{r.spec.rate:g}" for r in sweep if r.disturbed]:
        lines.append(f"(skipped, the machine was busy: {', '.join(busy)} calls/s; rerun them)")
    lines.append("")
    for r in results:
        lines.append(
            f"- {r.spec.purpose} {r.spec.rate:g}/s, log {r.spec.log_level}: REST requests "
            f"{r.requests_ws} over WebSocket ({r.probes} probe), {r.requests_http} over HTTP, "
            f"{r.unknown_requests} answered 404; runner RSS {r.runner_idle_rss_mb:.1f} MB idle; "
            f"{r.log_lines} runner log lines"
        )
        lines += [f"  - failed: {kind}" for kind in r.failures]
        lines += [f"  - {problem[:200]}" for problem in r.problems[:5]]
    return "\n".join(lines)


def machine_note(results: list[RunResult]) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"flowrunner {', '.join(sorted({r.code for r in results}))}. "
        f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}. "
        "The fake ARI server runs on the same cores as the runner (one Python process each), "
        "so they compete for CPU: its share is in the table, and so is the CPU everything else "
        "on the machine used during the run (above ~0.2 cores, that run's numbers are "
        "pessimistic)."
    )


def code_version() -> str:
    """Which flowrunner a runner started now would import: this repository's (its commit, and
    whether flowrunner/ has uncommitted changes), or another folder (PYTHONPATH pins a copy)."""
    probe = "import flowrunner, os; print(os.path.dirname(os.path.dirname(flowrunner.__file__)))"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tempfile.gettempdir(),  # as the runner: not from the repository's folder
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    if found and Path(found).resolve() != REPO:
        return f"from {found}"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "flowrunner"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "(no git)"
    return f"at {head or '?'}" + (" with uncommitted changes in flowrunner/" if dirty else "")


# -- main -------------------------------------------------------------------------------------


def plan(args: argparse.Namespace, redis_url: str = "") -> list[RunSpec]:
    profile = Path(args.profile) if args.profile else None
    specs = []
    for state, observe in itertools.product(args.states, args.observe):
        state = redis_url if state == "redis" else state
        transport = args.transport
        specs += [
            RunSpec(r, args.seconds, transport, profile_dir=profile, state=state, observe=observe)
            for r in args.rates
        ]
        if args.info_rate:
            specs.append(
                RunSpec(args.info_rate, args.seconds, transport, "info", "logging", state=state)
            )
        if args.concurrent:
            # A call lasts 6 s, so rate * 6 calls are in the app once the first ones end.
            rate = math.ceil(args.concurrent * 1.05 / CALL_SECONDS)
            seconds = max(args.seconds, CALL_SECONDS + 2)
            specs.append(RunSpec(rate, seconds, transport, purpose="concurrent", state=state))
    return specs


async def run_all(specs: list[RunSpec], quiet_wait: float = 0.0) -> list[RunResult]:
    results = []
    for spec in specs:
        print(
            f"... {spec.purpose}: {spec.rate:g} calls/s for {spec.seconds:g}s, "
            f"{spec.transport}, log {spec.log_level}",
            file=sys.stderr,
            flush=True,
        )
        bound = CONNECT_TIMEOUT + spec.seconds + CALL_SECONDS + DRAIN_GRACE + 30
        bound += quiet_wait
        results.append(await asyncio.wait_for(run_once(spec, quiet_wait), bound))
        print(row(results[-1]), file=sys.stderr, flush=True)  # kept even if the sweep dies
        if spec.profile_dir is not None:
            name = f"{spec.transport}-{spec.log_level}-{spec.rate:g}.txt"
            print(summarize(spec.profile_dir / name, top=15), file=sys.stderr)
        await asyncio.sleep(1.0)  # let the previous runner's exit settle
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        default=[100.0, 250.0, 500.0, 750.0, 1000.0],
        help="calls started per second, one run each (default 100,250,500,750,1000)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long calls are started")
    parser.add_argument("--transport", choices=["websocket", "http"], default="websocket")
    parser.add_argument(
        "--states",
        type=lambda text: text.split(","),
        default=["none"],
        help="where the runner keeps its calls, one sweep each: none (default), sqlite (a file "
        "of the run's own), redis (a redis-server the bench starts on loopback), legacy (no "
        "--state: for a pinned older flowrunner)",
    )
    parser.add_argument(
        "--observe",
        type=lambda text: text.split(","),
        default=["none"],
        help="what the runner also writes, one sweep each: none (default), trace, record, "
        "trace+record (serve --trace / --record into the run's folder)",
    )
    parser.add_argument("--info-rate", type=float, default=500.0, help="0: no info-level run")
    parser.add_argument(
        "--concurrent", type=int, default=1000, help="calls to hold at once (0: no such run)"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        metavar="S",
        help="before each run, wait up to S s for other processes to go quiet (default 60)",
    )
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--profile", metavar="DIR", help="record each run with py-spy into DIR")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        url = ""
        if "redis" in args.states:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-redis-"))
            url = stack.enter_context(redis_server(Path(folder)))
        results = asyncio.run(run_all(plan(args, url), args.quiet_wait))
        print(report(results, args.transport))
        if args.json:
            raw = [asdict(r) for r in results]
            Path(args.json).write_text(json.dumps(raw, default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
