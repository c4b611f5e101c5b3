"""Calls kept in Redis, shared by several runners: a runner killed mid-call leaves its calls
there, and the runner that next sees their channels in its apps carries them on."""

from __future__ import annotations

from collections.abc import Mapping

import redis

PREFIX = "flowrunner:"
CALL, FLOW = f"{PREFIX}call:", f"{PREFIX}flow:"
CALLS = f"{PREFIX}calls"  # the set of kept channel ids, so listing needs no key scan


class RedisStore:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        parts = url.split("@")[-1]  # never the password
        self.where = f"redis://{parts.split('://')[-1]}"

    def write(self, calls: Mapping[str, str | None], flows: Mapping[str, str]) -> None:
        pipe = self.client.pipeline(transaction=True)
        for version, text in flows.items():
            pipe.set(f"{FLOW}{version}", text, nx=True)
        for channel, snapshot in calls.items():
            if snapshot is None:
                pipe.delete(f"{CALL}{channel}")
                pipe.srem(CALLS, channel)
            else:
                pipe.set(f"{CALL}{channel}", snapshot)
                pipe.sadd(CALLS, channel)
        pipe.execute()

    def calls(self) -> dict[str, str]:
        channels = sorted(_text(c) for c in self.client.smembers(CALLS))
        values = self.client.mget([f"{CALL}{c}" for c in channels]) if channels else []
        return {c: _text(v) for c, v in zip(channels, values, strict=True) if v is not None}

    def flow(self, version: str) -> str | None:
        text = self.client.get(f"{FLOW}{version}")
        return None if text is None else _text(text)

    def close(self) -> None:
        self.client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
