"""Mask keys for the frames flowrunner sends on the events WebSocket.

RFC 6455 5.3 wants each client frame masked with a fresh key from a strong source of entropy.
websocket-client asks os.urandom(4) per frame: a getrandom(2) system call for every REST
request. These come from the same source, 4 kB at a time, each byte used once.
"""

from __future__ import annotations

import os
import threading

BATCH = 4096  # bytes of entropy per refill: 1,024 frames


class MaskKeys:
    """A `get_mask_key` for websocket-client: `keys(4)` is the next unused 4 random bytes."""

    def __init__(self, batch: int = BATCH) -> None:
        self.batch = batch
        self._pool = b""
        self._at = 0
        self._lock = threading.Lock()  # websocket-client masks a frame before taking its lock

    def __call__(self, length: int) -> bytes:
        with self._lock:
            if self._at + length > len(self._pool):
                self._pool, self._at = os.urandom(max(self.batch, length)), 0
            key = self._pool[self._at : self._at + length]
            self._at += length
        return key
