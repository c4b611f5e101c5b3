"""`flowrunner serve FLOW...`: run flows on Asterisk, one state machine per call, until stopped."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from ..ari.event_filter import heard_by
from ..ari.listen import ListenSession
from ..ari.servers import Servers
from ..ari.session import AriConfig, AriSession
from ..engine.clock import SystemClock
from ..engine.journal import Fanout
from ..engine.machine import CompiledFlow, compile_flow
from ..engine.messages import Reconcile
from ..engine.reconcile import Kept, kept_calls
from ..engine.runtime import Runtime
from ..flow import FlowError, Problem, load_flow
from ..logs import LogJournal, setup
from ..observe.live import ObserveError, Observing
from ..ports import Store
from ..speech.live import LiveSpeech
from ..speech.server import parse_listen
from ..store import StoreError, open_store
from ..store.adoption import Adoption
from ..store.writer import Writer
from ..web.client import RequestsWebClient
from .validate import flow_files

WATCH_EVERY = 1.0  # seconds between two looks at the flow files, with --watch

log = logging.getLogger("flowrunner.serve")


def load_all(paths: list[str]) -> list[CompiledFlow]:
    """Every flow, compiled; a FlowError naming every problem (also two flows on one app)."""
    flows, problems, apps = [], [], dict[str, str]()
    for path in flow_files(paths):
        try:
            flow = load_flow(path)
        except FlowError as error:
            problems.extend(error.problems)
            continue
        if flow.app in apps:
            where = flow.initial_where
            message = f"app '{flow.app}' is already served by {apps[flow.app]}"
            problems.append(Problem(path, where.line, where.col, message, ("app",)))
        apps[flow.app] = path
        flows.append(flow)
    if problems:
        raise FlowError(problems)
    return [compile_flow(flow) for flow in flows]


def main(args: argparse.Namespace) -> int:
    compiled = load_all(args.flows)
    if not compiled:
        print("no flow files found in: " + " ".join(args.flows))
        return 1
    setup(args.log_format, args.log_level)
    try:
        store = open_store(args.state)
    except StoreError as error:
        print(f"flowrunner serve: {error}")
        return 1
    try:
        observing = Observing.from_args(args)
    except ObserveError as error:
        print(f"flowrunner serve: {error}")
        return 1
    _tune_garbage_collector()
    session = _session(args, tuple(c.flow.app for c in compiled))
    if isinstance(session, str):
        print(f"flowrunner serve: {session}")
        observing.close()
        return 1
    speech = LiveSpeech(args, session.wake)
    try:
        speech.loaded(compiled)
    except OSError as error:
        print(f"flowrunner serve: the speech server cannot listen on {args.speech_listen}: {error}")
        observing.close()
        return 1
    web = RequestsWebClient(wake=session.wake)
    where = getattr(store, "where", "the store")
    writer = Writer(store, where, observing.store_wrote()) if store else None
    runtime = Runtime(
        compiled,
        observing.transport(session.transport),
        SystemClock(),
        Fanout(LogJournal(), *observing.journals()),
        observing.web(web),
        keeper=writer,
        speech=speech.service,
        tap=observing.tap(),
        keep_within=args.keep_within / 1000,
    )
    observing.watch(session, writer, runtime.timers)
    session.hear_only(_reacted(runtime))
    if store is not None:
        runtime.reconciler.kept = _kept(store, runtime.flows)
    serving = Serving(runtime, session, args.flows, args.watch, speech.loaded)
    _on_signals(session, serving)
    for c in compiled:
        log.info("serving flow %s (app %s, version %s)", c.flow.path, c.flow.app, c.flow.version)
    adoption = _adoption(args, runtime)
    try:
        session.serve(serving, adoption.listed if adoption else _listed(runtime))
    finally:
        if adoption is not None:
            adoption.close()
        web.close()
        speech.close()
        session.close()
        _stopped(runtime, writer)
        observing.close()
        if args.stats:
            Path(args.stats).write_text(json.dumps(_statistics(runtime, writer), indent=1))
    return 0


Session = AriSession | ListenSession | Servers


def _session(args: argparse.Namespace, apps: tuple[str, ...]) -> Session | str:
    """What serves the apps: a listening socket (--listen), else a session to each Asterisk;
    or why it cannot be."""
    if not args.listen:
        return _inbound(args, apps)
    host, port = parse_listen(args.listen)
    session = ListenSession(host, port, args.ari_user, args.ari_password, apps)
    try:
        session.bind()
    except OSError as error:
        return f"cannot listen on {args.listen}: {error.strerror or error}"
    return session


def _inbound(args: argparse.Namespace, apps: tuple[str, ...]) -> AriSession | Servers:
    """A session to Asterisk's ARI; to each, when --ari-url names several servers."""
    urls = args.ari_url if isinstance(args.ari_url, list) else [args.ari_url]
    sessions = [
        AriSession(AriConfig(url, args.ari_user, args.ari_password, apps, args.ari_transport))
        for url in dict.fromkeys(urls)  # the same server twice is once
    ]
    return sessions[0] if len(sessions) == 1 else Servers(sessions)


