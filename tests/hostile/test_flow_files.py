"""Hostile flow files and flow test files: each gives `path:line:col: key.trail: message` lines
and exit 1 (or is valid, exit 0): never a traceback (exit 3), a hang, or time and memory that
grow without bound. The corpus is `flows/` beside this file; the huge files are made here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes import REPO, write_file

from flowrunner.cli import main
from flowrunner.flow import yamltree

CORPUS = Path(__file__).parent / "flows"
STATE_NAME = "A state name: lower case letters, digits and _, starting with a letter."
APP_NAME = "The Stasis application name; calls enter with Stasis(app) in the dialplan."
SURROGATE = "text with an invalid character (a lone surrogate, as \\ud800)"
SUMMARY = re.compile(r"[0-9]+ passed, [0-9]+ failed(, [0-9]+ error\(s\))? in [0-9.]+s")
SMALL_FILE_SECONDS = 2.0  # generous: a small file takes a few ms
HUGE_FILE_SECONDS = 5.0  # generous: measured about 1 s on a 2-core machine


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], float]:
    """Exit code and stdout lines of `flowrunner ARGS`, and its seconds; stderr must be empty
    (a traceback would be there)."""
    started = time.perf_counter()
    code = main(list(args))
    seconds = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert err == ""
    return code, out.splitlines(), seconds


# -- the corpus: each file, the lines it gives ({path}: the file, {dir}: the corpus) ----------

FLOWS = [
    ("minimal.yaml", 0, ["1 flow file(s) valid"]),
    # D12: a lone surrogate could not be printed (UnicodeEncodeError, exit 3)
    ("d12-surrogate-initial.yaml", 1, [f"{{path}}:4:10: initial: {SURROGATE}"]),
    ("d12-surrogate-key.yaml", 1, [f"{{path}}:6:3: states: {SURROGATE}"]),
    ("d12-surrogate-action.yaml", 1, [f"{{path}}:6:10: states.start.do[0]: {SURROGATE}"]),
    ("d12-surrogate-description.yaml", 1, [f"{{path}}:4:14: description: {SURROGATE}"]),
    ("ok-surrogate-pair.yaml", 0, ["1 flow file(s) valid"]),
    # D13: ruamel asserted the version (AssertionError, exit 3)
    (
        "d13-yaml-1.0.yaml",
        1,
        ["{path}:1:1: %YAML 1.0 is not supported: write %YAML 1.2, or leave it out"],
    ),
    (
        "d13-yaml-1.3.yaml",
        1,
        ["{path}:2:1: %YAML 1.3 is not supported: write %YAML 1.2, or leave it out"],
    ),
    (
        "d13-second-document.yaml",
        1,
        ["{path}:3:1: %YAML 1.9 is not supported: write %YAML 1.2, or leave it out"],
    ),
    # D18: brackets in comments and strings were counted as nesting
    ("ok-brackets-in-comments.yaml", 0, ["1 flow file(s) valid"]),
    # control characters and ANSI escapes are echoed as escapes
    (
        "escapes-ansi-and-newlines.yaml",
        1,
        [
            f"{{path}}:5:10: initial: '\\x1b[31mred\\x1b[0m' is not valid: {STATE_NAME}",
            f"{{path}}:7:3: states: 'start\\nflow.yaml:1:1: forged' is not valid: {STATE_NAME}",
        ],
    ),
    # D17: no message echoes more than an excerpt of a value
    (
        "long-values.yaml",
        1,
        [
            f"{{path}}:2:6: app: '{'a' * 79}…' is not valid: {APP_NAME}",
            f"{{path}}:5:27: states.start.on.StasisEnd: '{'e' * 79}…' is not valid: {STATE_NAME}",
        ],
    ),
    (
        "long-key.yaml",
        1,
        [
            f"{{path}}:3:1: unknown key '{'k' * 79}…'; expected one of: version, app, "
            "description, initial, vars, on, states, timezone, hours, uses, after_call, recovery, "
            "limits"
        ],
    ),
    (
        "long-alias.yaml",
        1,
        [f"{{path}}:2:6: YAML syntax error: found undefined alias '{'x' * 96}…"],
    ),
    (
        "huge-number.yaml",
        1,
        [
            f"{{path}}:4:21: limits.max_steps: '0x{'f' * 77}…' is too big a number: "
            "at most 1000 decimal digits"
        ],
    ),
    # the same anchor twice: ruamel warned on stderr (exit 3 where warnings are errors)
    (
        "anchors-reused.yaml",
        1,
        ["{path}:3:6: app: anchors and aliases (&name, *name) are not allowed"],
    ),
    # odd text: a BOM and CRLF line ends keep their positions; tabs; nothing at all
    (
        "bom-crlf.yaml",
        1,
        ["{path}:5:27: states.start.on.StasisEnd: unknown state 'endd'; did you mean 'ended'?"],
    ),
    (
        "tabs.yaml",
        1,
        [
            "{path}:3:1: YAML syntax error: while scanning for the next token found character "
            "'\\t' that cannot start any token"
        ],
    ),
    ("empty.yaml", 1, ["{path}:1:1: the file is empty"]),
    ("comment-only.yaml", 1, ["{path}:1:1: the file is empty"]),
    ("ok-multiline-guard.yaml", 0, ["1 flow file(s) valid"]),
]

TESTS = [
    # D11: durations the schema lets through crashed `test` (ValueError, exit 3)
    ("d11-within-0s.test.yaml", 0, ["{path}::within 0s is exact PASSED"]),
    (
        "d11-within-1500m.test.yaml",
        1,
        ["{path}:5:44: tests[0].expect.within: bad duration '1500m': it must be at most 24h"],
    ),
    (
        "d11-within-tiny.test.yaml",
        1,
        ["{path}:5:44: tests[0].expect.within: bad duration '0.0001s': it must be at least 1ms"],
    ),
    (
        "d11-dial-after-1441m.test.yaml",
        1,
        [
            "{path}:5:19: tests[0].dial.after: bad duration '1441m': it must be at most 24h",
            "{path}:5:40: tests[0].dial.hangup_after: bad duration '99999999999s': it must be "
            "at most 24h",
        ],
    ),
    (
        "d11-timeline-out-of-bounds.test.yaml",
        1,
        [
            "{path}:5:14: tests[0].caller[0]: bad duration '1500m': it must be at most 24h",
            "{path}:5:28: tests[0].caller[1]: bad duration '0.00001s': it must be at least 1ms",
            "{path}:6:30: tests[0].http[0].after: bad duration '0.0001s': it must be at least 1ms",
            "{path}:7:24: tests[0].expect.actions[0]: bad duration '1500m': it must be at most 24h",
        ],
    ),
    # D12, in a test file
    ("d12-surrogate-name.test.yaml", 1, [f"{{path}}:4:11: tests[0].name: {SURROGATE}"]),
    # D10: a case name and an expected value echoed as escapes
    (
        "d10-github-injection.test.yaml",
        1,
        [
            "{path}::fails\\n::add-mask::s3cr3t\\n::error file=x,line=1::forged %0A, a: b FAILED",
            "    state: expected gone\\r\\n::warning::forged, got ended",
        ],
    ),
    # odd types, huge numbers, deep nesting
    (
        "odd-types.test.yaml",
        1,
        [
            "{path}:5:14: tests[0].caller[0]: expected text, got a number",
            "{path}:6:19: tests[0].call.args[0]: expected text, got a list",
            "{path}:6:40: tests[0].call.variables.X: expected text, got a number: write it in "
            'quotes, "1"',
            "{path}:7:19: tests[0].ari.answer: must be at most 599, not 604462909807314587353087",
            "{path}:7:43: tests[0].ari: '' is not valid: A request's name: lower case letters and "
            "_, e.g. answer or dial_start.",
            "{path}:8:31: tests[0].http[0].status: must be at most 599, not 1000.0",
            "{path}:9:20: tests[0].expect.vars: expected a mapping, got a list",
            "{path}:9:31: tests[0].expect.ended: expected true/false, got text",
        ],
    ),
    ("deep.test.yaml", 1, ["{path}:4:60: nested deeper than 40 levels"]),
    (
        "unknown-request.test.yaml",
        1,
        ["{path}:5:11: tests[0].ari.anser: no request is called 'anser'; did you mean 'answer'?"],
    ),
    # `flow:` pointing at what is no flow file
    ("flow-is-a-directory.test.yaml", 1, ["{dir}: cannot read: Is a directory"]),
    ("flow-has-a-nul.test.yaml", 1, ["{dir}/mini\\x00mal.yaml: cannot read: embedded null byte"]),
    (
        "flow-is-missing.test.yaml",
        1,
        ["{dir}/nowhere.yaml: cannot read: No such file or directory"],
    ),
    (
        "flow-is-itself.test.yaml",
        1,
        [
            "{path}:2:1: missing key 'app'",
            "{path}:2:1: missing key 'initial'",
            "{path}:2:1: missing key 'states'",
            "{path}:2:1: missing key 'version'",
            "{path}:2:1: unknown key 'flow'; expected one of: version, app, description, "
            "initial, vars, on, states, timezone, hours, uses, after_call, recovery, limits",
        ],
    ),
]


def expected(lines: list[str], path: Path) -> list[str]:
    return [line.replace("{path}", str(path)).replace("{dir}", str(CORPUS)) for line in lines]


@pytest.mark.parametrize(("name", "code", "lines"), FLOWS, ids=[f[0] for f in FLOWS])
def test_validate_a_hostile_flow_file(
    capsys: pytest.CaptureFixture[str], name: str, code: int, lines: list[str]
) -> None:
    path = CORPUS / name
    got, out, seconds = run(capsys, "validate", str(path))
    assert (got, out) == (code, expected(lines, path))
    assert seconds < SMALL_FILE_SECONDS


@pytest.mark.parametrize(("name", "code", "lines"), TESTS, ids=[t[0] for t in TESTS])
def test_run_a_hostile_flow_test_file(
    capsys: pytest.CaptureFixture[str], name: str, code: int, lines: list[str]
) -> None:
    path = CORPUS / name
    got, out, seconds = run(capsys, "test", str(path))
    assert (got, out[:-1]) == (code, expected(lines, path))
    assert SUMMARY.fullmatch(out[-1])
    assert seconds < SMALL_FILE_SECONDS


def test_every_corpus_file_is_in_a_table() -> None:
    listed = {name for name, _, _ in FLOWS + TESTS}
    assert {path.name for path in CORPUS.iterdir()} == listed


# -- D10: GitHub annotations cannot be forged ---------------------------------------------------


def test_a_case_name_cannot_inject_a_workflow_command(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "d10-github-injection.test.yaml"
    code, out, _ = run(capsys, "test", "--format", "github", str(path))
    assert code == 1
    assert out[2] == (
        f"::error file={path},line=4::fails\\n::add-mask::s3cr3t\\n::error file=x,line=1::forged "
        "%250A, a: b: state: expected gone\\r\\n::warning::forged, got ended"
    )
    assert [line for line in out if line.startswith("::")] == [out[2]]


def test_a_problem_cannot_inject_a_workflow_command(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "escapes-ansi-and-newlines.yaml"
    code, out, _ = run(capsys, "validate", "--format", "github", str(path))
    assert code == 1
    assert out == [
        f"::error file={path},line=5,col=10::initial: '\\x1b[31mred\\x1b[0m' is not valid: "
        f"{STATE_NAME}",
        f"::error file={path},line=7,col=3::states: 'start\\nflow.yaml:1:1: forged' is not "
        f"valid: {STATE_NAME}",
    ]


def test_a_path_is_escaped_as_a_property(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_file(tmp_path, "version: 1\n", "a,b:c%.yaml")
    code, out, _ = run(capsys, "validate", "--format", "github", path)
    assert code == 1
    folder = str(tmp_path).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert out[0] == f"::error file={folder}/a%2Cb%3Ac%25.yaml,line=1,col=1::missing key 'app'"


def test_a_file_name_that_is_not_utf8_is_printed_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A directory holds any bytes as a name; Python reads them as lone surrogates: unprintable.
    (tmp_path / os.fsdecode(b"\xff.yaml")).write_text("version: 1\nversion: 2\n")
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert (code, out) == (
        1,
        [f"{tmp_path}/\\udcff.yaml:2:1: duplicate key 'version' (first at line 1:1)"],
    )


def test_graph_labels_stay_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CORPUS / "ok-multiline-guard.yaml")
    assert run(capsys, "graph", path)[:2] == (
        0,
        [
            "stateDiagram-v2",
            "    [*] --> start",
            "    ended --> [*]",
            "    start --> ended : ChannelVarset [variable=A\\nB]; 1. StasisEnd [caller.number "
            "==\\n'100'\\n]; 2. StasisEnd",
        ],
    )
    code, out, _ = run(capsys, "graph", "--format", "dot", path)
    assert code == 0
    assert "    _start -> start;" in out  # the entry point is not the state named start
    assert (
        r"""    start -> ended [label="ChannelVarset [variable=A\\nB]; 1. StasisEnd """
        r"""[caller.number ==\\n'100'\\n]; 2. StasisEnd"];"""
    ) in out


