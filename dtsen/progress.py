"""Progress a person can follow: a long stage's steps, each logged when it starts and when
it ends with its elapsed time (and its rows, where the step counts them anyway), and each
named in the Spark UI, so the jobs of a running stage read like the pipeline.

Spark is lazy: a step's time is the time of the actions inside it (a count, a checkpoint,
a write), which is why the long stages checkpoint at their step boundaries. A leaf like
``dtsen.errors`` (no project imports), so the linkage and ranking steps use it as well.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("dtsen.progress")


@dataclass
class Rows:
    """What a step reports about its size: set ``n`` when the step has counted."""

    n: int | None = None


class Progress:
    """The steps of one stage run.

    ``with progress.step("prediction") as rows: ...; rows.n = frame.count()``. ``seconds``
    holds each finished step's elapsed time (a step entered twice adds up), for the
    stage's figures: a benchmark reads where the time went without parsing logs.
    """

    def __init__(self, spark: Any, stage: str) -> None:
        self._context = spark.sparkContext
        self.stage = stage
        self.seconds: dict[str, float] = {}
        self._started = time.monotonic()
        self._context.setJobDescription(stage)

    def elapsed(self) -> float:
        """Seconds since the stage began, rounded to a tenth."""
        return round(time.monotonic() - self._started, 1)

    @contextmanager
    def step(self, name: str) -> Iterator[Rows]:
        self._context.setJobDescription(f"{self.stage}: {name}")
        log.info("%s: %s ...", self.stage, name)
        started = time.monotonic()
        rows = Rows()
        try:
            yield rows
        finally:
            elapsed = time.monotonic() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 1)
            self._context.setJobDescription(self.stage)
            size = "" if rows.n is None else f", {rows.n:,} rows"
            log.info(
                "%s: %s done in %.1f s%s (%.0f s into the stage)",
                self.stage,
                name,
                elapsed,
                size,
                time.monotonic() - self._started,
            )


def format_steps(seconds: dict[str, float]) -> str:
    """One summary line: where a stage's time went, step by step."""
    return "steps: " + ", ".join(f"{name} {s:.1f} s" for name, s in seconds.items())
