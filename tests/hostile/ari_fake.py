"""A hostile Asterisk for the tests in this folder: a real `flowrunner serve` subprocess runs
flows/channel-state.yaml against bench/fake_ari.py's simulated Asterisk (events WebSocket, REST
over it, plain HTTP; calls that behave like PJSIP channels), to which this module adds ways to
hurt the runner: any text or raw bytes on the events WebSocket, a frame dripped byte by byte, an
endless frame, a channel listing of the wrong shape, a link dropped when a request arrives.

The simulated Asterisk runs on an asyncio loop on its own thread; `Asterisk` (a context manager)
starts it, then the runner, and on the way out stops both, killing the runner if it lingers.
What the test reads (calls, requests) is only ever appended to by the loop's thread.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
FLOW = REPO / "flows" / "channel-state.yaml"
USER = PASSWORD = "hostile"
CONNECT_WITHIN = 20.0  # seconds for the runner to start, connect and list the app's channels
STOP_WITHIN = 5.0


def _load_bench_fake() -> Any:
    """bench/fake_ari.py, loaded by path: bench/ is not a package, and stays unchanged."""
    spec = importlib.util.spec_from_file_location("bench_fake_ari", REPO / "bench" / "fake_ari.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_bench_fake()
T = TypeVar("T")

TEXT, BINARY = 0x1, 0x2
EXPECTED_ACTIONS = bench.EXPECTED  # the flow's requests, in the order a correct run sends them


def server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One RFC 6455 frame as a server writes it (unmasked)."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first, size) + payload
    if size < 2**16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


@dataclass(frozen=True)
class Arrival:
    """One REST request as the simulated Asterisk received it."""

    at: float  # time.monotonic()
    via: str  # "websocket" or "http"
    method: str
    uri: str


class HostileAri(bench.FakeAri):  # type: ignore[misc]
    """The bench's simulated Asterisk, with a record of every request and a few bad habits."""

    def __init__(self) -> None:
        super().__init__(user=USER, password=PASSWORD)
        self.arrivals: list[Arrival] = []
        self.listing_ids: Any = ...  # ...: the real channel ids; anything else replaces them
        self.drop_on: Callable[[str, str], bool] | None = None  # (method, uri): drop the link
        self.dropped: list[Arrival] = []

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: HostileLink(self), host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return int(self.port)

    @property
    def events(self) -> HostileLink | None:
        link: HostileLink | None = self._events
        return link

    def on_ws_message(self, link: Any, data: bytes) -> None:
        message = bench.json.loads(data)
        method, uri = str(message.get("method")), str(message.get("uri"))
        arrival = Arrival(time.monotonic(), "websocket", method, uri)
        if self.drop_on is not None and self.drop_on(method, uri):
            self.drop_on = None
            self.dropped.append(arrival)
            link.abort()  # no answer: the request is in flight when the link goes
            return
        self.arrivals.append(arrival)
        super().on_ws_message(link, data)

    def on_http_request(self, link: Any, method: str, target: str, body: str = "") -> None:
        uri = target.removeprefix("/ari/")
        self.arrivals.append(Arrival(time.monotonic(), "http", method, uri))
        super().on_http_request(link, method, target, body)

    def _application(self, name: str, reply: Callable[[int, str], None]) -> None:
        if self.listing_ids is ...:
            super()._application(name, reply)
            return
        self.apps.add(name)
        reply(200, bench.json.dumps({"name": name, "channel_ids": self.listing_ids}))
        self.ready.set()

    def requests_for(self, call: Any, method: str, operation: str = "") -> list[Arrival]:
        """The requests for `call`'s channel: DELETE channels/ID (hangup), POST …/answer."""
        path = f"channels/{call.channel_id}" + (f"/{operation}" if operation else "")
        return [a for a in self.arrivals if a.method == method and a.uri.split("?")[0] == path]


