"""Scale-out bench: channel-state calls over per-call outbound WebSockets, 1 or 2 runners.

    .venv/bin/python bench/scale_out.py runner-only [--rates 50,100,200] [--seconds 10]
    .venv/bin/python bench/scale_out.py sandbox [--rates 10,20,40] [--seconds 10]

`runner-only`: a simulated Asterisk in this process opens one WebSocket per call to the
runners (`serve --listen`; with 2 runners, through HAProxy, as Asterisk's per_call_config
would), sends StasisStart, answers every request, and ends the call when the hangup comes. The
lateness is measured by it: answer request arrival - StasisStart - 2 s, hangup arrival - 6 s.

`sandbox`: the sandbox Asterisk places the calls (Local/scaleout-per-call@scaleout, originated
over ARI) and connects per call to the runners (scripts/asterisk/etc/websocket_client.conf,
port 18096: HAProxy in front of 2 runners, or 1 runner there directly). The lateness comes from
the runners' logs (info level): "answer ok" - "entered" - 2 s, "hangup ok" - "entered" - 6 s;
Asterisk's own CPU is reported beside the runners'.

A rate passes when every call completed and both latenesses have p99 <= 20 ms. Each run starts
fresh runners (and HAProxy) and stops them; the machine's load average is printed with each row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
from websockets.asyncio.client import connect

REPO = Path(__file__).parents[1]
sys.path.insert(0, str(REPO / "tests"))
from haproxy_server import haproxy  # noqa: E402

AUTH = ("asterisk", "asterisk")
BASIC = "Basic YXN0ZXJpc2s6YXN0ZXJpc2s="
ARI = "http://127.0.0.1:8088/ari"
APP = "scaleout-per-call"
FRONT, BACKS = 18096, [18097, 18098]
SANDBOX = os.environ.get("FLOWRUNNER_SANDBOX_DIR", str(REPO / ".sandbox" / "asterisk"))


def rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-percent * len(ordered) // 100) - 1)] if ordered else float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def runners(count: int, log_dir: Path, level: str) -> Any:
    """`count` runners listening on FRONT (one) or behind HAProxy there (two)."""
    flow = log_dir / "flow.yaml"
    text = (REPO / "flows" / "channel-state.yaml").read_text()
    flow.write_text(text.replace("\napp: channel-state\n", f"\napp: {APP}\n"))
    ports = [FRONT] if count == 1 else BACKS[:count]
    processes = []
    with ExitStack() as stack:
        for port in ports:
            log = (log_dir / f"runner-{port}.log").open("w")
            command = [sys.executable, "-m", "flowrunner", "serve", "--listen", f"127.0.0.1:{port}"]
            command += ["--state", "none", "--log-format", "json", "--log-level", level, str(flow)]
            processes.append(subprocess.Popen(command, cwd=REPO, stderr=log))
        deadline = time.monotonic() + 30
        for port in ports:
            path = log_dir / f"runner-{port}.log"
            while "listening on" not in path.read_text():
                assert time.monotonic() < deadline, path.read_text()
                time.sleep(0.05)
        if count > 1:
            stack.enter_context(haproxy(log_dir, FRONT, ports))
        try:
            yield processes
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


# -- runner-only ---------------------------------------------------------------------------


async def fake_call(n: int, lateness: dict[str, list[float]], done: list[int]) -> None:
    channel, name = f"bench-{n}", f"Local/bench-{n};2"
    async with connect(
        f"ws://127.0.0.1:{FRONT}/ari",
        additional_headers={"Authorization": BASIC},
        subprotocols=["ari"],  # type: ignore[list-item]
        max_size=2**20,
        open_timeout=30,
    ) as ws:
        app = f"{APP}:{name}"
        await ws.send(json.dumps({"type": "ApplicationRegistered", "application": app}))
        start = time.monotonic()
        await ws.send(
            json.dumps(
                {
                    "type": "StasisStart",
                    "application": app,
                    "args": [],
                    "channel": {"id": channel, "name": name, "state": "Ring"},
                }
            )
        )
        async for text in ws:
            message = json.loads(text)
            if message.get("type") != "RESTRequest":
                continue
            uri, method = message["uri"], message["method"]
            status, body = 204, ""
            if uri.startswith("applications/"):
                status, body = 200, json.dumps({"channel_ids": [channel]})
            elif uri.endswith("/answer"):
                lateness["answer"].append((time.monotonic() - start - 2.0) * 1000)
            reply = {"type": "RESTResponse", "request_id": message["request_id"]}
            await ws.send(json.dumps(reply | {"status_code": status, "message_body": body}))
            if method == "DELETE":
                lateness["hangup"].append((time.monotonic() - start - 6.0) * 1000)
                end = {"type": "StasisEnd", "application": app, "channel": {"id": channel}}
                await ws.send(json.dumps(end))
                done.append(n)
                return


async def offer(rate: int, seconds: int) -> tuple[dict[str, list[float]], int, int]:
    lateness: dict[str, list[float]] = {"answer": [], "hangup": []}
    done: list[int] = []
    tasks, started = [], time.monotonic()
    for n in range(rate * seconds):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(fake_call(n, lateness, done)))
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    failed = sum(isinstance(r, BaseException) for r in results)
    return lateness, len(done), failed


def runner_only(rate: int, seconds: int, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, runners(count, Path(tmp), "warning") as procs:
        cpu0 = [cpu_seconds(p.pid) for p in procs]
        lateness, completed, failed = asyncio.run(offer(rate, seconds))
        cpu = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0, strict=True))
    return row(rate, seconds, count, lateness, completed, failed, {"runners_cpu_s": cpu})


# -- sandbox -------------------------------------------------------------------------------


def asterisk_pid() -> int:
    return int(Path(SANDBOX, "run/asterisk/asterisk.pid").read_text())


def sandbox(rate: int, seconds: int, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, runners(count, Path(tmp), "info") as procs:
        cpu0 = [cpu_seconds(p.pid) for p in procs]
        ast0, pid = cpu_seconds(asterisk_pid()), asterisk_pid()
        session, started, failed = requests.Session(), time.monotonic(), 0
        for n in range(rate * seconds):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            try:
                session.post(
                    f"{ARI}/channels",
                    params={
                        "endpoint": f"Local/{APP}@scaleout",
                        "extension": "answer",
                        "context": "callees",
                    },
                    auth=AUTH,
                    timeout=10,
                ).raise_for_status()
            except requests.RequestException:
                failed += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = [c for c in session.get(f"{ARI}/channels", auth=AUTH).json()]
            if not any(c["name"].startswith(f"Local/{APP}@scaleout") for c in left):
                break
            time.sleep(0.2)
        cpu = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0, strict=True))
        asterisk_cpu = cpu_seconds(pid) - ast0
        lateness, completed = from_logs(Path(tmp))
    extra = {"runners_cpu_s": cpu, "asterisk_cpu_s": asterisk_cpu}
    return row(rate, seconds, count, lateness, completed, failed, extra)


def from_logs(directory: Path) -> tuple[dict[str, list[float]], int]:
    lateness: dict[str, list[float]] = {"answer": [], "hangup": []}
    completed = 0
    for path in directory.glob("runner-*.log"):
        entered: dict[str, float] = {}
        for text in path.read_text().splitlines():
            line = json.loads(text)
            channel, message = line.get("channel"), line["message"]
            at = time.mktime(time.strptime(line["time"][:19], "%Y-%m-%dT%H:%M:%S"))
            at += float(line["time"][19:])
            if line.get("kind") == "start":
                entered[channel] = at
            elif channel in entered and message.endswith(" answer ok"):
                lateness["answer"].append((at - entered[channel] - 2.0) * 1000)
            elif channel in entered and message.endswith(" hangup ok"):
                lateness["hangup"].append((at - entered[channel] - 6.0) * 1000)
            elif line.get("kind") == "end" and " in ended: " in message:
                completed += 1
    return lateness, completed


# -- report --------------------------------------------------------------------------------


def row(
    rate: int,
    seconds: int,
    count: int,
    lateness: dict[str, list[float]],
    completed: int,
    failed: int,
    extra: dict[str, float],
) -> dict[str, Any]:
    calls = rate * seconds
    p99 = {kind: rank(values, 99) for kind, values in lateness.items()}
    return {
        "runners": count,
        "rate": rate,
        "calls": calls,
        "completed": completed,
        "failed": failed,
        "answer_p50_ms": rank(lateness["answer"], 50),
        "answer_p99_ms": p99["answer"],
        "hangup_p50_ms": rank(lateness["hangup"], 50),
        "hangup_p99_ms": p99["hangup"],
        "passes": completed == calls and all(v <= 20 for v in p99.values()),
        "load_avg_1m": os.getloadavg()[0],
        **{key: round(value / calls * 1000, 2) for key, value in extra.items()},  # ms per call
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["runner-only", "sandbox"])
    parser.add_argument("--rates", default="")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runners", default="1,2")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    default = "50,100,200" if args.mode == "runner-only" else "10,20,40"
    run = runner_only if args.mode == "runner-only" else sandbox
    results = []
    for count in (int(c) for c in args.runners.split(",")):
        for rate in (int(r) for r in (args.rates or default).split(",")):
            result = run(rate, args.seconds, count)
            results.append(result)
            print(json.dumps(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
