"""How well the ranked register targets, against the true welfare (synthetic deliveries).

The holdout says how a PMT ranks survey households; this says how the whole chain
ranks the register: linkage, the golden record's survivorship, the register's older
and noisier variables, missing sources, the admin adjustments and the desil step. The
truth (``_truth/``) exists only in synthetic deliveries, so only evaluation reads it.

Why histogram cut-offs: "the poorest 40% of people" needs a person-weighted quantile of
tens of millions of families. Values are rounded to 0.001 (log scale, 0.1% of
expenditure), summed per rounded value, and that small table (a few thousand rows) is
read by the driver to find the cut-offs; nothing family-level is collected.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

SHARES = {40: 0.4, 50: 0.5}
"""Desil 1-4 (PKH) and desil 1-5 (Sembako, PBI-JK)."""
RESOLUTION = 3
"""Decimal places of the log values the cut-offs are found at."""


def true_welfare(
    link_keluarga: DataFrame, truth_keluarga: DataFrame, truth_kesejahteraan: DataFrame
) -> DataFrame:
    """``dtsen_keluarga_id``, ``ln_pce`` (true), ``ln_pce_oracle`` of every golden family.

    A golden family gets the true family most of its source families belong to (ties:
    the smallest ``family_id``; ``row_number`` so each golden family gets exactly one).
    """
    votes = (
        link_keluarga.join(truth_keluarga, ["sumber", "id_keluarga"])
        .groupBy("dtsen_keluarga_id", "family_id")
        .agg(F.count(F.lit(1)).alias("suara"))
    )
    order = Window.partitionBy("dtsen_keluarga_id").orderBy(F.desc("suara"), "family_id")
    chosen = votes.withColumn("_n", F.row_number().over(order)).where("_n = 1")
    return chosen.join(truth_kesejahteraan, "family_id").select(
        "dtsen_keluarga_id",
        F.ln("pengeluaran_kapita").alias("ln_pce"),
        F.col("ln_pce_oracle").cast("double").alias("ln_pce_oracle"),
    )


def weighted_cutoffs(frame: DataFrame, value: str, weight: str) -> dict[int, float]:
    """The rounded ``value`` at which the ``weight``-weighted share reaches each of
    ``SHARES`` (a small histogram is collected, never the rows)."""
    histogram = (
        frame.groupBy(F.round(value, RESOLUTION).alias("v"))
        .agg(F.sum(weight).cast("double").alias("w"))
        .orderBy("v")
        .toPandas()
    )
    cumulative = histogram["w"].cumsum().to_numpy() / histogram["w"].sum()
    return {
        label: float(histogram["v"].iloc[int(np.searchsorted(cumulative, share))])
        for label, share in SHARES.items()
    }


def _below(value: str, cutoff: float) -> Column:
    return F.round(value, RESOLUTION) <= F.lit(cutoff)


def register_targeting(ranked: DataFrame, rankings: dict[str, str]) -> DataFrame:
    """Exclusion and inclusion errors at desil 1-4 and 1-5, overall and per relasi.

    Args:
        ranked: one row per family: ``relasi``, ``jumlah_anggota`` (persons),
            ``ln_pce`` (truth), ``desil_nasional`` and the value columns ``rankings`` name.
        rankings: ranking name -> column; ``desil_nasional`` places families by their
            desil (the register as delivered), any other column by its own person-weighted
            national cut-off (e.g. the oracle, or the PMT score before adjustments).

    Returns:
        ``peringkat``, ``relasi`` (``SEMUA`` for all families), ``keluarga``, ``jiwa``,
        ``exclusion_error_<40|50>``, ``inclusion_error_<40|50>``. The poorest 40% and
        50% are national (population deciles); per relasi the errors are those of the
        national cut-offs within that group.
    """
    persons = F.col("jumlah_anggota").cast("double")
    truth = weighted_cutoffs(ranked, "ln_pce", "jumlah_anggota")
    parts = []
    for name, column in rankings.items():
        cut = (
            None
            if column == "desil_nasional"
            else weighted_cutoffs(ranked, column, "jumlah_anggota")
        )
        flags = []
        for label, share in SHARES.items():
            truly = _below("ln_pce", truth[label])
            if cut is None:
                placed = F.col("desil_nasional") <= int(round(share * 10))
            else:
                placed = _below(column, cut[label])
            flags += [
                F.sum(F.when(truly, persons).otherwise(0.0)).alias(f"truly_{label}"),
                F.sum(F.when(placed, persons).otherwise(0.0)).alias(f"placed_{label}"),
                F.sum(F.when(truly & ~placed, persons).otherwise(0.0)).alias(f"missed_{label}"),
                F.sum(F.when(placed & ~truly, persons).otherwise(0.0)).alias(f"wrong_{label}"),
            ]
        counts = [F.count(F.lit(1)).alias("keluarga"), F.sum(persons).cast("long").alias("jiwa")]
        grouped = ranked.groupBy("relasi").agg(*counts, *flags)
        overall = ranked.agg(*counts, *flags).withColumn("relasi", F.lit("SEMUA"))
        both = grouped.unionByName(overall).withColumn("peringkat", F.lit(name))
        for label in SHARES:
            both = both.withColumn(
                f"exclusion_error_{label}", F.try_divide(f"missed_{label}", f"truly_{label}")
            ).withColumn(
                f"inclusion_error_{label}", F.try_divide(f"wrong_{label}", f"placed_{label}")
            )
        parts.append(both)
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    metrics = [f"{kind}_error_{label}" for label in SHARES for kind in ("exclusion", "inclusion")]
    return out.select("peringkat", "relasi", "keluarga", "jiwa", *metrics)
