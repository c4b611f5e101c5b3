"""Engine-only bench: the runtime's own CPU per call, on virtual time, in one process.

    .venv/bin/python bench/engine_cpu.py [--calls 2000] [--rate 175] [--repeat 5] [--gc]
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python bench/engine_cpu.py --calls 500 --repeat 1

flows/channel-state.yaml's calls go through the real `Runtime` (machine, steps, timers,
journal at warning level) against a fake transport that answers at once and raises the events
`bench/fake_ari.py` raises (the same frames, decoded from JSON as the live loop does). Calls
start `--rate` per virtual second, so about 6 times the rate are live at once, as in
`bench/runner_only.py`; no socket, no thread, no waiting. Reports CPU (`process_time`) per call
for each repeat, and the objects the cyclic garbage collector found per ended call: what
ended calls leave to it instead of to reference counting.

Deterministic: under callgrind the instruction count per call repeats to a fraction of a
percent, whatever else the machine runs. Compare two trees with PYTHONPATH (e.g. a worktree of
the base commit) in the same sitting.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FLOW = REPO / "flows" / "channel-state.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_ari import ASTERISK_ID, QOS_VARIABLES, bench_channel  # noqa: E402

from flowrunner.engine.journal import Fanout  # noqa: E402
from flowrunner.engine.machine import compile_flow  # noqa: E402
from flowrunner.engine.runtime import Runtime  # noqa: E402
from flowrunner.flow.loader import load_flow  # noqa: E402
from flowrunner.logs import LogJournal, setup  # noqa: E402
from flowrunner.ports import Request, Response  # noqa: E402
from flowrunner.sim.clock import VirtualClock  # noqa: E402

STAMP = "2026-12-02T12:00:00.000+0000"


class FakeAsterisk:
    """Answers each request at once (204) and raises what Asterisk 22 raises, as JSON frames."""

    name = "fake"

    def __init__(self, runtime_post: Any) -> None:
        self.post = runtime_post
        self.channels: dict[str, dict[str, Any]] = {}
        self.ended = 0

    def start(self, index: int) -> None:
        channel = bench_channel(f"1764676800.{index}", index, "channel-state", STAMP)
        self.channels[channel["id"]] = channel
        self.emit(channel, "StasisStart", args=[])

    def emit(self, channel: dict[str, Any], kind: str, **fields: Any) -> None:
        event = {
            **fields,
            "type": kind,
            "timestamp": STAMP,
            "channel": channel,
            "asterisk_id": ASTERISK_ID,
            "application": "channel-state",
        }
        self.post(json.loads(json.dumps(event)))  # a fresh decoded frame, as the live loop's

    def submit(self, request: Request, done: Any) -> None:
        parts = request.path.split("/")
        channel = self.channels.get(parts[1])
        if channel is None:
            done(Response(404, error="Channel not found"))
            return
        operation = parts[2] if len(parts) > 2 else ""
        if operation == "answer" and channel["state"] != "Up":
            channel["state"] = "Up"
            self.emit(channel, "ChannelStateChange")
        if request.method == "DELETE" and not operation:
            for variable, value in QOS_VARIABLES:
                self.emit(channel, "ChannelVarset", variable=variable, value=value)
            done(Response(204))
            self.emit(channel, "ChannelHangupRequest", cause=32, soft=True)
            self.emit(channel, "StasisEnd")
            del self.channels[parts[1]]
            self.ended += 1
            return
        done(Response(204))


class Keeper:
    """Takes the snapshots as `--state` would hand them to its writer thread, and drops them:
    what keeping costs on the runtime's thread, without the store's own cost."""

    def __init__(self) -> None:
        self.kept = self.forgotten = 0

    def keep(self, channel: str, snapshot: str, version: str, flow_text: str) -> None:
        self.kept += 1

    def forget(self, channel: str) -> None:
        self.forgotten += 1


def run(compiled: Any, calls: int, rate: float, keeper: Keeper | None = None) -> tuple[float, int]:
    """CPU seconds for `calls` calls, and the most live at once; then a full collection finds
    what the ended calls left in reference cycles."""
    clock = VirtualClock()
    holder: list[Runtime] = []
    asterisk = FakeAsterisk(lambda message: holder[0].post(message))
    runtime = Runtime([compiled], asterisk, clock, Fanout(LogJournal()), keeper=keeper)  # as serve
    holder.append(runtime)
    starts = [index / rate for index in range(calls)]
    heapq.heapify(starts)
    peak, index = 0, 0
    gc.collect()
    began = time.process_time()
    while index < calls or runtime.calls:
        due = [
            t for t in (starts[0] if starts else None, runtime.timers.next_due()) if t is not None
        ]
        if not due:
            break
        clock.advance_to(min(due))
        while starts and starts[0] <= clock.now():
            heapq.heappop(starts)
            asterisk.start(index)
            index += 1
        runtime.drain()
        runtime.fire_due_timers()
        runtime.drain()
        peak = max(peak, len(runtime.calls))
    elapsed = time.process_time() - began
    gc.collect()
    assert asterisk.ended == calls, f"{asterisk.ended} of {calls} calls ended"
    return elapsed, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=175.0, help="calls per virtual second")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gc", action="store_true", help="keep the collector's default thresholds")
    parser.add_argument("--keep", action="store_true", help="keep calls (snapshots, as --state)")
    args = parser.parse_args()
    setup(level="warning")
    compiled = compile_flow(load_flow(FLOW))
    if not args.gc:  # as `serve` does (its _tune_garbage_collector)
        gc.freeze()
        gc.set_threshold(20_000, 20, 30)
    found: list[int] = []
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    began = [0.0]

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            found.append(info["collected"])
            pauses[info["generation"]].append(time.perf_counter() - began[0])

    gc.callbacks.append(count)
    for _ in range(args.repeat):
        found.clear()
        for generation in pauses.values():
            generation.clear()
        keeper = Keeper() if args.keep else None
        elapsed, peak = run(compiled, args.calls, args.rate, keeper)
        full = pauses[2][:-1]  # the last is the run's own final collection
        longest = f", longest {max(full) * 1000:.1f} ms" if full else ""
        print(
            f"{args.calls} calls, peak {peak} live: {elapsed * 1e6 / args.calls:.0f} µs CPU/call, "
            f"GC found {sum(found) / args.calls:.1f} objects/call; collections by generation "
            f"{len(pauses[0])} / {len(pauses[1])} / {len(full)}{longest}"
            + (f"; {keeper.kept / args.calls:.1f} snapshots/call" if keeper else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
