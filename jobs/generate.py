"""Generate a synthetic national-style delivery, exactly per the input contract.

    python -m jobs.generate [--individuals N] [--input DIR] [--conf FILE] [--set k=v]

Writes ``<input>/`` (default ``data/synthetic``) with every table of
``shared/contract/inputs.md`` plus ``_truth/``. Generation runs on Spark, one task per
chunk of families, deterministic in ``generate.seed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from delivery.synthetic import tables
from delivery.synthetic.assemble import population, survey
from delivery.synthetic.context import build_context
from delivery.synthetic.reference import build_regions
from dtsen import cli
from dtsen.config import Config
from dtsen.io.delivery import write_lines, write_parquet
from dtsen.storage import Storage

log = logging.getLogger("dtsen.generate")
FLAGS = [(("--individuals",), {"type": int, "help": "persons in the registry population"})]


def run(
    spark: SparkSession, cfg: Config, storage: Storage, individuals: int | None = None
) -> dict[str, Any]:
    """Write the delivery to ``cfg.delivery``; returns its size and where it went."""
    started = time.monotonic()
    gen = cfg.generate
    if individuals is not None:
        gen = gen.model_copy(update={"individuals": individuals})
    out = cfg.delivery
    regions = build_regions(gen.seed, gen.poverty_line, gen.log_pce_sd)
    ctx = build_context(gen, regions)
    pop = population(spark, ctx, gen.individuals, gen.families_per_chunk)
    persons = pop.count()
    log.info("population: %d persons in %.0f s", persons, time.monotonic() - started)
    write_parquet(tables.dukcapil_penduduk(pop), f"{out}/dukcapil/penduduk", persons, "NIK")
    for name, build in tables.CSV_TABLES.items():
        write_lines(build(pop), f"{out}/{name}", persons)
    for name, build in tables.TRUTH_TABLES.items():
        write_parquet(build(pop), f"{out}/{name}", persons)
    pop.unpersist()
    sample = survey(spark, ctx, gen.susenas_households, gen.families_per_chunk)
    for name, build in tables.SUSENAS_TABLES.items():
        write_lines(build(sample), f"{out}/{name}", gen.susenas_households * 3)
    sample.unpersist()
    for name, lines in tables.reference_tables(spark, regions).items():
        write_lines(lines, f"{out}/{name}", 0)
    return {"persons": persons, "output": out, "seconds": round(time.monotonic() - started, 1)}


def format_figures(figures: dict[str, Any]) -> str:
    return f"delivery of {figures['persons']} persons written to {figures['output']}"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures, FLAGS)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
