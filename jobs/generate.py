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

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from jobs import cli
from jobs.session import build_session
from jobs.synthetic import tables
from jobs.synthetic.assemble import (
    assign_identifiers,
    chunk_plan,
    family_context,
    generate,
    susenas_plan,
)
from jobs.synthetic.context import build_context
from jobs.synthetic.reference import build_regions

log = logging.getLogger("dtsen.generate")
ROWS_PER_FILE = 400_000


def write_lines(lines: DataFrame, path: str, rows_hint: int) -> None:
    """Write a text-line frame as CSV part files with the header (its column name) on top.

    Lines are hashed into a fixed number of files and sorted within each, so the same
    delivery gives the same file contents whatever the cluster.
    """
    column = lines.columns[0]
    files = max(1, rows_hint // ROWS_PER_FILE)
    (
        lines.repartition(files, column)
        .sortWithinPartitions(column)
        .write.mode("overwrite")
        .option("header", True)
        .option("sep", "\u0001")  # never in a line: the line is written as is
        .option("quote", "")
        .option("escapeQuotes", False)
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .csv(path)
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, help="persons in the registry population")
    args = parser.parse_args(argv)
    if args.individuals is not None:
        args.overrides.append(f"generate.individuals={args.individuals}")
    cfg = cli.config_from(args)
    gen = cfg.generate
    out = cfg.input
    spark = build_session(cfg)
    started = time.monotonic()

    regions = build_regions(gen.seed, gen.poverty_line, gen.log_pce_sd)
    ctx = build_context(gen, regions)
    per_chunk = int(gen.families_per_chunk * 3.07)
    # Generated once: identifier windows and joins read it several times.
    raw = generate(spark, ctx, chunk_plan(gen.individuals, per_chunk)).persist(
        StorageLevel.DISK_ONLY
    )
    raw.count()
    pop = family_context(assign_identifiers(raw)).persist(StorageLevel.DISK_ONLY)
    persons = pop.count()
    raw.unpersist()
    log.info("population: %d persons in %.0f s", persons, time.monotonic() - started)

    step = time.monotonic()
    tables.dukcapil_penduduk(pop).repartition(
        max(1, persons // ROWS_PER_FILE), "NIK"
    ).sortWithinPartitions("NIK").write.mode("overwrite").parquet(f"{out}/dukcapil/penduduk")
    log.info("dukcapil/penduduk written in %.0f s", time.monotonic() - step)
    for name, build in tables.CSV_TABLES.items():
        step = time.monotonic()
        write_lines(build(pop), f"{out}/{name}", persons)
        log.info("%s written in %.0f s", name, time.monotonic() - step)
    for name, build in tables.TRUTH_TABLES.items():
        build(pop).repartition(max(1, persons // ROWS_PER_FILE)).write.mode("overwrite").parquet(
            f"{out}/{name}"
        )
    pop.unpersist()

    survey = generate(spark, ctx, susenas_plan(gen.susenas_households, gen.families_per_chunk))
    survey = survey.persist(StorageLevel.DISK_ONLY)
    for name, build in tables.SUSENAS_TABLES.items():
        write_lines(build(survey), f"{out}/{name}", gen.susenas_households * 3)
    survey.unpersist()
    for name, lines in tables.reference_tables(spark, regions).items():
        write_lines(lines, f"{out}/{name}", 0)
    log.info(
        "delivery of %d persons written to %s in %.0f s", persons, out, time.monotonic() - started
    )


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