def _reacted(runtime: Runtime) -> Callable[[str], frozenset[str]]:
    """App -> the events its flows read: the version new calls get, and those calls in
    progress still run (asked on the loop's thread, at each connect and reload). Events are
    shown when a journal logs them (at info level, a trace) or a recorder keeps them."""
    shown = runtime.journal.wants("event", "info") or runtime.tap is not None

    def reacted(app: str) -> frozenset[str]:
        versions = [c.compiled for c in runtime.calls.values() if c.flow_name == app]
        if app in runtime.flows:
            versions.append(runtime.flows[app])
        return frozenset().union(*(heard_by(version, shown) for version in versions))

    return reacted


def _listed(runtime: Runtime) -> Callable[..., None]:
    def listed(
        app: str, ids: frozenset[str], scope: frozenset[str] | None = None, unstarted: str = ""
    ) -> None:
        runtime.post(Reconcile(app, ids, scope, unstarted))

    return listed


def _adoption(args: argparse.Namespace, runtime: Runtime) -> Adoption | None:
    """With --listen and a store, the calls another runner kept are looked up as their
    connections come here (its own handle on the store: the writer's is the writer's)."""
    if not args.listen:
        return None
    try:
        store = open_store(args.state)
    except StoreError:
        return None  # said at start-up already
    return Adoption(store, lambda: runtime.flows, runtime.post) if store is not None else None


def _statistics(runtime: Runtime, writer: Writer | None) -> dict[str, object]:
    """What keeping calls cost, for benches: each snapshot on the runtime's thread, and the
    store's batches on the writer's."""
    costs = sorted(runtime.keeping.costs)
    batches = writer.batches if writer else []
    written = sum(count for count, _ in batches)
    seconds = sorted(s for _, s in batches)
    return {
        "snapshots": len(costs),
        "snapshot_us": {"p50": _rank(costs, 50) * 1e6, "p99": _rank(costs, 99) * 1e6},
        "store_batches": len(batches),
        "store_batch_ms": {"p50": _rank(seconds, 50) * 1e3, "p99": _rank(seconds, 99) * 1e3},
        "store_us_per_snapshot": sum(seconds) * 1e6 / max(1, written),
    }


