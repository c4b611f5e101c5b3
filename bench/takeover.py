"""Takeover bench: how long a runner takes to carry on the calls of one that was killed.

    .venv/bin/python bench/takeover.py [--calls 100] [--state sqlite|redis]

A simulated Asterisk (bench/fake_ari.py) starts `--calls` channel-state calls on a runner
keeping its calls (`--state`); once they ring, that runner is killed (SIGKILL), and a second one
is started on the same state. It reports the time from the second runner's connection to the
last call taken over, the time from the kill to then, and whether every call still got its
answer (at 2 s) and its hangup (at 6 s) on time, as the fake server saw them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from fake_ari import FakeAri
from runner_only import ANSWER_AT, HANGUP_AT, RunSpec, late, spread, start_runner, stop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import redis_server  # the tests' loopback redis-server


def logged_at(line: str) -> float:
    """The time of a text log line ("2026-12-01 23:50:01,123 INFO …") in epoch seconds."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


async def run(calls: int, state: str, folder: Path) -> None:
    server = FakeAri()
    port = await server.start()
    spec = RunSpec(0, 0, "websocket", log_level="info", state=state)
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    first = start_runner(port, spec, folder / "a" / "serve.log")
    await asyncio.wait_for(server.ready.wait(), 30)
    await server.drive(rate=max(50.0, calls / 1.0), seconds=min(1.0, calls / 50.0))
    await asyncio.sleep(0.5)  # every call rings (and is kept) before the kill
    first.kill()
    first.wait()
    killed = datetime.now().timestamp()
    server.ready.clear()
    second = start_runner(port, spec, folder / "b" / "serve.log")
    finished = await server.wait_finished(HANGUP_AT + 15)
    stop(second)
    await server.close()
    lines = (folder / "b" / "serve.log").read_text().splitlines()
    connected = next(logged_at(line) for line in lines if "connected to ARI" in line)
    taken = [logged_at(line) for line in lines if " taken over in " in line]
    answers = spread(late(server.calls, "answer", ANSWER_AT))
    hangups = spread(late(server.calls, "hangup", HANGUP_AT))
    print(f"calls: {len(server.calls)}, all ended: {finished}, taken over: {len(taken)}")
    if taken:
        print(f"connected -> last taken over: {(max(taken) - connected) * 1000:.0f} ms")
        print(f"killed -> last taken over: {(max(taken) - killed) * 1000:.0f} ms")
    print(f"answer late p50/p99/max ms: {answers}; hangup late: {hangups}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--state", choices=["sqlite", "redis"], default="sqlite")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="takeover-")))
        state = str(folder / "calls.db")
        if args.state == "redis":
            state = stack.enter_context(redis_server(folder))
        asyncio.run(run(args.calls, state, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
