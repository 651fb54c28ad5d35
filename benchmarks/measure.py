"""Run a command and report its wall time and the peak memory of its whole process tree.

    python benchmarks/measure.py --label gen-1M -- python -m jobs.generate --individuals 1000000

A Spark run is a Python driver, a JVM and Python workers: the peak that matters is
the sum of their resident memory, sampled from /proc every half second (Linux only).
The result is printed and appended as one JSON line to ``benchmarks/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process ended while the tree was walked
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        stack += _children(pid)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--results", default=str(Path(__file__).with_name("results.jsonl")))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    started = time.monotonic()
    proc = subprocess.Popen(command)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.5)
    result = {
        "label": args.label,
        "command": " ".join(command),
        "exit_code": proc.returncode,
        "wall_seconds": round(time.monotonic() - started, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "cores": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(json.dumps(result), file=sys.stderr)
    with open(args.results, "a", encoding="utf-8") as out:
        out.write(json.dumps(result) + "\n")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
