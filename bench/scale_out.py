"""Scale-out bench: calls/s for 1 and 2 `flowrunner serve --listen` runners behind HAProxy.

    .venv/bin/python bench/scale_out.py [--rates 25,35,50,100] [--seconds 10] [--runners 1,2]
                                        [--runner-rates 100,250,500] [--json FILE]

Two parts, each for N = 1 and 2 runner processes:

- real calls: sipp calls (scripts/sipcall.py's "uac" scenario) into extension 3000 of the
  sandbox Asterisk, which the bench adds to [from-trunk] at run time (Stasis(scaleout-per-call):
  one outbound WebSocket per call, see scripts/asterisk/etc/websocket_client.conf) and removes at
  the end. HAProxy on 127.0.0.1:18096 spreads the connections over the N runners (`serve
  --listen` on 127.0.0.1:18097 and 18098), which share a Redis store the bench starts on
  loopback. Per rate: calls ok/failed; ring (INVITE -> 180: Asterisk's wait for the per-call
  connection, then the flow's `ring`); answer and hangup errors measured from that 180, as the
  flow times them; CPU ms per call of the runners (summed), of Asterisk and of HAProxy; how the
  calls split over the runners. Per N: the highest rate at which it and every lower rate had
  every call ok and both error p99 <= 20 ms. On the 2-core sandbox Asterisk's own CPU is the
  ceiling (its ms/call times the rate is the cores it needs), so this says little about what
  the second runner adds: the runner-only part does.
- runner-only: N runners, each against its own simulated Asterisk (bench/fake_ari.py, as
  bench/runner_only.py does for one, each pair in a process of its own), driven at the same
  time; per N the highest aggregate rate at which every runner completed every call with
  answer/hangup lateness p99 <= 10 ms.

Everything binds to 127.0.0.1. The bench needs the sandbox Asterisk running (it does not start
it: from a git worktree, set FLOWRUNNER_SANDBOX_DIR to the sandbox that runs), is bounded in
time, and stops what it started (runners, HAProxy, Redis, the dialplan extension) on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The tests' loopback servers and scripts/sipcall.py (neither folder is a package).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import load
import runner_only
import sipcall
from haproxy_server import haproxy
from load import NO_CALLS, BenchError, LogWatch, Plan, Stat, Window
from redis_server import free_port, redis_server, wait_listening

EXT = "3000"  # the [from-trunk] extension this bench adds, and removes when done
APP = "scaleout-per-call"  # ari.conf's per-call app (websocket_client.conf: ws to 18096)
DIALPLAN = (f"{EXT},1,Stasis({APP})", f"{EXT},2,Hangup()")
HAPROXY_PORT = 18096
RUNNER_PORTS = (18097, 18098)
RING_TO_ANSWER_MS, RING_TO_HANGUP_MS = 2000, 6000  # the flow's timers, from its `ring`
# Asterisk 22.10 sends the BYE of a per-call channel either at once or 500 ms after the
# flow's hangup request (strace of a runner: the DELETE answered at once, StasisEnd with it, the
# BYE 500 ms later; most calls of an idle run wait); inbound ARI has no such delay. The hangup
# error is the distance to the nearer of the two; the "BYE lag" column shows the raw lag.
BYE_LAG_MS = 500
P99_LIMIT_MS = load.P99_LIMIT_MS  # 20 ms, the goal for real calls
MAX_RUNNERS = len(RUNNER_PORTS)


# --- the goal ---------------------------------------------------------------------------------


def highest_passing(runs: Sequence[tuple[float, bool | None]]) -> float | None:
    """The highest rate at which the run, and every lower rate's, met the goal; a None verdict
    (the run could not be made, or other processes shared the cores) is skipped, not failed."""
    best = None
    for rate, verdict in sorted(runs, key=lambda run: run[0]):
        if verdict is None:
            continue
        if not verdict:
            break
        best = rate
    return best


# --- real calls -------------------------------------------------------------------------------


@dataclass
class CallsResult(load.RunResult):
    """load.py's result, its answer/hangup errors measured from the 180 (see `timing`), plus
    what N runners and HAProxy add."""

    runners: int = 1
    bye_lag: Stat = NO_CALLS  # hangup - ring - 6000 ms: Asterisk's per-call BYE delay
    haproxy_cpu_ms: float | None = None  # per call placed
    served: list[int] = field(default_factory=list)  # calls each runner started (its metrics)
    runner_warnings: list[str] = field(default_factory=list)  # their WARNING/ERROR lines

    @property
    def verdict(self) -> bool | None:
        if self.error is not None or (self.other_cores or 0) > load.QUIET_CORES:
            return None
        p99s = (self.answer_error.p99, self.hangup_error.p99)
        on_time = all(p is not None and p <= P99_LIMIT_MS for p in p99s)
        return self.failed == 0 and self.ok == self.calls and on_time


@dataclass
class Runner:
    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log: Path


@dataclass
class Fleet:
    """N runners behind one HAProxy, as a run sees them."""

    runners: list[Runner]
    proxy: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        return [r.process.pid for r in self.runners] + [self.proxy.pid]

    def ticks(self) -> list[int]:
        return [load.cpu_ticks(pid) for pid in self.pids()]


def flow_copy(folder: Path) -> Path:
    """flows/channel-state.yaml serving the per-call app, as the e2e tests' flow_copy makes it."""
    text = (load.REPO / "flows" / "channel-state.yaml").read_text()
    path = folder / f"{APP}.yaml"
    path.write_text(text.replace("\napp: channel-state\n", f"\napp: {APP}\n", 1))
    return path


