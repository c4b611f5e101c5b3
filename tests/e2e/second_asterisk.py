"""A second Asterisk in the sandbox's chroot, for tests of one runner serving two servers.

It runs the sandbox's own install under a config directory of its own (`-C`), so it shares the
binaries and sounds but nothing that would clash: ARI on 127.0.0.1:8089, SIP on 5070, no AMI,
no outbound WebSockets, and its own run, spool, log and database directories. The `second`
fixture of test_two_servers.py starts it and stops it after that module.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import requests
from conftest import ari, wait_until

PORT = 8089
ARI = f"http://127.0.0.1:{PORT}/ari"
NAME = "asterisk-second"
DIRS = {  # asterisk.conf's directories that must not be shared with the first Asterisk
    "astetcdir": f"/etc/{NAME}",
    "astdbdir": f"/var/lib/{NAME}",
    "astspooldir": f"/var/spool/{NAME}",
    "astrundir": f"/run/{NAME}",  # not /var/run: a symlink to /run, which outside is the host's
    "astlogdir": f"/var/log/{NAME}",
}
ARI_CONF = """[general]
enabled = yes

[asterisk]
type = user
read_only = no
password = asterisk
password_format = plain
"""
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class SecondAsterisk:
    def __init__(self, chroot: Path) -> None:
        self.chroot = chroot
        self.conf = f"{DIRS['astetcdir']}/asterisk.conf"

    def start(self) -> None:
        self.stop()  # one left by an interrupted run would hold the ports
        self._write_configs()
        # It daemonizes: with our pipes as its output, waiting for their end would wait for it.
        with (self._path(DIRS["astlogdir"]) / "startup.log").open("w") as output:
            subprocess.run(
                self._asterisk(), stdin=subprocess.DEVNULL, stdout=output, stderr=output, timeout=30
            ).check_returncode()
        try:
            wait_until(self._answers, START_TIMEOUT, "the second Asterisk's ARI to answer")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log()}") from None
        self.cli("core waitfullybooted")

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        subprocess.run([*self._asterisk(), "-rx", "core stop now"], capture_output=True, timeout=30)
        try:
            wait_until(lambda: not Path(f"/proc/{pid}").exists(), STOP_TIMEOUT, "it to stop")
        except AssertionError:
            os.kill(pid, signal.SIGKILL)  # 'core stop now' timed out

    def cli(self, command: str) -> str:
        done = subprocess.run(
            [*self._asterisk(), "-rx", command], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"asterisk -rx {command!r}: {done.stderr}"
        return done.stdout

    def pid(self) -> int | None:
        """Its process id while it runs (the pid file can outlive it)."""
        path = self._path(DIRS["astrundir"]) / "asterisk.pid"
        text = path.read_text().strip() if path.exists() else ""
        comm = Path(f"/proc/{text}/comm")
        alive = text.isdigit() and comm.exists() and comm.read_text().strip() == "asterisk"
        return int(text) if alive else None

    def log(self) -> str:
        path = self._path(DIRS["astlogdir"]) / "messages.log"
        return "\n".join(path.read_text().splitlines()[-20:]) if path.exists() else "(no log)"

    def _asterisk(self) -> list[str]:
        return ["chroot", str(self.chroot), "/usr/sbin/asterisk", "-C", self.conf]

    def _path(self, inside: str) -> Path:
        return self.chroot / inside.lstrip("/")

    def _answers(self) -> bool:
        try:
            return bool(ari("GET", "asterisk/ping", ARI))
        except requests.RequestException:
            return False

    def _write_configs(self) -> None:
        """The first Asterisk's configs, with the ports and directories changed."""
        etc = self._path(DIRS["astetcdir"])
        shutil.copytree(self._path("/etc/asterisk"), etc, dirs_exist_ok=True)
        for directory in DIRS.values():
            self._path(directory).mkdir(parents=True, exist_ok=True)
        main = (etc / "asterisk.conf").read_text().replace("[directories](!)", "[directories]")
        for key, value in DIRS.items():
            main = re.sub(rf"(?m)^{key}\s*=>.*$", f"{key} => {value}", main)
        (etc / "asterisk.conf").write_text(main)
        _replace(etc / "http.conf", r"(?m)^bindport\s*=.*$", f"bindport = {PORT}")
        _replace(etc / "pjsip.conf", r"127\.0\.0\.1:5060", "127.0.0.1:5070")
        _replace(etc / "manager.conf", r"(?m)^enabled\s*=.*$", "enabled = no")
        (etc / "ari.conf").write_text(ARI_CONF)
        (etc / "websocket_client.conf").write_text("")


def _replace(path: Path, pattern: str, text: str) -> None:
    old = path.read_text()
    new = re.sub(pattern, text, old)
    assert new != old, f"{path}: nothing matched {pattern!r}"
    path.write_text(new)
