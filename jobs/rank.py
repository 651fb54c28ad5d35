"""Score every golden family with the PMT, adjust, rank into desil, and judge eligibility.

    python -m jobs.rank [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

Reads ``gold/keluarga``, ``gold/individu`` and the newest ingested batch of the admin
tables; scores with ``ranking.model_uri`` (default ``models:/dtsen-pmt@champion``,
recorded per row as the exact version); applies ``ranking.adjustments``; computes the
population-weighted desil at national, provincial and kab/kota level; writes
``gold/peringkat`` and ``gold/kelayakan`` for ``ranking.periode`` (replacing only that
period's rows, in one commit each). Prints the national desil distribution.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import cli
from jobs.config import Config
from jobs.ingest import latest_batch, read_bronze
from jobs.pmt_registry import connect, load_scoring_model
from jobs.storage import Storage
from ranking.adjustments import apply_adjustments, family_signals
from ranking.desil import DEFAULT_BUCKETS, score_bounds, with_desil
from ranking.eligibility import kelayakan
from ranking.features import KEY, build_features, golden_inputs
from ranking.scoring import predict

log = logging.getLogger("dtsen.rank")

LEVELS = (
    ("desil_nasional", []),
    ("desil_provinsi", ["kode_prov"]),
    ("desil_kabkota", ["kode_kab"]),
)


def ranked(
    families: DataFrame, scores: DataFrame, periode: str, model_uri: str, buckets: int | None
) -> DataFrame:
    """``gold/peringkat`` rows: adjusted score, national percentile, desil at three levels."""
    frame = (
        families.select(
            "dtsen_keluarga_id",
            "jumlah_anggota",
            F.substring("kode_wilayah", 1, 2).alias("kode_prov"),
            F.substring("kode_wilayah", 1, 4).alias("kode_kab"),
        )
        .join(scores, "dtsen_keluarga_id")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    # One score sketch for the three levels: they rank the same scores.
    bounds = score_bounds(frame, "skor", buckets or DEFAULT_BUCKETS)
    for column, by in LEVELS:
        percentile = "persentil_nasional" if not by else None
        frame = with_desil(frame, by=by, desil_col=column, percentile_col=percentile, bounds=bounds)
    return frame.select(
        F.lit(periode).alias("periode"),
        "dtsen_keluarga_id",
        "skor",
        "persentil_nasional",
        *[F.col(c).cast("int").alias(c) for c, _ in LEVELS],
        F.lit(model_uri).alias("model_uri"),
        "skor_model",
        "penyesuaian",
        "kode_kab",
        "jumlah_anggota",
    )


def rank(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Run the stage; returns the figures the job prints (for tests and notebooks)."""
    started = time.monotonic()
    rk = cfg.ranking
    model = load_scoring_model(connect(cfg), rk.model_uri)
    batch = latest_batch(storage, cfg)
    keluarga = storage.read("gold/keluarga")
    individu = storage.read("gold/individu")
    features = build_features(*golden_inputs(keluarga, individu), model.spec, rk.reference_date)
    scores = predict(features, model.booster, model.spec.columns, "skor").withColumnRenamed(
        KEY, "dtsen_keluarga_id"
    )

    def bronze(table: str) -> DataFrame:
        return read_bronze(storage, table, batch)

    ump = bronze("referensi_ump")
    signals = family_signals(
        individu,
        bronze("admin_pln"),
        bronze("admin_samsat"),
        bronze("admin_bpjs_ketenagakerjaan"),
        ump,
    )
    adjusted = apply_adjustments(scores, signals, rk.adjustments)
    peringkat = ranked(keluarga, adjusted, rk.periode, model.uri, rk.desil_buckets)
    where = {"periode": rk.periode}
    storage.write(peringkat, "gold/peringkat", partition_by=["periode"], replace_where=where)
    eligibility = kelayakan(
        individu,
        bronze("dukcapil_penduduk"),
        bronze("admin_bkn"),
        bronze("admin_bpjs_ketenagakerjaan"),
        bronze("admin_negatif"),
        ump,
        rk.periode,
    )
    storage.write(eligibility, "gold/kelayakan", partition_by=["periode"], replace_where=where)

    written = storage.read("gold/peringkat").where(F.col("periode") == rk.periode)
    distribution = [
        r.asDict()
        for r in written.groupBy("desil_nasional")
        .agg(
            F.count(F.lit(1)).alias("keluarga"),
            F.sum("jumlah_anggota").alias("jiwa"),
            F.sum(F.when(F.size("penyesuaian") > 0, 1).otherwise(0)).alias("disesuaikan"),
        )
        .orderBy("desil_nasional")
        .collect()
    ]
    reasons = [
        r.asDict()
        for r in storage.read("gold/kelayakan")
        .where((F.col("periode") == rk.periode) & F.col("dtsen_individu_id").isNull())
        .select(F.explode("alasan").alias("alasan"))
        .groupBy("alasan")
        .count()
        .orderBy("alasan")
        .collect()
    ]
    figures = {
        "periode": rk.periode,
        "model_uri": model.uri,
        "desil": distribution,
        "alasan_keluarga": reasons,
        "seconds": round(time.monotonic() - started, 1),
    }
    log.info("ranked %s with %s in %.0f s", rk.periode, model.uri, figures["seconds"])
    return figures


def format_figures(figures: dict[str, Any]) -> str:
    lines = [f"periode {figures['periode']}, model {figures['model_uri']}"]
    lines.append(f"{'desil':>5} {'keluarga':>10} {'jiwa':>10} {'jiwa %':>7} {'disesuaikan':>11}")
    people = sum(r["jiwa"] for r in figures["desil"]) or 1
    for r in figures["desil"]:
        lines.append(
            f"{r['desil_nasional']:>5} {r['keluarga']:>10} {r['jiwa']:>10} "
            f"{100 * r['jiwa'] / people:>7.2f} {r['disesuaikan']:>11}"
        )
    lines.append("families excluded, by reason:")
    lines += [f"  {r['alasan']:<28} {r['count']:>8}" for r in figures["alasan_keluarga"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__.splitlines()[0], rank, format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
