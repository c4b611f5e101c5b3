"""The speech cache: rendered speech on disk, one file per (engine, voice, language, text),
named by the sha256 of those (caller text never becomes a path), bounded in size (the files
used least recently go first).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from ..ports import SpeechRequest

KEY = re.compile(r"[0-9a-f]{64}")


def speech_key(engine: str, request: SpeechRequest) -> str:
    """The hash that names a rendering: the same words in another voice are another file."""
    data = json.dumps([engine, request.voice, request.lang, request.text], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


class SpeechCache:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory, self.max_bytes = directory, max_bytes
        self.work = directory / ".work"  # renderings in progress: never served
        self.work.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def path(self, key: str) -> Path:
        if not KEY.fullmatch(key):
            raise ValueError("not a speech key")
        return self.directory / f"{key}.wav"

    def find(self, key: str) -> Path | None:
        """The rendering's file if it is there, marked as just used."""
        path = self.path(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def add(self, key: str, source: Path) -> Path:
        """Move a finished rendering in (atomically: a reader sees all of it or nothing); then
        drop the least recently used files while the cache holds more than its bound."""
        path = self.path(key)
        os.replace(source, path)
        self.prune(keep=path)
        return path

    def workspace(self) -> tempfile.TemporaryDirectory[str]:
        """A directory for one rendering, on the cache's file system (so `add` is a rename)."""
        return tempfile.TemporaryDirectory(dir=self.work)

    def prune(self, keep: Path | None = None) -> None:
        with self.lock:
            files = []
            for path in self.directory.glob("*.wav"):
                if not KEY.fullmatch(path.stem):
                    continue  # not one of ours
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                files.append((stat.st_mtime_ns, stat.st_size, path))
            total = sum(size for _, size, _ in files)
            for _, size, path in sorted(files):
                if total <= self.max_bytes:
                    return
                if path != keep:
                    path.unlink(missing_ok=True)
                    total -= size

    def clear_work(self) -> None:
        """Renderings a stopped process left half-done."""
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True, exist_ok=True)
