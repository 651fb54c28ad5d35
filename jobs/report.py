"""Write the run report of one period: a static HTML page of aggregates.

    python -m jobs.report [--warehouse DIR] [--conf FILE] [--set ranking.periode=2025Q2]

For ``ranking.periode``: the ingest accounting of the batch the period was built from
(``bronze/`` + ``quarantine/`` rows per table, quarantine reasons), linkage quality
(``gold/evaluasi_linkage``, when it evaluates the register as it now stands) with the
Splink model's match weights and its own model charts, ``gold/relasi``, the ranking
model's holdout metrics against its WLS baseline (its MLflow run) and ``gold/evaluasi_pmt``
when evaluated, desil by province (``gold/peringkat``), quotas and recipients per program
and kab/kota (``gold/kuota``, ``gold/penerima_program``), and the movement since the
previous period (``gold/laporan_transisi_desil``, ``gold/laporan_mutasi_program``; the
first period has none). Writes ``<warehouse>/reports/<periode>/index.html`` (and the
Splink chart pages beside it) and prints its path. Counts only: no person or family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dtsen import cli
from dtsen.config import Config
from dtsen.io.report import (
    committed_at,
    holdout_metrics,
    period_snapshot,
    splink_artefacts,
    write_report,
)
from dtsen.storage import Storage
from dtsen.storage.bronze import BATCH_COLUMN, read_bronze
from dtsen.storage.periods import periods_before, read_period
from publish import report as page


def run(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Gather the period's aggregates, render the page, write it; returns its path."""
    periode = cfg.ranking.periode
    snapshot = period_snapshot(storage, cfg, periode)
    earlier = periods_before(storage, "gold/peringkat", periode)
    # Every period after the first comes from an update delivery, with its own tables.
    mapping = cfg.source_mapping(update=bool(earlier))
    tables = {
        name: tuple(
            storage.read(f"{layer}/{name}").where(F.col(BATCH_COLUMN) == snapshot.batch)
            for layer in ("bronze", "quarantine")
        )
        for name in mapping.tables
    }
    peringkat = read_period(storage, "gold/peringkat", periode)
    wilayah = read_bronze(storage, "referensi_wilayah", snapshot.batch)
    model_uri = peringkat.select("model_uri").first()["model_uri"]
    metrics, is_baseline = holdout_metrics(cfg, model_uri)
    model, charts = splink_artefacts(spark, cfg)
    sebelumnya = earlier[-1] if earlier else None
    transisi = mutasi = None
    if sebelumnya and storage.exists("gold/laporan_mutasi_program"):
        pair = (F.col("dari") == sebelumnya) & (F.col("ke") == periode)
        transisi, mutasi = page.movement_rows(
            storage.read("gold/laporan_transisi_desil").where(pair),
            storage.read("gold/laporan_mutasi_program").where(pair),
        )
    linkage = None
    # The evaluation scores the register it was run on: stale once an update relinked it.
    if storage.exists("gold/evaluasi_linkage") and committed_at(
        storage, "gold/evaluasi_linkage"
    ) >= committed_at(storage, "gold/relasi"):
        linkage = page.linkage_rows(storage.read("gold/evaluasi_linkage"))
    register_pmt = None
    if storage.exists("gold/evaluasi_pmt"):
        evaluated = read_period(storage, "gold/evaluasi_pmt", periode, required=False)
        register_pmt = page.register_rows(evaluated) or None
    report = page.Report(
        periode=periode,
        sebelumnya=sebelumnya,
        batch=snapshot.batch,
        ingest=page.ingest_rows(tables),
        relasi=page.relasi_rows(storage.read("gold/relasi")),
        desil_provinsi=page.desil_province_rows(peringkat, wilayah),
        kuota=page.allocation_rows(
            read_period(storage, "gold/kuota", periode),
            read_period(storage, "gold/penerima_program", periode),
            peringkat,
            wilayah,
        ),
        model_uri=model_uri,
        holdout=page.holdout_rows(metrics, is_baseline),
        linkage=linkage,
        match_weights=page.match_weight_rows(model),
        splink_charts=sorted(charts),
        register_pmt=register_pmt,
        transisi=transisi,
        mutasi=mutasi,
    )
    path = write_report(spark, cfg, periode, {"index.html": page.render(report), **charts})
    return {"periode": periode, "halaman": path, "batch": snapshot.batch}


def format_figures(figures: dict[str, Any]) -> str:
    """The page's path, last: ``make run`` ends with it."""
    return f"report of {figures['periode']} (batch {figures['batch']}):\n{figures['halaman']}"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