# -- one kind of file for the other -------------------------------------------------------------


def test_validate_on_a_test_file_and_test_on_a_flow_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tests, flow = CORPUS / "d11-within-0s.test.yaml", CORPUS / "minimal.yaml"
    assert run(capsys, "validate", str(tests))[:2] == (
        1,
        [f"{tests}:1:1: this is a flow test file: run it with flowrunner test {tests}"],
    )
    code, out, _ = run(capsys, "test", str(flow))
    assert (code, out[:-1]) == (
        1,
        [
            f"{flow}:1:1: this is a flow, not a flow test file: its tests go in "
            "minimal.test.yaml; flowrunner validate checks the flow"
        ],
    )


def test_a_directory_without_flow_tests_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "test", str(tmp_path))[:2] == (
        1,
        [f"no flow test files (*.test.yaml) found in: {tmp_path}"],
    )


GRAMMAR = "is not valid: 'TIME hangup' or 'TIME dtmf DIGIT', e.g. '1s hangup', '3.2s dtmf 1'."


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("hangup", f"--event: 'hangup' {GRAMMAR}"),
        ("1s dtmf 12", f"--event: '1s dtmf 12' {GRAMMAR}"),
        ("1500m hangup", "--event: bad duration '1500m': it must be at most 24h"),
        ("1s \x1b[31m", f"--event: '1s \\x1b[31m' {GRAMMAR}"),
    ],
)
def test_simulate_refuses_a_bad_event_as_a_test_file_would(
    capsys: pytest.CaptureFixture[str], event: str, message: str
) -> None:
    """The test file's grammar and sentences (its `caller:` lines), naming the option."""
    flow = str(CORPUS / "minimal.yaml")
    assert run(capsys, "simulate", flow, "--event", event)[:2] == (
        1,
        [f"flowrunner simulate: {message}"],
    )


