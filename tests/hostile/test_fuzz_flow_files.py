"""Fuzzing flow files and flow test files: whatever the text, `load_flow` returns a flow or
raises FlowError, and `validate`, `test`, `graph` and `simulate` exit 0 or 1 (2 for a usage
error), never 3 ("a bug in flowrunner"), within a time bound.

The inputs: the shipped flows and their tests with a few edits (YAML syntax, odd values, odd
characters), flows and test files built from the language's own words with random values, and
deep nesting. CI runs a fixed set of examples (`derandomize`); run more with
FLOWRUNNER_FUZZ_EXAMPLES=5000, and new ones with FLOWRUNNER_FUZZ_RANDOM=1. Expressions themselves
are fuzzed elsewhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from fakes import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrunner.cli import main
from flowrunner.flow import FlowError, load_flow
from flowrunner.steps import request_names

EXAMPLES = int(os.environ.get("FLOWRUNNER_FUZZ_EXAMPLES", "100"))  # each test: ~2 s
SECONDS = 10.0  # per input, for every command together: generous (most take milliseconds)
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not os.environ.get("FLOWRUNNER_FUZZ_RANDOM"),  # the same inputs in every CI run
    database=None,
    deadline=None,  # the bound is checked below, on the whole input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SHIPPED = sorted((REPO / "flows").glob("*.yaml"))
FLOWS = [p for p in SHIPPED if ".test." not in p.name]
TESTS = [p for p in SHIPPED if ".test." in p.name]

# -- what the inputs are made of ------------------------------------------------------------------

ODD = [
    "\ud800", "\udfff", "\x1b[31m", "\n", "\r\n", "\t", "\x00", "\x85", "\u2028", "\ufeff",
    "\u202e", "é", "😀", "%", "::error::x", "'", '"', "\\",
]  # fmt: skip
SYNTAX = [
    "[", "]", "{", "}", ": ", ", ", "- ", "#", "? ", "|", ">", "&a ", "*a", "!!python/object ",
    "!Ref ", "<<: ", "---\n", "...\n", "%YAML 1.0\n", "%YAML 1.3\n", "%TAG ! x\n", "\t", "\ufeff",
    "  ", "\n", "'", '"', '"\\ud800"', '"\\e[31m"', "~", "null", "true", "yes", "0x", "1e400",
    ".nan", "-.inf", "9" * 30, "0s", "1500m", "0.0001s", "{{", "{{ x }}", "[" * 41, "{" * 41,
]  # fmt: skip
STATES = ["start", "menu", "ended", "done", "x", "Start", "1a", "on", "true", "final"]
NAMES = ["x", "choice", "caller", "call", "event", "n", "tier", "_x", "X"]
DURATIONS = ["0s", "1ms", "500ms", "2s", "1.5s", "1m", "1440m", "1441m", "0.0001s", "5"]
TEXTS = [
    "{{ x }}", "{{ caller.number }}", "{{ caller.nmber }}", "{{ choise }}", "{{", "}}",
    "sound:hello", "x == 1", "event.digit == '1'", "choice = '1'", "x matches '(a*)*b'",
    "channels/{channelId}/variable", "channels/{x}/play", "PJSIP/{{ x }}", "http://a/?n={{ x }}",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.sampled_from(STATES + NAMES + DURATIONS + TEXTS + ODD),
    st.text(st.characters() | st.sampled_from([c for c in ODD if len(c) == 1]), max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def keyed(words: list[str]) -> st.SearchStrategy[str]:
    """Mostly the language's words, sometimes a typo of one or any text."""
    word = st.sampled_from(words)
    return st.one_of(word, word, word, word.map(lambda w: w[1:]), st.text(max_size=8))


