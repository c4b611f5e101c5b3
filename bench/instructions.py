"""Instructions per call of a whole `flowrunner serve` process: deterministic, whatever else runs.

    .venv/bin/python bench/instructions.py [--calls 10,70] [--rate 2] [--state sqlite|none]
    PYTHONPATH=/tmp/base .venv/bin/python bench/instructions.py   # another tree, to compare

CPU time per real call moves by ±15% from run to run on a shared machine, more than most
changes are worth. Instructions do not: this bench runs `serve flows/channel-state.yaml
--log-level warning` under `valgrind --tool=callgrind` (every thread: the live loop, the store
writer, the HTTP workers) against the simulated ARI (`bench/fake_ari.py`), twice, for each of
two numbers of calls. Start-up and shut-down cost the same in both, so the difference, divided
by the difference in calls, is what one call costs: its frames, JSON, engine, snapshots and
store writes, and the loop's wake-ups for it.

Calls come slowly (--rate, default 2/s: callgrind runs about 50 times slower than real), each
message on its own, as on a real Asterisk at 50 calls/s. Repeats agree within about 1%. A
tree pinned for comparison: `git archive REV flowrunner | tar -x -C /tmp/base`, then
PYTHONPATH=/tmp/base (the subprocesses inherit it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from redis_server import free_port  # noqa: E402  (tests/ is not a package: put on the path above)

FLOWRUNNER = REPO / ".venv" / "bin" / "flowrunner"  # not `python -m`: that puts the cwd first
FLOW = REPO / "flows" / "channel-state.yaml"
USER = PASSWORD = "bench"
COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(calls: int, rate: float, state: str, folder: Path) -> int:
    """Instructions of one `serve` process that handled `calls` simulated calls."""
    port = free_port()
    fake_ari = [sys.executable, str(REPO / "bench" / "fake_ari.py"), "--port", str(port)]
    pace = ["--rate", str(rate), "--seconds", str(calls / rate), "--connect-timeout", "300"]
    fake = subprocess.Popen(
        [*fake_ari, *pace],
        stdout=subprocess.PIPE,
        text=True,
    )
    store = "none" if state == "none" else str(folder / f"calls-{calls}.db")
    log = folder / f"callgrind-{calls}.log"
    callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/{calls}.out"]
    ari = ["--ari-url", f"http://127.0.0.1:{port}", "--ari-user", USER, "--ari-password", PASSWORD]
    serve_args = ["serve", str(FLOW), "--log-level", "warning", *ari, "--state", store]
    with log.open("w") as stderr:
        serve = subprocess.Popen(
            [*callgrind, str(FLOWRUNNER), *serve_args], stderr=stderr, stdout=subprocess.DEVNULL
        )
    try:
        out, _ = fake.communicate(timeout=calls / rate + 400)
        time.sleep(2)  # the last calls' ends reach the store
        if "all ended: True" not in out:
            raise SystemExit(f"the simulated calls did not all end: {out.strip()[-300:]}")
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=120)
    finally:
        for process in (fake, serve):
            if process.poll() is None:
                process.kill()
                process.wait()
    found = COLLECTED.search(log.read_text())
    if found is None:
        raise SystemExit(f"no instruction count in {log}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="10,70", help="two numbers of calls (default 10,70)")
    parser.add_argument("--rate", type=float, default=2.0, help="calls started per second")
    parser.add_argument("--state", choices=("sqlite", "none"), default="sqlite")
    args = parser.parse_args()
    few, many = (int(n) for n in args.calls.split(","))
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (Debian: apt-get install valgrind)")
    tree = os.environ.get("PYTHONPATH") or str(REPO)
    with tempfile.TemporaryDirectory(prefix="flowrunner-instructions-") as folder:
        counts = [instructions(n, args.rate, args.state, Path(folder)) for n in (few, many)]
    per_call = (counts[1] - counts[0]) / (many - few)
    print(f"flowrunner from {tree}, --state {args.state}, {few} and {many} calls at {args.rate}/s")
    print(f"{counts[0]:,} and {counts[1]:,} instructions: {per_call:,.0f} per call")


if __name__ == "__main__":
    main()
