"""bench/load.py's pooling of several rounds: the goals are judged on all the calls of a
target at a rate, not on its luckiest or unluckiest run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load  # bench/ is not a package: it is put on the path just above


def run(target: str, cpu: float, answer: list[int], failed: int = 0) -> load.RunResult:
    result = load.RunResult(target, None, 100.0, 10.0, len(answer), len(answer) - failed, failed)
    result.answer_errors, result.hangup_errors = answer, [ms + 4 for ms in answer]
    result.answer_error = load.Stat.of(answer)
    result.app_cpu_ms = cpu
    return result


def test_rounds_pool_their_calls_and_take_the_median_cpu() -> None:
    runs = [
        run("flowrunner", 2.0, [4] * 99 + [40]),
        run("seed", 3.0, [8] * 100),
        run("flowrunner", 1.0, [4] * 100, failed=1),
        run("seed", 4.0, [8] * 100),
        run("flowrunner", 1.5, [4] * 100),
    ]
    flowrunner, seed = load.pool(runs)
    assert (flowrunner.target, flowrunner.calls, flowrunner.failed) == ("flowrunner", 300, 1)
    assert flowrunner.app_cpu_ms == 1.5
    assert (flowrunner.answer_error.p99, flowrunner.answer_error.max) == (4, 40)
    assert flowrunner.hangup_error.p99 == 8
    assert (seed.app_cpu_ms, seed.answer_error.p99) == (3.5, 8)


def test_one_round_is_left_as_it_ran() -> None:
    runs = [run("flowrunner", 2.0, [4] * 99 + [40]), run("seed", 3.0, [8] * 100)]
    assert load.pool(runs) == runs


def test_a_run_that_could_not_be_made_is_left_out_of_the_pool() -> None:
    broken = load.RunResult("flowrunner", None, 100.0, 10.0, 1000, error="BenchError: no app")
    (pooled,) = load.pool([broken, run("flowrunner", 2.0, [4] * 100)])
    assert (pooled.calls, pooled.app_cpu_ms, pooled.error) == (100, 2.0, None)


def test_cores_are_read_as_lists_and_ranges() -> None:
    assert load.core_set("0") == {0}
    assert load.core_set("0,2") == {0, 2}
    assert load.core_set("1-3") == {1, 2, 3}


def test_pinned_puts_asterisk_and_the_bench_on_their_cores_and_gives_them_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asterisk = subprocess.Popen(["sleep", "30"])  # stands in for Asterisk's process
    try:
        monkeypatch.setattr(load, "asterisk_pid", lambda: asterisk.pid)
        every, ours = os.sched_getaffinity(asterisk.pid), os.sched_getaffinity(0)
        core = min(ours)
        with load.pinned(f"{core}:{core}"):
            assert os.sched_getaffinity(asterisk.pid) == {core}
            assert os.sched_getaffinity(0) == {core}
        assert os.sched_getaffinity(asterisk.pid) == every
        assert os.sched_getaffinity(0) == ours
    finally:
        asterisk.kill()
        asterisk.wait()


def test_pinned_without_cores_pins_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "asterisk_pid", lambda: pytest.fail("Asterisk looked up"))
    with load.pinned(None):
        pass


SNMP = """\
Ip: Forwarding DefaultTTL
Ip: 1 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
Udp: 963905 1017 25 26090257 25 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
UdpLite: 0 0 0 7 0 0
"""


def test_udp_sent_adds_ipv4_and_ipv6_and_not_udplite() -> None:
    snmp6 = "Udp6InDatagrams                \t50\nUdp6OutDatagrams                \t43\n"
    assert load.udp_sent(SNMP, snmp6) == 26090257 + 43
    assert load.udp_sent(SNMP) == 26090257