def start_runner(port: int, flow: Path, state: str, log: Path) -> Runner:
    metrics = free_port()
    command = [
        sys.executable, "-m", "flowrunner", "serve", str(flow),
        "--listen", f"127.0.0.1:{port}",
        "--ari-user", load.ARI_USER, "--ari-password", load.ARI_PASSWORD,
        "--state", state, "--metrics", f"127.0.0.1:{metrics}", "--log-level", "warning",
    ]  # fmt: skip
    # In the log's folder, not the repository, so that PYTHONPATH can pin a copy of flowrunner;
    # logs to a file, as a pipe nobody reads would block the runner once full.
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,  # our Ctrl-C is handled here, not by the runner
        )
    return Runner(process, port, metrics, log)


def port_taken(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def fleet(n: int, flow: Path, state: str, folder: Path) -> Iterator[Fleet]:
    """N runners listening, HAProxy in front; all stopped on the way out."""
    ports = list(RUNNER_PORTS[:n])
    if taken := [p for p in (HAPROXY_PORT, *ports) if port_taken(p)]:
        raise BenchError(f"ports {taken} are in use (an e2e test, or another bench?)")
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        runners = []
        for port in ports:
            runner = start_runner(port, flow, state, folder / f"serve-{port}.log")
            stack.callback(runner_only.stop, runner.process)
            runners.append(runner)
        for runner in runners:
            wait_listening(runner.process, runner.port, "flowrunner serve")
            wait_listening(runner.process, runner.metrics_port, "flowrunner serve --metrics")
        proxy = stack.enter_context(haproxy(folder, HAPROXY_PORT, ports))
        yield Fleet(runners, proxy)


@contextlib.contextmanager
def extension() -> Iterator[None]:
    """Extension 3000 in [from-trunk] while the bench runs: no restart, no file edited."""
    for line in DIALPLAN:
        load.sandbox("cli", f"dialplan add extension {line} into from-trunk replace", timeout=30)
    try:
        yield
    finally:
        try:
            load.sandbox("cli", f"dialplan remove extension {EXT}@from-trunk", timeout=30)
        except BenchError as error:  # Asterisk died meanwhile: its dialplan went with it
            say(f"could not remove extension {EXT}: {error}")


def running_asterisk() -> int:
    """Asterisk's pid. Not started here: from a worktree that would build a second sandbox."""
    pid = load.asterisk_pid()
    if pid is None:
        raise BenchError(
            "the sandbox Asterisk is not running: scripts/asterisk-sandbox start, or point "
            "FLOWRUNNER_SANDBOX_DIR at the sandbox that runs"
        )
    return pid


def calls_started(runner: Runner) -> int:
    """flowrunner_calls_started_total over all its labels, from the runner's /metrics."""
    url = f"http://127.0.0.1:{runner.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    lines = (
        line for line in text.splitlines() if line.startswith("flowrunner_calls_started_total")
    )
    return round(sum(float(line.rsplit(" ", 1)[1]) for line in lines))


