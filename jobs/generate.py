"""Generate a synthetic national-style delivery, exactly per the input contract.

    python -m jobs.generate [--individuals N] [--input DIR] [--conf FILE] [--set k=v]

Writes ``<input>/`` (default ``data/synthetic``) with every table of
``shared/contract/inputs.md`` plus ``_truth/``; then, unless ``generate.update_output``
is empty, the next quarter's update delivery there (default ``data/synthetic-update``):
every table of ``shared/contract/updates.md`` plus its ``_truth/``, derived from the
same population (births, deaths, KK splits, moves, welfare changes; ground checks,
proposals, objections, reactivation requests), for the period after ``ranking.periode``.
Generation runs on Spark, one task per chunk of families, deterministic in
``generate.seed``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from delivery.synthetic import tables, update_tables
from delivery.synthetic.assemble import population, survey
from delivery.synthetic.context import build_context
from delivery.synthetic.quarter import next_periode
from delivery.synthetic.reference import build_regions
from dtsen import cli
from dtsen.config import Config
from dtsen.io.delivery import write_lines, write_parquet
from dtsen.io.files import write_text
from dtsen.storage import Storage

log = logging.getLogger("dtsen.generate")
FLAGS = [(("--individuals",), {"type": int, "help": "persons in the registry population"})]


def _write(
    out: str,
    source: Any,
    persons: int,
    penduduk: Callable[[Any], DataFrame],
    csv_tables: Mapping[str, Callable[[Any], DataFrame]],
    truth_tables: Mapping[str, Callable[[Any], DataFrame]],
) -> None:
    """Write Dukcapil, the CSV tables and the truth built from ``source`` below ``out``."""
    write_parquet(penduduk(source), f"{out}/dukcapil/penduduk", persons, "NIK")
    for name, build in csv_tables.items():
        write_lines(build(source), f"{out}/{name}", persons)
    for name, build in truth_tables.items():
        write_parquet(build(source), f"{out}/{name}", persons)


def run(
    spark: SparkSession, cfg: Config, storage: Storage, individuals: int | None = None
) -> dict[str, Any]:
    """Write the delivery to ``cfg.delivery`` (and the update to ``generate.update_output``);
    returns their size and where they went."""
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
    _write(out, pop, persons, tables.dukcapil_penduduk, tables.CSV_TABLES, tables.TRUTH_TABLES)
    sample = survey(spark, ctx, gen.susenas_households, gen.families_per_chunk)
    for name, build in tables.SUSENAS_TABLES.items():
        write_lines(build(sample), f"{out}/{name}", gen.susenas_households * 3)
    sample.unpersist()
    reference = tables.reference_tables(spark, regions)
    for name, lines in reference.items():
        write_lines(lines, f"{out}/{name}", 0)
    log.info("first period written in %.0f s", time.monotonic() - started)
    figures = {"persons": persons, "output": out, "update": gen.update_output}
    if gen.update_output:
        upd, periode = gen.update_output, next_periode(cfg.ranking.periode)
        update = update_tables.derive(ctx, pop, gen.update)
        log.info("update %s: %d persons", periode, update.persons.count())
        _write(
            upd,
            update,
            persons,
            update_tables.dukcapil_penduduk,
            update_tables.CSV_TABLES,
            update_tables.TRUTH_TABLES,
        )
        for name, lines in reference.items():
            write_lines(lines, f"{upd}/{name}", 0)
        write_text(spark, f"{upd}/periode.txt", f"{periode}\n")
        log.info("update written, %.0f s in all", time.monotonic() - started)
        figures["periode"] = periode
    pop.unpersist()
    return {**figures, "seconds": round(time.monotonic() - started, 1)}


def format_figures(figures: dict[str, Any]) -> str:
    line = f"delivery of {figures['persons']} persons written to {figures['output']}"
    if figures.get("update"):
        line += f"\nupdate delivery for {figures['periode']} written to {figures['update']}"
    return line


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures, FLAGS)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