def one(*options: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


# Actions with parameters the schema takes; their values may still be wrong for the loader
# (an unknown variable, a bad pattern, an ARI path Asterisk does not have).
PARAMS: dict[str, st.SearchStrategy[Any]] = {
    "answer": st.none(),
    "ring": st.none(),
    "hangup": st.none() | st.fixed_dictionaries({"reason": one("busy", "normal")}),
    "play": st.fixed_dictionaries({"media": one("sound:hi", "sound:{{ x }}", "{{ nope }}")}),
    "set": st.dictionaries(one("x", "n", "tier"), scalars | one(*TEXTS), min_size=1, max_size=3),
    "wait": st.fixed_dictionaries({"for": one(*DURATIONS)}),
    "collect": st.fixed_dictionaries(
        {"into": st.just("x")},
        optional={
            "max_digits": st.integers(min_value=1, max_value=5),
            "valid": st.lists(one("1", "2", "(1+)+2", "[", "{{ x }}"), min_size=1, max_size=2),
            "retries": st.integers(min_value=0, max_value=2),
            "first_digit_timeout": one(*DURATIONS),
        },
    ),
    "dial": st.fixed_dictionaries(
        {"endpoint": one("PJSIP/alice", "PJSIP/{{ x }}")}, optional={"timeout": one(*DURATIONS)}
    ),
    "http": st.fixed_dictionaries(
        {"url": one("http://crm/?n={{ caller.number }}", "http://x/{{ caller.nmber }}")},
        optional={"into": st.just("n"), "timeout": one(*DURATIONS)},
    ),
    "set_variable": st.fixed_dictionaries({"variable": st.just("X"), "value": one("1", "{{ x }}")}),
    "continue": st.none(),
    "ari": st.fixed_dictionaries(
        {
            "method": one("POST", "GET"),
            "path": one("channels/{channelId}/variable", "channels/{channelId}/varible", "x/{y}"),
        },
        optional={"params": st.dictionaries(one("variable", "value", "x"), st.just("1"))},
    ),
}


@st.composite
def action(draw: st.DrawFn) -> Any:
    name = draw(one(*PARAMS))
    params = draw(PARAMS[name])
    return name if params is None and draw(st.booleans()) else {name: params}


@st.composite
def transition(draw: st.DrawFn) -> Any:
    target = one(*STATES[:4])
    full = st.fixed_dictionaries(
        {"goto": target}, optional={"when": one("x == 1", "event.digit == '1'", "nope", "x =")}
    )
    digit = st.fixed_dictionaries({"goto": target, "digit": one("1", "*", "#")})
    return draw(st.one_of(target, target, full, st.lists(full | digit, min_size=1, max_size=3)))


EVENTS = ["StasisEnd", "PlaybackFinished", "DigitsCollected", "NoInput", "DialAnswered"]
EVENTS += ["HttpSucceeded", "ActionFailed", "ChannelDtmfReceived", "LimitReached"]


@st.composite
def state(draw: st.DrawFn) -> Any:
    spec = {
        "do": st.lists(action(), max_size=3),
        "on": st.dictionaries(one(*EVENTS), transition(), max_size=3),
        "after": st.dictionaries(one(*DURATIONS[:7]), one(*STATES[:4]), max_size=2),
        "max_visits": st.integers(min_value=1, max_value=3),
    }
    chosen = draw(st.lists(one(*spec), max_size=4, unique=True))
    return {key: draw(spec[key]) for key in chosen}


@st.composite
def built_flow(draw: st.DrawFn) -> str:
    """A flow made of the language's words, mostly valid (so that the loader, the checks,
    graph and simulate run on it), with at most one value anywhere replaced by anything."""
    states = draw(st.dictionaries(one("start", "menu", "done"), state(), min_size=1, max_size=3))
    flow: dict[str, Any] = {
        "version": 1,
        "app": "demo",
        "initial": draw(one(*states)),
        "on": {"StasisEnd": "ended"},
        "vars": {"x": draw(scalars)},
        "states": states | {"ended": {"final": True}},
    }
    if draw(st.booleans()):
        flow["limits"] = {"max_steps": draw(st.integers(min_value=1, max_value=50))}
    if draw(st.booleans()):
        replace(draw, flow)
    return dump(draw, flow)


def replace(draw: st.DrawFn, data: Any) -> None:
    """One value, at a random depth, becomes any value (or a key becomes any text)."""
    while isinstance(data, dict | list) and data:
        keys = list(data) if isinstance(data, dict) else list(range(len(data)))
        key = draw(one(*keys))
        if not isinstance(data[key], dict | list) or draw(st.integers(0, 3)) == 0:
            if isinstance(data, dict) and draw(st.booleans()):
                data[draw(keyed(list(map(str, keys))))] = data.pop(key)
            else:
                data[key] = draw(values)
            return
        data = data[key]


STEP = st.builds("{} {}".format, one(*DURATIONS), one("hangup", "dtmf 1", "dtmf #"))
SENT = st.builds("{} {}".format, one(*DURATIONS), one("ring", "answer", "start_silence", "hangup"))
CASE = st.fixed_dictionaries(
    {
        "name": st.text(st.characters() | one(*[c for c in ODD if len(c) == 1]), min_size=1),
        "expect": st.fixed_dictionaries(
            {},
            optional={
                "actions": st.lists(SENT, max_size=4),
                "within": one(*DURATIONS),
                "state": one(*STATES),
                "ended": st.booleans(),
                "vars": st.dictionaries(one(*NAMES), values, max_size=2),
            },
        ).filter(bool),
    },
    optional={
        "caller": st.lists(STEP, max_size=3),
        "call": st.fixed_dictionaries(
            {}, optional={"caller_number": one("100", ""), "args": st.lists(one("a", "PJSIP/x"))}
        ),
        "ari": st.dictionaries(
            one(*sorted(request_names())), st.integers(min_value=400, max_value=599), max_size=2
        ),
        "dial": st.fixed_dictionaries(
            {},
            optional={
                "outcome": one("answer", "busy", "no_answer", "failed"),
                "after": one(*DURATIONS),
                "hangup_after": one(*DURATIONS),
            },
        ),
        "http": st.lists(
            st.fixed_dictionaries(
                {"url": one("*", "http://x/*")},
                optional={"json": values, "after": one(*DURATIONS), "timeout": st.booleans()},
            ),
            max_size=2,
        ),
    },
)


@st.composite
def built_tests(draw: st.DrawFn) -> str:
    """A flow test file for channel-state.yaml (as flow.yaml), mostly valid, with at most one
    value anywhere replaced by anything."""
    tests: dict[str, Any] = {"tests": draw(st.lists(CASE, min_size=1, max_size=3))}
    tests["flow"] = draw(one("flow.yaml", "flow.yaml", ".", "nowhere.yaml", "/dev/null"))
    if draw(st.booleans()):
        replace(draw, tests)
    return dump(draw, tests)


def dump(draw: st.DrawFn, data: Any) -> str:
    """JSON is YAML (1.2): its escapes make any character, lone surrogates too."""
    ascii_only = draw(one(True, True, True, False))  # raw control characters are refused early
    return json.dumps(data, ensure_ascii=ascii_only, indent=draw(one(None, 2)))


@st.composite
def edited(draw: st.DrawFn, paths: list[Path]) -> tuple[str, str]:
    """A shipped file with one to four edits: (its name, the text)."""
    path = draw(st.sampled_from(paths))
    text = path.read_text()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        end = draw(st.integers(min_value=at, max_value=min(len(text), at + 40)))
        lines = text.splitlines(keepends=True)
        line = draw(st.integers(min_value=0, max_value=max(0, len(lines) - 1)))
        snippet = draw(
            st.sampled_from(SYNTAX + ODD)
            | st.text(max_size=6)
            | st.sampled_from(STATES + DURATIONS + TEXTS)
        )
        text = draw(
            st.sampled_from(
                [
                    text[:at] + snippet + text[at:],  # insert
                    text[:at] + text[end:],  # delete
                    text[:at] + snippet + text[end:],  # replace
                    "".join(lines[: line + 1] + lines[line:]),  # a line twice
                    "".join(lines[:line] + lines[line + 1 :]),  # a line less
                ]
            )
        )
    return path.name, text


@st.composite
def deep(draw: st.DrawFn) -> str:
    """Nesting near and past the limit, in flow and block style, behind comments and quotes."""
    depth = draw(st.integers(min_value=30, max_value=70))
    opening = draw(
        st.lists(st.sampled_from(["[", "{a: ", "- ", "\n  - "]), min_size=depth, max_size=depth)
    )
    closing = "".join(
        "]" if o == "[" else "}" if o.startswith("{") else "" for o in reversed(opening)
    )
    head = draw(
        st.sampled_from(
            [
                "",
                "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
                "d: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\n",
            ]
        )
    )
    return head + "version: 1\nvars: {x: " + "".join(opening) + "1" + closing + "}\n"


# -- the checks -----------------------------------------------------------------------------------


def cli(*args: str) -> tuple[int, str]:
    """`flowrunner ARGS`: its exit code and everything it printed, which must be printable:
    no character a terminal acts on, none that UTF-8 cannot encode (a lone surrogate)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    printed = out.getvalue()
    assert all(line.isprintable() for line in printed.split("\n")), printed
    return code, printed


def check_flow(path: Path) -> None:
    """load_flow returns or raises FlowError; the commands exit 0 or 1 (simulate 0)."""
    try:
        load_flow(str(path))
        valid = True
    except FlowError:
        valid = False
    code, out = cli("validate", str(path))
    assert code == (0 if valid else 1), out
    code, out = cli("validate", "--format", "github", str(path))
    assert code in (0, 1), out
    if valid:
        for args in (["graph"], ["graph", "--format", "dot"], ["simulate", "--event", "3s dtmf 1"]):
            code, out = cli(*args, str(path))
            assert code == 0, out


def check_tests(path: Path) -> None:
    code, out = cli("test", "--format", "github", str(path))
    assert code in (0, 1), out


def bounded(check: Any, path: Path) -> None:
    started = time.perf_counter()
    check(path)
    assert time.perf_counter() - started < SECONDS


def in_a_folder(files: dict[str, str]) -> Any:
    """A temporary folder holding `files` (name -> text) and channel-state.yaml as flow.yaml."""
    folder = tempfile.TemporaryDirectory()
    root = Path(folder.name)
    (root / "flow.yaml").write_text((REPO / "flows" / "channel-state.yaml").read_text())
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    return folder


@FUZZ
@given(st.one_of(built_flow(), edited(FLOWS).map(lambda e: e[1]), deep()))
def test_any_flow_file_is_valid_or_refused_with_problems(text: str) -> None:
    with in_a_folder({"fuzzed.yaml": text}) as folder:
        bounded(check_flow, Path(folder) / "fuzzed.yaml")


@FUZZ
@given(st.one_of(built_tests(), edited(TESTS)))
def test_any_flow_test_file_runs_or_is_refused_with_problems(fuzzed: str | tuple[str, str]) -> None:
    name, text = fuzzed if isinstance(fuzzed, tuple) else ("fuzzed.test.yaml", fuzzed)
    shipped_flow = REPO / "flows" / name.replace(".test.", ".")
    files = {name: text}
    if shipped_flow.exists():
        files[shipped_flow.name] = shipped_flow.read_text()
    with in_a_folder(files) as folder:
        bounded(check_tests, Path(folder) / name)