def calls_run(n: int, rate: float, plan: Plan, crew: Fleet) -> CallsResult:
    """One rate through the fleet; never raises for a run that could not be made."""
    calls = max(1, round(rate * plan.seconds))
    label = f"{n} runner" + "s" * (n > 1)
    result = CallsResult(label, "per-call", rate, plan.seconds, calls, code=load.code_id())
    result.runners = n
    try:
        _calls_run(result, plan, crew)
    except (BenchError, sipcall.SippError, OSError, subprocess.SubprocessError) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        # Leave no channel to the next run.
        with contextlib.suppress(BenchError):
            if note := load.clear_channels(0.0):
                result.notes.append(f"after the run: {note}")
    return result


def _calls_run(result: CallsResult, plan: Plan, crew: Fleet) -> None:
    asterisk = running_asterisk()
    if note := load.clear_channels(15.0):
        result.notes.append(f"before the run: {note}")
    if note := load.wait_until_quiet(asterisk, plan.quiet_s):
        result.notes.append(note)
    watches = [LogWatch(load.messages_log())] + [LogWatch(r.log) for r in crew.runners]
    for watch in watches:
        watch.start()
    started = [calls_started(r) for r in crew.runners]
    window, before = Window.open(asterisk, None), crew.ticks()
    report = sipcall.place_calls(
        result.calls,
        result.rate,
        EXT,
        call_timeout=load.CALL_TIMEOUT_S,
        log_dir=plan.logs / f"sipp-{result.runners}-{result.rate:g}",
    )
    window.close(result, asterisk, None)
    account(result, before, crew)
    result.channels_left = len(load.wait_no_channels(load.DRAIN_S))
    result.served = [calls_started(r) - s for r, s in zip(crew.runners, started, strict=True)]
    load.record_calls(result, report)
    timing(result, report)
    load.record_log(result, watches[0].new_lines())
    for watch in watches[1:]:
        result.runner_warnings += [line for line in watch.new_lines() if problem_line(line)]
    if dead := [r.port for r in crew.runners if r.process.poll() is not None]:
        result.notes.append(f"the runner(s) on {dead} exited during the run")
    if load.asterisk_pid() != asterisk:
        result.notes.append("Asterisk restarted during the run: its CPU figure is wrong")


def account(result: CallsResult, before: list[int], crew: Fleet) -> None:
    """The runners' and HAProxy's CPU over the window; Window counted them as other load."""
    spent = [after - b for after, b in zip(crew.ticks(), before, strict=True)]
    per_call = 1000 / load.TICKS / result.calls
    result.app_cpu_ms = round(sum(spent[:-1]) * per_call, 2)
    result.haproxy_cpu_ms = round(spent[-1] * per_call, 2)
    cores = sum(spent) / load.TICKS / max(result.window_s, 0.1)
    result.other_cores = round((result.other_cores or 0.0) - cores, 2)


def timing(result: CallsResult, report: sipcall.CallReport) -> None:
    """Errors from the 180 Ringing, the flow's `ring` at StasisStart: the ~0.5 s before it is
    Asterisk's wait for a per-call connection, not the flow's timing (the ring column shows it)."""
    answered, ended = [], []
    for c in report.calls:
        if c.ring_ms is not None and c.answer_ms is not None:
            answered.append(c.answer_ms - c.ring_ms)
        if c.ring_ms is not None and c.hangup_ms is not None:
            ended.append(c.hangup_ms - c.ring_ms)
    result.answer_error = Stat.of([abs(t - RING_TO_ANSWER_MS) for t in answered])
    lags = [t - RING_TO_HANGUP_MS for t in ended]
    result.bye_lag = Stat.of(lags)
    result.hangup_error = Stat.of([min(abs(lag), abs(lag - BYE_LAG_MS)) for lag in lags])


