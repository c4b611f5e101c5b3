from __future__ import annotations

import itertools
import os
import threading

import pytest

from flowrunner.ari.masks import MaskKeys


def test_keys_are_fresh_bytes_of_one_urandom_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def urandom(size: int) -> bytes:
        calls.append(size)
        return bytes(range(256)) * (size // 256)

    monkeypatch.setattr(os, "urandom", urandom)
    keys = MaskKeys(batch=512)
    taken = [keys(4) for _ in range(128)]  # 512 bytes: one batch
    assert calls == [512]
    assert taken[:2] == [bytes([0, 1, 2, 3]), bytes([4, 5, 6, 7])]
    assert keys(4) == bytes([0, 1, 2, 3])  # the next batch
    assert calls == [512, 512]


def test_no_key_is_handed_out_twice_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = itertools.count()

    def urandom(size: int) -> bytes:  # every 4 bytes unique: a repeat is a key reused
        return b"".join(next(counter).to_bytes(4, "big") for _ in range(size // 4))

    monkeypatch.setattr(os, "urandom", urandom)
    keys, taken = MaskKeys(batch=64), []

    def take() -> None:
        for _ in range(5000):
            taken.append(keys(4))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(taken)) == len(taken) == 20_000
