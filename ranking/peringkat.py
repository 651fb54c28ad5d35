"""``gold/peringkat``: adjusted scores ranked into desil at three levels, and its summary.

The desil of each level is computed by :func:`ranking.desil.with_desil` over one shared
score sketch (the three levels rank the same scores).
"""

from __future__ import annotations

from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ranking.desil import DEFAULT_BUCKETS, score_bounds, with_desil

LEVELS = (
    ("desil_nasional", []),
    ("desil_provinsi", ["kode_prov"]),
    ("desil_kabkota", ["kode_kab"]),
)


def ranked(
    families: DataFrame, scores: DataFrame, periode: str, model_uri: str, buckets: int | None
) -> DataFrame:
    """``gold/peringkat`` rows: adjusted score, national percentile, desil at three levels.

    Args:
        families: ``gold/keluarga`` (``kode_wilayah`` and ``jumlah_anggota`` are used).
        scores: ``dtsen_keluarga_id``, ``skor``, ``skor_model``, ``penyesuaian``.
        buckets: score buckets of the desil step; ``None``: ``DEFAULT_BUCKETS``.
    """
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


def desil_distribution(peringkat: DataFrame) -> DataFrame:
    """Families, persons and adjusted families per national desil (10 rows)."""
    return (
        peringkat.groupBy("desil_nasional")
        .agg(
            F.count(F.lit(1)).alias("keluarga"),
            F.sum("jumlah_anggota").alias("jiwa"),
            F.sum(F.when(F.size("penyesuaian") > 0, 1).otherwise(0)).alias("disesuaikan"),
        )
        .orderBy("desil_nasional")
    )


def family_exclusions(kelayakan: DataFrame) -> DataFrame:
    """Families excluded per reason code (one family may count under several)."""
    return (
        kelayakan.where(F.col("dtsen_individu_id").isNull())
        .select(F.explode("alasan").alias("alasan"))
        .groupBy("alasan")
        .count()
        .orderBy("alasan")
    )


def format_figures(figures: dict[str, Any]) -> str:
    """The rank stage's summary: desil distribution and exclusions."""
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