def retried(n: int, rate: float, plan: Plan, crew: Fleet) -> CallsResult:
    """One rate, made again (at most plan.retries times) while other processes shared the
    cores: on 2 cores their load skews every number of the run."""
    result = calls_run(n, rate, plan, crew)
    for _ in range(plan.retries):
        if result.error is not None or result.verdict is not None:
            break
        say(f"  other processes used {result.other_cores} cores: once more")
        result = calls_run(n, rate, plan, crew)
    return result


def problem_line(line: str) -> bool:
    return " WARNING " in line or " ERROR " in line


def real_calls(counts: list[int], rates: list[float], plan: Plan, state: str) -> list[CallsResult]:
    results: list[CallsResult] = []
    flow = flow_copy(plan.logs)
    with extension():
        for n in counts:
            try:
                with fleet(n, flow, state, plan.logs / f"runners-{n}") as crew:
                    time.sleep(1.0)  # HAProxy's first health checks (every 500 ms)
                    for rate in rates:
                        say(f"real calls: {n} runner(s), {rate:g} calls/s for {plan.seconds:g} s")
                        results.append(retried(n, rate, plan, crew))
                        say("  " + " | ".join(calls_row(results[-1])))
            except (AssertionError, BenchError, OSError) as error:  # the fleet did not start
                results.append(CallsResult(f"{n} runners", "per-call", 0, 0, 0, runners=n))
                results[-1].error = f"{type(error).__name__}: {error}"
    return results


# --- runner-only ------------------------------------------------------------------------------


@dataclass
class GroupResult:
    """N runner_only runs made at once, one per runner, each with its own fake ARI."""

    runners: int
    rate: float  # per runner
    runs: list[runner_only.RunResult]

    @property
    def other_load(self) -> float:
        """Each run counts the other runs' runner and fake ARI as other load: take them out
        again (the windows differ by a few ms, so this is close, not exact)."""
        loads = []
        for run in self.runs:
            others = sum(o.runner_cpu_share + o.server_cpu_share for o in self.runs if o is not run)
            loads.append(max(0.0, run.other_load - others))
        return max(loads, default=0.0)

    @property
    def verdict(self) -> bool | None:
        if self.other_load > runner_only.QUIET_CORES:
            return None
        return all(run.passed for run in self.runs)


def one_run(spec: runner_only.RunSpec) -> runner_only.RunResult:
    """One runner_only run (its fake ARI and its runner), in a process of its own."""
    return asyncio.run(runner_only.run_once(spec))


def group_run(n: int, rate: float, seconds: float, state: str, quiet: float) -> GroupResult:
    """N runs at once. Each fake ARI has a process of its own: one event loop serving them all
    fell behind its own schedule (start lag p99 50-80 ms) from about 1,500 calls/s in all."""
    if note := asyncio.run(runner_only.wait_until_quiet(quiet)):
        say(note)
    spec = runner_only.RunSpec(rate, seconds, "websocket", state=state)
    bound = runner_only.CONNECT_TIMEOUT + seconds + runner_only.CALL_SECONDS
    bound += runner_only.DRAIN_GRACE + 30
    with concurrent.futures.ProcessPoolExecutor(n) as pool:
        runs = list(pool.map(one_run, [spec] * n, timeout=bound))
    return GroupResult(n, rate, runs)


def runners_only(
    counts: list[int], rates: list[float], plan: Plan, state: str
) -> list[GroupResult]:
    groups = []
    for n in counts:
        for rate in rates:
            say(f"runner-only: {n} runner(s) at {rate:g} calls/s each for {plan.seconds:g} s")
            group = group_run(n, rate, plan.seconds, state, plan.quiet_s)
            for _ in range(plan.retries):  # as `retried`, for the runner-only runs
                if group.verdict is not None:
                    break
                say(f"  other processes used {group.other_load:.2f} cores: once more")
                group = group_run(n, rate, plan.seconds, state, plan.quiet_s)
            groups.append(group)
            say("  " + " | ".join(group_row(groups[-1])))
            time.sleep(1.0)  # let the runners' exit settle
    return groups


# --- output -----------------------------------------------------------------------------------

CALLS_COLUMNS = (
    "runners", "rate /s", "ok / calls", "failed", "ring p50 / p99 ms", "answer err p50 / p99 ms",
    "hangup err p50 / p99 ms", "BYE lag p50 / p99 ms", "runners CPU ms/call",
    "Asterisk CPU ms/call", "Asterisk cores", "HAProxy CPU ms/call", "calls per runner",
    "channels left", "busy / other cores", "all ok, p99 ≤ 20 ms",
)  # fmt: skip

