"""The sandbox's chroot has a /dev of its own: deleting a sandbox whose mounts were left behind
must never delete the host's devices (with a bind mount of the host's /dev, an `rm -rf` of such
a checkout once did)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import SANDBOX_DIR


def test_the_chroots_dev_is_a_tmpfs_of_its_own_with_the_devices_asterisk_opens(
    asterisk: None,
) -> None:
    dev = (SANDBOX_DIR / "dev").resolve()
    mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    assert [fields[2] for fields in mounts if fields[1] == str(dev)] == ["tmpfs"]
    assert os.stat(dev).st_dev != os.stat("/dev").st_dev
    for name in ("null", "zero", "random", "urandom"):
        assert (dev / name).is_char_device(), name
