"""Link persons and families across Dukcapil, Regsosek, P3KE and DTKS.

    python -m jobs.link [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

Reads the newest ingested batch from ``bronze/``, and writes ``gold/link_individu``,
``gold/link_keluarga``, ``gold/individu``, ``gold/keluarga``, ``gold/review_pasangan``,
``gold/relasi`` and ``gold/linkage_blocking``; the trained Splink model (versioned JSON)
and its charts go to ``linkage.model_dir``; a batch too small to train on
(``linkage.min_training_records``) is scored with the newest model saved there. Prints
the comparison count per blocking rule, what training had to leave to defaults, and the
national relasi table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.io.linkage_artefacts import save_linkage_artefacts, saved_model
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch, read_bronze
from linkage import pipeline


def run(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Read one batch, link it, write the gold tables; returns the printed figures."""
    from splink import SparkAPI

    batch = latest_batch(storage, cfg)
    sources = cfg.person_sources()

    def bronze(table: str):
        return read_bronze(storage, table, batch)

    inputs = pipeline.LinkInputs(
        sources=sources,
        persons={s: bronze(spec.table) for s, spec in sources.items()},
        source_families={s: bronze(p.family_table) for s, p in sources.items() if p.family_table},
        wilayah=bronze("referensi_wilayah"),
        regsosek_keluarga=bronze("regsosek_keluarga"),
        p3ke_keluarga=bronze("p3ke_keluarga"),
        dtks=bronze("dtks_dtks"),
        saved_model=saved_model(spark, cfg),
    )
    result = pipeline.link(SparkAPI(spark_session=spark), inputs, cfg.linkage_params)
    for name, frame in result.tables.items():
        storage.write(frame, name)
    # The first period rebuilds the log whole; later updates replace only their period.
    for name, frame in result.period_tables.items():
        storage.write(frame, name, partition_by=["periode"])
    save_linkage_artefacts(spark, cfg, result.linker, result.scored, result.assigned)
    result.release()
    return result.figures


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, pipeline.format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