GROUP_COLUMNS = (
    "runners", "rate /s per runner", "aggregate /s", "done / calls", "answer late p99 ms",
    "hangup late p99 ms", "runner CPU ms/call", "runner core %", "fake ARI core %",
    "start lag p99 ms", "other load (cores)", "all done, p99 ≤ 10 ms",
)  # fmt: skip


def verdict_cell(verdict: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "inconclusive"}[verdict]


def calls_row(r: CallsResult) -> list[str]:
    cell = load._cell
    if r.error is not None:
        return [str(r.runners), cell(r.rate), "-", *["-"] * (len(CALLS_COLUMNS) - 4), "run failed"]
    asterisk_cores = None if r.asterisk_cpu_ms is None else r.asterisk_cpu_ms * r.rate / 1000
    return [
        str(r.runners), cell(r.rate), f"{r.ok} / {r.calls}", str(r.failed), str(r.ring),
        str(r.answer_error), str(r.hangup_error), str(r.bye_lag), cell(r.app_cpu_ms),
        cell(r.asterisk_cpu_ms), "-" if asterisk_cores is None else f"{asterisk_cores:.2f}",
        cell(r.haproxy_cpu_ms), " / ".join(map(str, r.served)) or "-", str(r.channels_left),
        f"{cell(r.busy_cores)} / {cell(r.other_cores)}", verdict_cell(r.verdict),
    ]  # fmt: skip


def group_row(g: GroupResult) -> list[str]:
    runs = g.runs

    def worst(stats: list[runner_only.Spread | None]) -> str:
        return "-" if None in stats else f"{max(s.p99 for s in stats if s):.1f}"

    calls = sum(r.started for r in runs)
    cpu = sum(r.runner_cpu_ms * r.started for r in runs) / max(1, calls)
    return [
        str(g.runners), f"{g.rate:g}", f"{g.rate * g.runners:g}",
        f"{sum(r.completed for r in runs)} / {calls}",
        worst([r.answer_late for r in runs]), worst([r.hangup_late for r in runs]),
        f"{cpu:.2f}", " / ".join(f"{r.runner_cpu_share:.0%}" for r in runs),
        " / ".join(f"{r.server_cpu_share:.0%}" for r in runs),
        f"{max(r.start_lag_p99_ms for r in runs):.1f}", f"{g.other_load:.2f}",
        verdict_cell(g.verdict),
    ]  # fmt: skip


def calls_report(results: list[CallsResult], counts: list[int]) -> list[str]:
    lines = ["### Real calls, per-call connections through HAProxy, shared Redis", ""]
    lines += [load.markdown(CALLS_COLUMNS, [calls_row(r) for r in results]), ""]
    for r in results:
        notes = load.run_notes(r) + [f"runner: {line[:200]}" for line in r.runner_warnings[:3]]
        if len(r.runner_warnings) > 3:
            notes.append(f"runners: {len(r.runner_warnings)} WARNING/ERROR lines in all")
        lines += [f"- {r.runners} runner(s) @ {load._cell(r.rate)}/s: {note}" for note in notes]
    verdicts = [(r.runners, r.rate, r.verdict) for r in results]
    lines += ceilings(counts, verdicts, "highest rate, all calls ok and p99 ≤ 20 ms")
    lines += [
        "",
        'Asterisk\'s own CPU is the ceiling on this 2-core machine: "Asterisk cores" is its '
        "CPU per call times the rate, and Asterisk, sipp, HAProxy and the runners share the "
        "2 cores; a second runner cannot raise a rate Asterisk cannot carry (the runner-only "
        "table below measures the runners without it).",
    ]
    return lines


def ceilings(
    counts: list[int], verdicts: list[tuple[int, float, bool | None]], goal: str
) -> list[str]:
    """Per runner count, the highest rate of (runners, rate, verdict) meeting the goal."""
    lines = []
    for n in counts:
        top = highest_passing([(rate, verdict) for k, rate, verdict in verdicts if k == n])
        found = "below the lowest rate tried" if top is None else f"{top:g} calls/s"
        lines.append(f"- **{n} runner(s)**: {goal}: {found}")
    return lines


