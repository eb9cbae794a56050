"""Summarise py-spy ``--format raw`` (collapsed stacks): self and inclusive share per function.

.venv/bin/python -m bench.pyspy_summary PROFILE_DIR/pyspy-x1-0.txt [--top 40] [--filter TEXT]
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--idle", action="store_true", help="keep samples of an idle event loop")
    args = p.parse_args()
    self_n: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(args.file).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        if not args.idle and "select (selectors.py" in frames[-1]:
            continue
        total += n
        self_n[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    print(f"{total} samples (idle loop excluded: {not args.idle})")
    print("--- self")
    for f, n in self_n.most_common(args.top):
        print(f"{n / total:6.1%}  {f}")
    print("--- inclusive")
    for f, n in incl.most_common(args.top):
        print(f"{n / total:6.1%}  {f}")


if __name__ == "__main__":
    main()
