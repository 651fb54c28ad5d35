"""The survey sample as training and holdout data: labels, holdout split, relasi masks.

Why masks: the survey has every variable, but a register family found only in P3KE
or DTKS lacks most of them. Training on the survey alone would teach XGBoost nothing
about missing values (it would send them down arbitrary branches). So the survey is
copied once per configured ``relasi`` pattern with the variables those sources lack
set to null, and each copy's weight is scaled by the pattern's configured factor.
The holdout is masked the same way to report accuracy by ``relasi``.
"""

from __future__ import annotations

from datetime import date
from functools import reduce

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ranking.features import KEY, RELASI, FeatureSpec, build_features, mask, survey_inputs
from ranking.trainers import LABEL, WEIGHT

FULL = "RPD"
"""The pattern with every variable: the survey as observed."""


def holdout_flags(households: DataFrame, fraction: float, seed: int) -> DataFrame:
    """``kunci``, ``holdout``: a share ``fraction`` of each province, drawn by a seeded hash.

    Stratified by province so that every province is evaluated, and small ones are not
    left out by chance; the hash (tie-broken by the key) makes the split reproducible.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"pmt.holdout_fraction must be between 0 and 1, got {fraction}")
    province = F.substring("kode_wilayah", 1, 2)
    order = Window.partitionBy(province).orderBy(F.xxhash64(KEY, F.lit(seed)), KEY)
    size = Window.partitionBy(province)
    return households.select(
        KEY,
        (F.row_number().over(order) <= F.round(F.count(F.lit(1)).over(size) * fraction)).alias(
            "holdout"
        ),
    )


def labelled(
    families: DataFrame,
    members: DataFrame,
    households: DataFrame,
    spec: FeatureSpec,
    reference_date: date,
    patterns: dict[str, float],
) -> DataFrame:
    """Features of every household under every pattern, with label and weights.

    Args:
        families, members: survey inputs in the builder's shape (``survey_inputs``).
        households: ``kunci``, ``bobot`` (survey weight), ``pengeluaran_kapita``.
        spec: feature spec.
        reference_date: the survey's reference date (ages).
        patterns: relasi pattern -> weight factor (e.g. ``{"RPD": 1.0, "P": 0.3}``).

    Returns:
        ``kunci``, ``relasi``, ``kode_wilayah``, the features, ``y`` (log per-capita
        expenditure), ``bobot``, ``anggota`` (household size) and ``bobot_latih``
        (survey weight x pattern factor).
    """
    unknown = sorted(set(patterns) - set(RELASI))
    if unknown:
        raise ValueError(f"pmt.missing_patterns: unknown relasi {unknown}; expected {RELASI}")
    size = members.groupBy(KEY).agg(F.count(F.lit(1)).alias("anggota"))
    labels = households.select(
        KEY, F.ln("pengeluaran_kapita").alias(LABEL), F.col("bobot").cast("double")
    ).join(size, KEY, "left")
    parts = []
    for relasi, factor in sorted(patterns.items()):
        masked_families, masked_members = mask(families, members, spec, relasi)
        parts.append(
            build_features(masked_families, masked_members, spec, reference_date)
            .withColumn("relasi", F.lit(relasi))
            .withColumn("faktor", F.lit(float(factor)))
        )
    return (
        reduce(DataFrame.unionByName, parts)
        .join(labels, KEY)
        .withColumn("anggota", F.coalesce("anggota", F.lit(0)))
        .withColumn(WEIGHT, F.col("bobot") * F.col("faktor"))
        .drop("faktor")
    )


def training_frame(
    households: DataFrame,
    people: DataFrame,
    spec: FeatureSpec,
    reference_date: date,
    patterns: dict[str, float],
    holdout_fraction: float,
    seed: int,
) -> DataFrame:
    """The Susenas bronze tables as the trainers take them: :func:`labelled` rows with
    their :func:`holdout_flags` (``holdout``).

    Args:
        households, people: ``bronze/susenas_keluarga`` and ``bronze/susenas_individu``.
        patterns: relasi pattern -> weight factor; patterns left out get weight 0.
    """
    families, members = survey_inputs(households, people, spec)
    labels = households.select(F.col("id_ruta").alias(KEY), "bobot", "pengeluaran_kapita")
    every = {r: patterns.get(r, 0.0) for r in RELASI}
    return labelled(families, members, labels, spec, reference_date, every).join(
        holdout_flags(families, holdout_fraction, seed), KEY
    )
