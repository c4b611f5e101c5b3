"""Call files: one JSON-lines file per call, named by time and hash, kept within size and age."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from flowrunner.observe.callfiles import CallFiles, file_name, read_lines

EPOCH = 1_796_000_000.25


def test_a_file_is_named_by_the_start_time_and_a_hash_never_by_the_key() -> None:
    name = file_name("../../etc/passwd\n", EPOCH)
    assert name.startswith("20261130T")
    assert name.endswith(".jsonl")
    assert "/" not in name
    assert "passwd" not in name
    assert file_name("../../etc/passwd\n", EPOCH + 1) != name


def test_entries_go_to_their_call_s_file_in_order(tmp_path: Path) -> None:
    files = CallFiles(tmp_path, 10**6, 3600.0)
    first, second = files.open("a", EPOCH), files.open("b", EPOCH + 1)
    for n in range(3):
        files.add("a", {"n": n})
        files.add("b", {"m": n})
    files.add("nobody", {"lost": True})  # no call has this key
    files.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first, second])
    assert read_lines(tmp_path / first) == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert read_lines(tmp_path / second) == [{"m": 0}, {"m": 1}, {"m": 2}]


def test_a_key_opened_again_starts_a_new_file(tmp_path: Path) -> None:
    files = CallFiles(tmp_path, 10**6, 3600.0)
    files.open("a", EPOCH)
    files.add("a", {"call": 1})
    files.open("a", EPOCH + 60)
    files.add("a", {"call": 2})
    files.close()
    assert [read_lines(p) for p in sorted(tmp_path.iterdir())] == [[{"call": 1}], [{"call": 2}]]


def test_the_oldest_files_go_first_when_over_the_size(tmp_path: Path) -> None:
    line = json.dumps({"x": "y" * 90}) + "\n"  # 100 bytes
    for n in range(5):  # earlier calls, 100 bytes each
        (tmp_path / file_name(str(n), EPOCH + n)).write_text(line)
    files = CallFiles(tmp_path, 350, 3600.0)
    files.open("new", EPOCH + 10)
    files.add("new", {"x": "y" * 90})
    files.close()
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted(
        [file_name(str(n), EPOCH + n) for n in (3, 4)] + [file_name("new", EPOCH + 10)]
    )


def test_files_past_their_age_go(tmp_path: Path) -> None:
    old = tmp_path / file_name("old", EPOCH)
    old.write_text("{}\n")
    os.utime(old, (EPOCH, EPOCH))
    files = CallFiles(tmp_path, 10**6, 3600.0, wall=lambda: EPOCH + 7200)
    files.open("new", EPOCH + 7200)
    files.add("new", {})
    files.close()
    assert [p.name for p in tmp_path.iterdir()] == [file_name("new", EPOCH + 7200)]


def test_a_line_cut_short_is_skipped_when_read(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"b": \n[1]\n{"c": 3}\n')
    assert read_lines(path) == [{"a": 1}, {"c": 3}]


def test_a_folder_that_cannot_be_written_is_said_once(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    files = CallFiles(tmp_path / "d", 10**6, 3600.0)
    (tmp_path / "d").rmdir()
    (tmp_path / "d").write_text("not a folder")
    files.open("a", EPOCH)
    files.add("a", {})
    files.add("a", {})
    files.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "flowrunner.observe"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"trace: cannot write in {tmp_path / 'd'}: ")


def lines_once_written(path: Path, count: int) -> list[dict[str, object]]:
    """The file's records once it holds `count` of them, or what it holds after 10 s: the
    writer is a thread, and the file exists before its lines are in it (a race seen in CI)."""
    deadline = time.monotonic() + 10
    while not (path.exists() and len(read_lines(path)) >= count) and time.monotonic() < deadline:
        time.sleep(0.05)
    return read_lines(path) if path.exists() else []


def test_a_finished_call_is_written_without_waiting_for_the_close(tmp_path: Path) -> None:
    files = CallFiles(tmp_path, 10**6, 3600.0)
    name = files.open("a", EPOCH)
    files.add("a", {"n": 1})
    files.finish("a")
    assert lines_once_written(tmp_path / name, 1) == [{"n": 1}]
    files.add("a", {"n": 2})  # after the end (an after-call action): to the same file
    files.close()
    assert read_lines(tmp_path / name) == [{"n": 1}, {"n": 2}]
