"""Top functions by self and cumulative samples in a `py-spy record --format raw --threads` file.

    .venv/bin/python bench/pyspy_top.py /tmp/profile.txt [--top 25]

Each raw line is `thread (TID): NAME;frame;frame;... COUNT`, a frame being `func (file:line)`.
Lines are dropped from frames so that a function's samples add up across its lines.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def function(frame: str) -> str:
    """`loads (json/__init__.py:346)` -> `loads (json/__init__.py)`."""
    return _LINE.sub(")", frame)


def load(path: Path) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Samples per thread, self samples and cumulative samples per function, and the total."""
    threads, own, cumulative, total = Counter[str](), Counter[str](), Counter[str](), 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        names = [function(frame) for frame in frames]
        threads[thread.split(": ", 1)[-1]] += count
        if names:
            own[names[-1]] += count
        for name in set(names):  # a recursive function counts once per sample
            cumulative[name] += count
        total += count
    return threads, own, cumulative, total


def summarize(path: Path, top: int = 25) -> str:
    if not path.exists():
        return f"no profile at {path}"
    threads, own, cumulative, total = load(path)
    if not total:
        return f"no samples in {path}"

    def block(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"{n / total:6.1%}  {n:6d}  {name}" for name, n in counts.most_common(top)]
        return [f"{title} (share of {total} samples)", *rows, ""]

    return "\n".join(
        [
            f"# {path}",
            *block("samples per thread", threads),
            *block("by self time", own),
            *block("by cumulative time", cumulative),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarize(args.profile, args.top))


if __name__ == "__main__":
    main()
