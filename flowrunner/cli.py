"""The `flowrunner` command: builds the parser and hands each verb to `commands/<verb>.py`.

Exit codes: 0 success, 1 invalid input or failed checks, 2 usage error, 3 a bug in flowrunner
(with a traceback to report), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__
from .commands.validate import report
from .flow import FlowError
from .speech.engines import engine_for
from .speech.server import parse_listen
from .store import default_path

EPILOG = (
    "Docs: README.md and docs/ (the flow language: docs/language.md). "
    "Exit codes: 0 ok, 1 invalid/failed, 2 usage, 3 bug."
)


def build_parser(environ: Mapping[str, str] = os.environ) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowrunner",
        description="Run telephone call flows written as YAML state machines on Asterisk (ARI).",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"flowrunner {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    _validate(verbs)
    _serve(verbs, environ)
    _test(verbs)
    _simulate(verbs)
    _graph(verbs)
    _schema(verbs)
    _trace(verbs)
    _replay(verbs)
    return parser


def _validate(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "validate",
        help="check flow files",
        description=(
            "Check flow files (or every *.yaml flow in a directory). Exit 0 when all are valid, "
            "1 when any is not; each problem is printed as path:line:col: key: message."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="flow files or directories")
    p.add_argument(
        "--format",
        choices=["text", "json", "github"],
        default="text",
        help="text (default), json, or github (annotations for GitHub Actions)",
    )


def _serve(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], environ: Mapping[str, str]
) -> None:
    p = verbs.add_parser(
        "serve",
        help="run flows on Asterisk",
        description=(
            "Connect to ARI and run each flow for every channel that enters its Stasis app, "
            "until SIGINT/SIGTERM. Several flows serve several apps over one WebSocket. "
            "An unreachable Asterisk is retried forever."
        ),
    )
    p.add_argument("flows", nargs="+", metavar="FLOW", help="flow files or directories")
    p.add_argument(
        "--ari-url",
        type=ari_url,  # also checks the default, so FLOWRUNNER_ARI_URL too
        action=Repeated,
        default=environ.get("FLOWRUNNER_ARI_URL", "http://localhost:8088"),
        help="Asterisk HTTP base URL, http(s)://host[:port][/path]; repeat it to serve several "
        "Asterisk servers (env FLOWRUNNER_ARI_URL; default %(default)s)",
    )
    p.add_argument(
        "--ari-user",
        default=environ.get("FLOWRUNNER_ARI_USER", "asterisk"),
        help="ARI user (env FLOWRUNNER_ARI_USER; default %(default)s)",
    )
    p.add_argument(
        "--ari-password",
        default=environ.get("FLOWRUNNER_ARI_PASSWORD", "asterisk"),
        help="ARI password (env FLOWRUNNER_ARI_PASSWORD; default: asterisk); never logged",
    )
    p.add_argument(
        "--listen",
        type=listen_address,
        metavar="HOST:PORT",
        help="accept Asterisk's outbound ARI WebSockets here (Asterisk 22.5+: ari.conf "
        "type=outbound_websocket, persistent or per call) instead of connecting to "
        "--ari-url; Asterisk must send --ari-user and --ari-password (see docs/scale-out.md)",
    )
    p.add_argument(
        "--ari-transport",
        choices=["auto", "websocket", "http"],
        default="auto",
        help="how to send REST requests: over the events WebSocket (Asterisk 22+), "
        "over HTTP, or auto: detect at connect (default)",
    )
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text (default) or json, one object per line",
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")
    p.add_argument(
        "--state",
        default=environ.get("FLOWRUNNER_STATE", str(default_path())),
        metavar="PATH|redis://HOST:PORT/DB|none",
        help="where calls are kept so that they outlive the runner: a SQLite file (created on "
        "first use), a Redis shared by several runners, or none (env FLOWRUNNER_STATE; "
        "default %(default)s)",
    )
    p.add_argument(
        "--keep-within",
        type=keep_window,
        default=50,
        metavar="MS",
        help="a changed call is kept this long after its change, with whatever changes it "
        "meanwhile (one step of a call is a burst of messages); a runner killed in that time "
        "loses that step, which the next one learns from Asterisk, or a call that has just "
        "entered, which is then not taken over. Longer saves CPU; 0 keeps each change at once, "
        "for more CPU (default %(default)s)",
    )
    p.add_argument(
        "--stats",
        metavar="FILE",
        help="when stopping, write what keeping calls cost (snapshots, store writes) to FILE "
        "as JSON: for benchmarks",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="reload the flows when a flow file changes (as on SIGHUP): new calls get the "
        "new version, calls in progress finish on theirs",
    )
    p.add_argument(
        "--metrics",
        type=host_port,
        default=environ.get("FLOWRUNNER_METRICS"),
        metavar="HOST:PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics, and /healthz and /readyz "
        "(env FLOWRUNNER_METRICS; default: off; give a loopback address unless the port is "
        "firewalled)",
    )
    _speech_options(p, environ)
    _observe_options(p)


def _observe_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "traces and recordings",
        "One JSON-lines file per call in DIR, written on a thread of its own; the oldest "
        "files go first when DIR is over its size, and files go once past their age.",
    )
    for name, what in (("trace", "each call's trace"), ("record", "each call's ARI events")):
        g.add_argument(f"--{name}", metavar="DIR", help=f"keep {what} in DIR")
        g.add_argument(
            f"--{name}-max-mb",
            type=positive_number,
            default=200,
            metavar="MB",
            help=f"bound of --{name} DIR (default %(default)s)",
        )
        g.add_argument(
            f"--{name}-max-days",
            type=positive_number,
            default=7,
            metavar="DAYS",
            help=f"files of --{name} DIR older than this go (default %(default)s)",
        )


def keep_window(text: str) -> int:
    if not (text.isdigit() and int(text) <= 1000):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ms from 0 to 1000")
    return int(text)


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _speech_options(p: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    g = p.add_argument_group(
        "speech (the say action)",
        "Text is rendered by a speech engine, converted to 8 kHz mono WAV with sox, cached by "
        "a hash of engine, voice, language and text, and served to Asterisk over HTTP (or "
        "read by Asterisk from a directory it shares with flowrunner).",
    )
    g.add_argument(
        "--speech-engine",
        type=speech_engine,
        default=environ.get("FLOWRUNNER_SPEECH_ENGINE", "espeak-ng"),
        metavar="espeak-ng|command:ARGV|http:URL",
        help="espeak-ng (default); or a command run without a shell that writes a WAV: "
        "ARGV may use {text} (else the text is on stdin), {voice}, {lang} and {out} (else the "
        "WAV is read from stdout), e.g. 'command:flite -voice slt -t {text} -o {out}'; or a "
        "TTS service that answers a JSON POST of text, voice and lang with a WAV "
        "(env FLOWRUNNER_SPEECH_ENGINE)",
    )
    g.add_argument(
        "--speech-dir",
        default=environ.get("FLOWRUNNER_SPEECH_DIR", str(speech_default_dir())),
        metavar="DIR",
        help="the speech cache (env FLOWRUNNER_SPEECH_DIR; default %(default)s)",
    )
    g.add_argument(
        "--speech-cache-mb",
        type=int,
        default=200,
        metavar="MB",
        help="bound of the cache; the files used least recently go first (default %(default)s)",
    )
    g.add_argument(
        "--speech-listen",
        type=speech_listen,
        default="127.0.0.1:8077",
        metavar="HOST:PORT|none",
        help="where the media server listens, serving only the cache's files: loopback by "
        "default (%(default)s); none for no server (with a shared --speech-url directory)",
    )
    g.add_argument(
        "--speech-url",
        metavar="URL|DIR",
        help="what Asterisk fetches: the media server's URL as Asterisk reaches it (default "
        "http://HOST:PORT/speech from --speech-listen), or the cache directory as Asterisk "
        "sees it, when both run on one host",
    )


def speech_default_dir() -> Path:
    """$XDG_CACHE_HOME/flowrunner/speech, else ~/.cache/flowrunner/speech."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowrunner" / "speech"


