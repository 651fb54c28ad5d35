"""Each test module's share of the suite's time, from ``pytest --durations=0`` output.

    .venv/bin/python -m pytest --durations=0 | tee /tmp/pytest.log
    .venv/bin/python benchmarks/test_durations.py /tmp/pytest.log > docs/test_times.md

Setup time (session fixtures: the generated delivery, its linkage, the trained PMT) is
charged to the module whose test first needed it, as pytest reports it.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*([0-9.]+)s (call|setup|teardown)\s+(tests/[^:]+)::")


def per_module(text: str) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            seconds[match.group(3)] += float(match.group(1))
    return dict(seconds)


def table(seconds: dict[str, float], summary: str) -> str:
    total = sum(seconds.values()) or 1.0
    lines = [
        "# Test suite: each module's share of the time",
        "",
        f"Measured with `pytest --durations=0` ({summary}); produced by",
        "`benchmarks/test_durations.py`. Session fixtures are charged to the module that",
        "first needed them.",
        "",
        "| module | seconds | share |",
        "|---|---:|---:|",
    ]
    for module, value in sorted(seconds.items(), key=lambda kv: -kv[1]):
        lines.append(f"| `{module}` | {value:.1f} | {100 * value / total:.1f}% |")
    lines.append(f"| **total** | {total:.1f} | 100% |")
    return "\n".join(lines) + "\n"


def main(path: str) -> None:
    text = Path(path).read_text(encoding="utf-8")
    closing = [line for line in text.splitlines() if " passed" in line and " in " in line]
    summary = closing[-1].strip("= ") if closing else "summary line not found"
    sys.stdout.write(table(per_module(text), summary))


if __name__ == "__main__":
    main(sys.argv[1])