def groups_report(groups: list[GroupResult], counts: list[int]) -> list[str]:
    lines = ["### Runner-only: N runners, each against its own fake ARI, driven at once", ""]
    lines += [load.markdown(GROUP_COLUMNS, [group_row(g) for g in groups]), ""]
    for g in groups:
        for run in g.runs:
            lines += [f"- {g.runners} x {g.rate:g}/s: {p[:200]}" for p in run.problems[:3]]
            lines += [f"- {g.runners} x {g.rate:g}/s: failed {kind}" for kind in run.failures]
    verdicts = [(g.runners, g.rate * g.runners, g.verdict) for g in groups]
    lines += ceilings(counts, verdicts, "highest aggregate rate, all done and p99 ≤ 10 ms")
    lines += [
        "",
        "Each fake ARI runs in a process of its own, on the same 2 cores as the runners: "
        "with 2 runners the machine holds 4 busy processes, so the aggregate says what 2 "
        "runners do on 2 cores, not on 2 machines.",
    ]
    return lines


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


# --- main -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rates", default="25,35,50,100", help="real calls: calls/s (150 crashed Asterisk)")
    add("--seconds", type=float, default=10.0, help="seconds of new calls per run")
    add("--runners", default="1,2", help="runner processes, one sweep each (1 and/or 2)")
    add("--runner-rates", default="100,250,500", help="runner-only: calls/s per runner")
    add("--parts", default="calls,runner-only", help="what to run: calls, runner-only or both")
    add("--runner-state", default="none", help="runner-only: none or redis (--state)")
    add("--json", type=Path, help="write every result to this file")
    add("--keep-logs", type=Path, help="keep sipp's, the runners' and HAProxy's logs here")
    quiet = "before each run, wait up to S s for other processes to stop using CPU"
    add("--quiet-wait", type=float, default=30.0, metavar="S", help=quiet)
    again = "make a run again, at most N times, while other processes used the cores"
    add("--retries", type=int, default=1, metavar="N", help=again)
    return parser


def _floats(text: str) -> list[float]:
    return [float(part) for part in load._split(text)]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    counts = [int(n) for n in load._split(args.runners)]
    parts = set(load._split(args.parts))
    if not counts or any(not 1 <= n <= MAX_RUNNERS for n in counts) or not parts:
        print(f"bench: --runners takes 1 to {MAX_RUNNERS}, --parts one or both", file=sys.stderr)
        return 2
    load._stop_on_sigterm()
    data: dict[str, Any] = {"argv": sys.argv[1:]}
    out = ["## Scale-out bench", ""]
    with load._log_dir(args.keep_logs) as logs, contextlib.ExitStack() as stack:
        plan = Plan(args.seconds, logs, args.quiet_wait, args.retries)
        url = ""  # the shared store of the real calls' runners, and of runner-only's if redis
        if "calls" in parts or args.runner_state == "redis":
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-redis-"))
            url = stack.enter_context(redis_server(Path(folder)))
        if "calls" in parts:
            out += calls_part(counts, _floats(args.rates), plan, url, data)
        if "runner-only" in parts:
            state = url if args.runner_state == "redis" else args.runner_state
            groups = runners_only(counts, _floats(args.runner_rates), plan, state)
            data["runner_only"] = [asdict(g) | {"verdict": g.verdict} for g in groups]
            out += groups_report(groups, counts)
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps(data, indent=1, default=str) + "\n")
    return 0


def calls_part(
    counts: list[int], rates: list[float], plan: Plan, url: str, data: dict[str, Any]
) -> list[str]:
    """The real calls: their results into `data`, their report returned."""
    running_asterisk()
    data["machine"] = load.machine()
    calls = real_calls(counts, rates, plan, url)
    data["real_calls"] = [asdict(r) | {"verdict": r.verdict} for r in calls]
    machine = [f"- {k}: {v}" for k, v in data["machine"].items()]
    return [*machine, "", *calls_report(calls, counts), ""]


if __name__ == "__main__":
    sys.exit(main())