def _rank(ordered: list[float], percent: int) -> float:
    return ordered[max(0, -(-percent * len(ordered) // 100) - 1)] if ordered else 0.0


def _kept(store: Store, flows: dict[str, CompiledFlow]) -> dict[str, Kept]:
    """The calls the store keeps for these apps, to be taken over when Asterisk lists them."""
    try:
        kept, problems = kept_calls(store.calls(), flows, store.flow)
    except Exception as error:  # a store that is down: serve anyway, keeping nothing of old
        log.error("durability degraded: cannot read the kept calls (%s)", type(error).__name__)
        return {}
    for problem in problems:
        log.warning("a kept call cannot be carried on: %s", problem)
    if kept:
        log.info("%d kept call(s) to take over once Asterisk lists them", len(kept))
    return kept


def _stopped(runtime: Runtime, writer: Writer | None) -> None:
    """The calls stay in Stasis, kept for the next runner: what is waiting is written first."""
    runtime.keeping.flush()
    lost = writer is not None and not writer.close(timeout=1.5)
    kept = "kept for the next runner" if writer else "not kept (--state none)"
    log.info("stopped; %d call(s) were in progress, %s", len(runtime.calls), kept)
    if lost:
        log.error("durability degraded: the store did not take the last snapshots in time")


class Serving:
    """What the live loop drives while serving: the runtime, and the reloads of the flows asked
    for (SIGHUP, or with --watch a flow file that changed), done on the loop's own thread
    between two messages. New calls get the new versions; calls in progress finish on theirs;
    a flow that no longer validates is refused and the old ones keep serving. `loaded` is told
    of each new set of flows (speech renders their plain texts)."""

    def __init__(
        self,
        runtime: Runtime,
        session: Session,
        paths: list[str],
        watch: bool,
        loaded: Callable[[list[CompiledFlow]], None] = lambda flows: None,
    ):
        self.runtime, self.session, self.paths = runtime, session, paths
        self.loaded = loaded
        self.watching = FlowFiles(paths) if watch else None
        self.asked = threading.Event()
        self.next_look = time.monotonic() + WATCH_EVERY

    def ask_reload(self) -> None:
        """Safe from a signal handler."""
        self.asked.set()
        self.session.wake()

    def post(self, message: object) -> None:
        self.runtime.post(message)

    def run_due(self) -> float | None:
        """The runtime's `run_due`, after a reload if one was asked for or the files changed:
        the seconds until more is due, or until the next look at the files if that is sooner."""
        if self.asked.is_set() or self._files_changed():
            self.asked.clear()
            self.reload()
        runtime = self.runtime.run_due()
        if self.watching is None:
            return runtime
        look = max(0.0, self.next_look - time.monotonic())
        return look if runtime is None else min(runtime, look)

    def _files_changed(self) -> bool:
        if self.watching is None or time.monotonic() < self.next_look:
            return False
        self.next_look = time.monotonic() + WATCH_EVERY
        return self.watching.changed()

    def reload(self) -> None:
        try:
            compiled = load_all(self.paths)
        except FlowError as error:
            for problem in error.problems:
                log.error("reload refused: %s", problem)
            log.error("the flows served are unchanged")
            return
        old, new = self.runtime.flows, {c.flow.app: c for c in compiled}
        for app in sorted(old.keys() | new.keys()):
            before, after = old.get(app), new.get(app)
            if after is None:
                log.info("app %s no longer served: its calls in progress finish", app)
            elif before is None or before.flow.version != after.flow.version:
                was = f" (was {before.flow.version})" if before else ""
                log.info(
                    "app %s: new calls run %s version %s%s",
                    app,
                    after.flow.path,
                    after.flow.version,
                    was,
                )
        self.runtime.flows = new
        try:
            self.loaded(compiled)
        except OSError as error:  # the speech server's port is taken: say cannot play
            log.error("speech: the media server cannot start: %s", error)
        live = {call.flow_name for call in self.runtime.calls.values()}
        self.session.subscribe(tuple(sorted(new.keys() | live)))


def _tune_garbage_collector() -> None:
    """Ended calls are freed by reference counting (they leave no cycles: bench/engine_cpu.py
    counts what the collector finds), but the cyclic collector still rescans every live call's
    objects in full collections, which grow with the number of live calls (53 ms at 3,000 in
    bench/engine_cpu.py with the defaults). Start-up objects are frozen out of the scans and
    collections made rarer: none ran in that bench (500 calls/s, 3,000 live). Measured first
    with bench/runner_only.py at 175 calls/s when each call still left cycles: lateness p99
    8.8 ms against 257 ms with the defaults."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 30)


def _on_signals(session: Session, serving: Serving) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        session.stop()

    def reload(signum: int, frame: FrameType | None) -> None:
        log.info("received SIGHUP, reloading the flows")
        serving.ask_reload()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, reload)


class FlowFiles:
    """The flow files of `serve`'s paths, and whether they changed (added, removed, edited)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.seen = self._look()

    def changed(self) -> bool:
        now = self._look()
        changed, self.seen = now != self.seen, now
        return changed

    def _look(self) -> frozenset[tuple[str, int, int]]:
        found = set()
        for path in flow_files(self.paths):
            try:
                stat = Path(path).stat()
            except OSError:
                continue
            found.add((path, stat.st_mtime_ns, stat.st_size))
        return frozenset(found)