# -- D14: what is not a file is refused, at once --------------------------------------------------


def finishes(args: list[str], seconds: float = 5.0) -> int:
    """`flowrunner ARGS`'s exit code; fails (instead of hanging the suite) if it blocks."""
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"flowrunner {' '.join(args)} still running after {seconds} s"
    return codes[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "flow.yaml"
    os.mkfifo(fifo)
    tests = write_file(tmp_path, "tests:\n  - {name: x, expect: {ended: true}}\n", "flow.test.yaml")
    assert finishes(["validate", str(fifo)]) == 1
    refused = f"{fifo}: cannot read: not a file but a FIFO (named pipe)"
    assert capsys.readouterr().out.splitlines() == [refused]
    assert finishes(["test", tests]) == 1  # its flow: flow.yaml, the FIFO
    assert capsys.readouterr().out.splitlines()[0] == refused
    assert finishes(["test", str(fifo)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == refused


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert finishes(["validate", "/dev/zero"]) == 1
    assert capsys.readouterr().out == "/dev/zero: cannot read: not a file but a device\n"


# -- huge files: refused fast, in little memory ---------------------------------------------------


def unknown_names(names: int, references: int) -> str:
    """A flow that declares `names` variables and uses `references` unknown ones."""
    sets = [
        "      - set: {" + ", ".join(f"v{i}: 1" for i in range(start, min(start + 50, names))) + "}"
        for start in range(0, names, 50)
    ]
    media = "".join(f"{{{{v{i}x}}}}" for i in range(references))
    return (
        "version: 1\napp: hostile\ninitial: s\nstates:\n  s:\n    do:\n"
        + "\n".join(sets)
        + f'\n      - play: {{media: "{media}"}}\n    on: {{PlaybackFinished: e}}\n'
        + "  e: {final: true}\n"
    )


def test_d8_thousands_of_unknown_names_are_reported_fast_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2,000 unknown names, each compared with 2,000 known ones: 6 s before; 40 s for 4,950 x 4,000.
    path = write_file(tmp_path, unknown_names(2000, 2000))
    code, out, seconds = run(capsys, "validate", path)
    assert code == 1
    assert seconds < HUGE_FILE_SECONDS
    assert len(out) == 101
    where = f"{path}:47:26: states.s.do[40].play.media"
    assert out[0] == f"{where}: unknown variable 'v0x'; did you mean 'v0'?"
    assert out[-1] == f"{path}: … and 1900 more problems"


def test_d17_too_many_states_gives_a_count_not_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    states = "".join(f"  s{i}: {{final: true}}\n" for i in range(600))
    path = write_file(tmp_path, f"version: 1\napp: hostile\ninitial: s0\nstates:\n{states}")
    code, out, _ = run(capsys, "validate", path)
    assert (code, out) == (1, [f"{path}:5:3: states: at most 500 entries, not 600"])


def test_d19_many_values_are_refused_early(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 39 levels deep, then 490,000 values wide: 30 s and 853 MB before.
    path = write_file(tmp_path, "a: " + "[" * 39 + "1," * 490_000 + "1" + "]" * 39 + "\n")
    code, out, seconds = run(capsys, "validate", path)
    assert (code, out) == (1, [f"{path}:1:39961: more than 20000 values in one file"])
    assert seconds < HUGE_FILE_SECONDS


def test_d19_a_test_file_with_too_many_values_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamltree, "MAX_VALUES", 100)  # the same walk; a smaller file
    body = "tests:\n" + "".join(f"  - {{name: t{i}, expect: {{ended: true}}}}\n" for i in range(50))
    path = write_file(tmp_path, body, "many.test.yaml")
    code, out, _ = run(capsys, "test", path)
    assert (code, out[:-1]) == (1, [f"{path}:15:33: more than 100 values in one file"])


def test_d19_a_megabyte_of_values_is_refused_in_little_memory(tmp_path: Path) -> None:
    # 490,000 values in 980 KB: 29.7 s and 704 MB (maximum resident set) before.
    path = write_file(tmp_path, "a: [" + "1," * 490_000 + "1]\n")
    child = (
        "import re, sys, time\n"
        "from flowrunner.cli import main\n"
        "started = time.perf_counter()\n"
        "code = main(['validate', sys.argv[1]])\n"
        "seconds = time.perf_counter() - started\n"
        # VmHWM is this process's own peak: getrusage's ru_maxrss would be at least pytest's,
        # which a forked child inherits
        "status = open('/proc/self/status').read()\n"
        "rss = int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024\n"
        "print(code, f'{seconds:.2f}', rss, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, path], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout == f"{path}:1:39999: more than 20000 values in one file\n"
    code, seconds, megabytes = done.stderr.split()
    assert code == "1"
    assert float(seconds) < HUGE_FILE_SECONDS
    assert int(megabytes) < 150