def speech_engine(text: str) -> str:
    try:
        engine_for(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def listen_address(text: str) -> str:
    try:
        parse_listen(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def speech_listen(text: str) -> str:
    return text if text == "none" else host_port(text)


def host_port(text: str) -> str:
    try:
        parse_listen(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


class Repeated(argparse.Action):
    """A repeatable option whose first use replaces its default: a list once given."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        given = getattr(namespace, self.dest)
        setattr(namespace, self.dest, [*(given if isinstance(given, list) else []), values])


def ari_url(text: str) -> str:
    """--ari-url, checked at parsing: a URL that can never work is a usage error (exit 2),
    not a traceback nor a connection retried forever."""
    problem = _url_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(
            f"{_without_password(text)!r} is not an http(s)://host[:port][/path] URL: {problem}"
        )
    return text


def _url_problem(text: str) -> str:
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as error:  # e.g. "Invalid IPv6 URL"
        return str(error)[:1].lower() + str(error)[1:]
    if parts.scheme not in ("http", "https"):
        return f"the scheme is {parts.scheme or 'missing'}, not http or https"
    if not parts.hostname:
        return "it names no host"
    if any(c.isspace() or ord(c) < 32 for c in text):
        return "it contains a space or a control character"
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        return "it has a query or a fragment"
    if port == 0:
        return "port 0"
    return ""


def _without_password(text: str) -> str:
    """The URL for an error message: whatever precedes an @ may be user:password."""
    head, at, host = text.rpartition("@")
    if not at:
        return text
    scheme, separator, _ = head.partition("://")
    return f"{scheme}{separator}***@{host}" if separator else f"***@{host}"


def _test(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "test",
        help="run flow tests on simulated calls",
        description=(
            "Run the cases in NAME.test.yaml files against NAME.yaml on a simulated call and a "
            "virtual clock: no Asterisk, no waiting. Exit 1 if any case fails."
        ),
    )
    p.add_argument(
        "paths",
        nargs="*",
        default=["flows"],
        metavar="PATH",
        help="test files or directories (default: flows)",
    )
    p.add_argument(
        "--format",
        choices=["text", "github"],
        default="text",
        help="text (default), or text plus GitHub Actions annotations",
    )
    p.add_argument(
        "--junit-xml",
        metavar="FILE",
        help="also write the results as JUnit XML (for CI systems), one testcase per case",
    )
    p.add_argument(
        "--coverage",
        action="store_true",
        help="list the states and transitions no case reaches, per flow, with a percentage",
    )
    p.add_argument(
        "--fail-under",
        type=float,
        metavar="PERCENT",
        help="with --coverage implied: exit 1 when states and transitions reached, in all, "
        "are under PERCENT",
    )


def _simulate(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "simulate",
        help="print one simulated call's timeline",
        description=(
            "Run one call through FLOW on a simulated Asterisk and print what happens, when."
        ),
    )
    p.add_argument("flow", metavar="FLOW")
    p.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="'TIME WHAT'",
        help="what the caller does: '1s hangup' or '3.2s dtmf 1' (repeatable)",
    )
    p.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="ACTION=STATUS",
        help="the first request of ACTION gets STATUS, e.g. answer=404 (repeatable)",
    )
    p.add_argument(
        "--at",
        metavar="DATETIME",
        help="when the call is placed, with its UTC offset, e.g. 2026-12-24T16:00:00+01:00 "
        "(what `now` and `hours` see); default: now",
    )
    p.add_argument(
        "--case",
        metavar="FILE::NAME",
        help="simulate a flow test case's call (its caller, channel, failures, callees, web "
        "replies, room and time), then say whether it passes; --event and --fail add to it",
    )


def _graph(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "graph",
        help="draw a flow as a diagram",
        description="Draw a flow: as Mermaid or Graphviz dot text, or as an SVG or PNG picture "
        "(rendered by Graphviz's dot program). A picture goes to --output FILE, or to stdout "
        "when that is not a terminal.",
    )
    p.add_argument("flow", metavar="FLOW")
    p.add_argument(
        "--format",
        choices=["mermaid", "dot", "svg", "png"],
        default="mermaid",
        help="mermaid (default; renders on GitHub), dot (Graphviz text), svg or png (need "
        "Graphviz's dot program)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def _schema(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser("schema", help="print the JSON Schema of flow files")
    p.add_argument(
        "--kind",
        choices=["flow", "flow-piece", "flow-test"],
        default="flow",
        help="flow (default), flow-piece (a piece of states, see uses:) or flow-test (the "
        "schema of NAME.test.yaml files)",
    )
    p.add_argument(
        "--write",
        metavar="DIR",
        help="write the three schemas (flow, flow-piece, flow-test) into DIR and print the "
        "$schema line for each, which works from any folder",
    )


def _trace(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "trace",
        help="show a call's trace as a timeline",
        description="Print the trace of one call (from serve --trace DIR) as a readable "
        "timeline: time offset, state -> state, event and detail, guard, variables set, "
        "actions with their parameters and results. Exit 1 when no trace matches.",
    )
    p.add_argument(
        "call",
        metavar="CALL",
        help="a trace file, or a channel id or channel name (the newest call that had it)",
    )
    p.add_argument("--dir", default="traces", help="the trace folder (default %(default)s)")


def _replay(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "replay",
        help="turn a recorded call into a flow test case",
        description="Turn one recorded call (from serve --record DIR) into a flow test file: "
        "the caller's data, key presses and hang-up, web replies, failed requests and how "
        "long each sound played; expecting the actions and end the call had. Exit 1 when "
        "the simulator does not retrace the call (the case then shows how).",
    )
    p.add_argument("file", metavar="FILE", help="a recorded call's file")
    p.add_argument(
        "-o", "--output", metavar="CASE.test.yaml", help="write it here (default: print)"
    )
    p.add_argument(
        "--flow",
        metavar="FLOW",
        help="the flow file the case tests (default: the one the call ran, as recorded)",
    )
    p.add_argument("--name", help="the case's name (default: replay of CHANNEL at TIME)")


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets
        if isinstance(stream, io.TextIOWrapper):  # \u2026, not a crash
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    command = importlib.import_module(f"flowrunner.commands.{args.verb}")
    try:
        code: int = command.main(args)
        return code
    except FlowError as error:  # an invalid flow or test file: the user's to fix, no traceback
        report(error.problems, "text")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception:
        traceback.print_exc()
        print(
            f"flowrunner {__version__}: this is a bug in flowrunner; please report it with "
            "the traceback above.",
            file=sys.stderr,
        )
        return 3
