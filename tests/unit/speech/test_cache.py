"""The speech cache: hash-named files only, bounded, the least recently used dropped first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowrunner.ports import SpeechRequest
from flowrunner.speech.cache import SpeechCache, speech_key


def test_the_key_is_a_hash_of_engine_voice_language_and_text() -> None:
    base = speech_key("espeak-ng", SpeechRequest("Hello", "en", "en"))
    others = [
        speech_key("command:flite", SpeechRequest("Hello", "en", "en")),
        speech_key("espeak-ng", SpeechRequest("Hello", "fr", "en")),
        speech_key("espeak-ng", SpeechRequest("Hello", "en", "fr")),
        speech_key("espeak-ng", SpeechRequest("Hello!", "en", "en")),
        speech_key("espeak-ng", SpeechRequest("en", "Hello", "en")),  # no ambiguous joins
    ]
    assert len({base, *others}) == 6
    assert base == speech_key("espeak-ng", SpeechRequest("Hello", "en", "en"))
    assert len(base) == 64
    assert set(base) <= set("0123456789abcdef")


@pytest.mark.parametrize("key", ["../etc/passwd", "a" * 63, "A" * 64, "a" * 64 + "/x", ""])
def test_only_a_hash_names_a_file(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a speech key"):
        SpeechCache(tmp_path, 1000).path(key)


def add(cache: SpeechCache, text: str, size: int, at: int) -> str:
    key = speech_key("e", SpeechRequest(text))
    with cache.workspace() as work:
        source = Path(work, "t.wav")
        source.write_bytes(b"x" * size)
        os.utime(source, ns=(at, at))
        cache.add(key, source)
    return key


def test_past_its_bound_the_least_recently_used_go_first(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path, max_bytes=250)
    old, used, new = (add(cache, t, 100, at) for t, at in (("a", 1), ("b", 2), ("c", 3)))
    assert cache.find(old) is None  # 300 bytes: the oldest went
    assert cache.find(used) is not None  # ... and using this one makes it the newest
    add(cache, "d", 100, 4)
    assert cache.find(new) is None
    assert cache.find(used) is not None


def test_a_rendering_larger_than_the_bound_is_kept_while_it_is_the_newest(
    tmp_path: Path,
) -> None:
    cache = SpeechCache(tmp_path, max_bytes=10)
    key = add(cache, "big", 100, 1)
    assert cache.find(key) is not None  # Asterisk is about to fetch it


def test_files_that_are_not_renderings_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.wav").write_bytes(b"x" * 500)
    cache = SpeechCache(tmp_path, max_bytes=150)
    add(cache, "a", 100, 1)
    add(cache, "b", 100, 2)
    assert (tmp_path / "notes.wav").exists()


def test_half_made_renderings_are_cleared_at_start(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path, 1000)
    (cache.work / "left-over").mkdir()
    SpeechCache(tmp_path, 1000).clear_work()
    assert list(cache.work.iterdir()) == []