class HostileLink(bench.Link):  # type: ignore[misc]
    def __init__(self, server: HostileAri) -> None:
        super().__init__(server)
        self.holding = False  # True while a frame is dripped: the server's frames wait

    def flush(self) -> None:
        if not self.holding:
            super().flush()

    def write(self, data: bytes) -> None:
        """Raw bytes on the events WebSocket, after whatever the server queued before them."""
        self.flush()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class Asterisk:
    """The simulated Asterisk on its thread, and `flowrunner serve` connected to it."""

    def __init__(self, folder: Path, *extra_args: str, listing_ids: Any = ...) -> None:
        self.folder, self.extra_args = folder, extra_args
        self.ari = HostileAri()
        self.ari.listing_ids = listing_ids
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-ari", daemon=True)
        self.log_path = folder / "serve.log"
        self.runner: subprocess.Popen[bytes] | None = None

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> Asterisk:
        self.thread.start()
        try:
            port = self.run(self.ari.start())
            self.runner = self._start_runner(port)
            if not self.wait_until(self.ari.ready.is_set, CONNECT_WITHIN):
                raise AssertionError(f"the runner did not connect:\n{self.log()}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.runner is not None:
                _stop(self.runner)
        finally:
            if self.thread.is_alive():
                self.run(self.ari.close())
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(STOP_WITHIN)
            self.loop.close()

    def _start_runner(self, port: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "flowrunner", "serve", str(FLOW)]
        command += ["--ari-url", f"http://127.0.0.1:{port}", "--ari-user", USER]
        command += ["--ari-password", PASSWORD, *self.extra_args]
        if "--state" not in self.extra_args:  # its own store: never the user's default one
            command += ["--state", str(self.folder / "calls.db")]
        # The log goes to a file (a pipe nobody reads would block the runner once full), and the
        # runner starts in the test's folder, so that PYTHONPATH can pin another flowrunner.
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO))}
        with self.log_path.open("wb") as sink:
            return subprocess.Popen(
                command, cwd=self.folder, env=env, stdout=sink, stderr=subprocess.STDOUT
            )

    # -- on the server's loop ----------------------------------------------------------------

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run `work` on the server's loop, and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def call(self, function: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return function()

        return self.run(on_loop())

    def start_calls(self, count: int) -> list[Any]:
        """`count` new calls, each a StasisStart now; returns their records."""

        def start() -> list[Any]:
            first = len(self.ari.calls)
            for index in range(first, first + count):
                self.ari._start_call(index)
            self.ari.flush()
            return list(self.ari.calls[first:])

        return self.call(start)

    def send_text(self, *texts: str | bytes) -> None:
        """Text frames (bytes: sent as they are, valid UTF-8 or not)."""
        frames = b"".join(
            server_frame(TEXT, t if isinstance(t, bytes) else t.encode()) for t in texts
        )
        self.send_raw(frames)

    def send_raw(self, data: bytes) -> None:
        def write() -> None:
            link = self.ari.events
            assert link is not None, "the runner is not connected"
            link.write(data)

        self.call(write)

    def drip(self, data: bytes, seconds: float) -> None:
        """Write `data` a byte at a time over `seconds`; the server's other output waits."""

        async def drip() -> None:
            link = self.ari.events
            assert link is not None, "the runner is not connected"
            link.flush()
            link.holding = True
            try:
                for byte in data:
                    link.write(bytes([byte]))
                    await asyncio.sleep(seconds / len(data))
            finally:
                link.holding = False
            link.flush()

        self.run(drip(), timeout=seconds + 30.0)

    def stream_frame(self, size: int, chunk: int = 2**20) -> int:
        """A text frame announcing `size` bytes, its payload written as fast as the runner reads
        it, until it is all out or the runner closes the link; returns the bytes written."""

        async def stream() -> int:
            link = self.ari.events
            assert link is not None
            assert link.transport is not None
            link.write(struct.pack("!BBQ", 0x80 | TEXT, 127, size))
            written, block = 0, b" " * chunk
            while written < size and not link.transport.is_closing():
                if link.transport.get_write_buffer_size() > 4 * chunk:
                    await asyncio.sleep(0.005)  # let the runner read
                    continue
                link.transport.write(block[: size - written])
                written += min(chunk, size - written)
            return written

        return self.run(stream(), timeout=120.0)

    # -- what the test asks --------------------------------------------------------------------

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Poll `condition` on the server's loop; False when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.call(condition):
                return True
            if self.runner is not None and self.runner.poll() is not None:
                return self.call(condition)
            time.sleep(0.05)
        return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.runner is not None and self.runner.poll() is None

    def peak_rss_mb(self) -> float:
        """The runner's peak resident memory so far (VmHWM), in MB."""
        assert self.runner is not None
        for line in Path(f"/proc/{self.runner.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (serve stops cleanly on it), then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_WITHIN)
