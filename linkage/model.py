"""The probabilistic (Fellegi-Sunter) person model, built with Splink on Spark.

Design choices, each measured against the plain baseline in ``shared/reference/anchors.md``:

- NIK is compared exactly (a NIK one digit off is usually another person), and its
  u value is fixed from the population size, since random sampling almost never draws
  two records sharing a NIK.
- KK, desa and address are one nested comparison (same KK, else same desa and RT, ...)
  so a household is not counted twice.
- Dates are DATE columns (no string parsing per comparison); the swapped day/month and
  default dates (1 January / 31 December) have their own levels.
- Prediction only scores pairs with at least one record the deterministic NIK pass
  left unresolved: the expensive Spark scoring runs on the hard residue only.
- Training holds on any delivery the contract allows (no NIK anywhere, no KK, one
  source, few records): an EM pass whose rule finds no pairs is skipped and named, the
  prior falls back to the records-per-person ratio when the deterministic rules find
  nothing, and every level left untrained (Splink then uses its default m or u) is
  reported by :func:`untrained`.
"""

from __future__ import annotations

import re
from functools import reduce
from typing import Any

import splink.comparison_level_library as cll
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from splink import Linker, SettingsCreator
from splink.comparison_library import CustomComparison
from splink.internals.exceptions import EMTrainingException

# Blocking rules for prediction, with a name each (reported with its comparison count).
PREDICTION_RULES: dict[str, str] = {
    "nik": "l.nik = r.nik",
    "nama_tgl": "l.nama_kunci = r.nama_kunci AND l.tanggal_lahir = r.tanggal_lahir",
    "nama_kab": "l.nama_kunci = r.nama_kunci AND l.kode_kab = r.kode_kab",
    "tgl_kec_jk": (
        "l.tanggal_lahir = r.tanggal_lahir AND l.kode_kec = r.kode_kec "
        "AND l.jenis_kelamin = r.jenis_kelamin"
    ),
    "tgl_tukar_kab": "l.tgl_tukar = r.tanggal_lahir AND l.kode_kab = r.kode_kab",
    "kk_tahun": "l.kk = r.kk AND l.tahun_lahir = r.tahun_lahir",
}
UNRESOLVED_SIDES = ("NOT l.terselesaikan", "NOT r.terselesaikan")
CAPPED = "_blok_besar_"
"""Prefix of the per-rule flag of records whose block under that rule is over the cap."""
PERSONAL_KEYS = {"nik", "kk", "nama_kunci"}
"""Key columns whose values are never reported (the largest block's key is masked)."""


def prediction_rules(rules: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(name, SQL) of every prediction rule, restricted to pairs with an unresolved record.

    Each rule is written twice, once per side, instead of with ``OR``: Splink excludes
    the pairs of earlier rules with ``NOT (...)``, and an ``OR`` inside those exclusions
    made Spark's plan explode (out of memory on a few thousand pairs).
    """
    return [
        (name, f"{rule} AND NOT l.{CAPPED}{name} AND {side}")
        for name, rule in (rules or PREDICTION_RULES).items()
        for side in UNRESOLVED_SIDES
    ]


# EM passes: each fixes its blocking columns and trains the others.
TRAINING_RULES = (
    "l.nik = r.nik",
    "l.nama_kunci = r.nama_kunci AND l.tanggal_lahir = r.tanggal_lahir",
    "l.tanggal_lahir = r.tanggal_lahir AND l.kode_kec = r.kode_kec",
)
# Deterministic rules to estimate the prior that two random records match.
PRIOR_RULES = (
    "l.nik = r.nik AND l.nama_kunci = r.nama_kunci",
    "l.nama_kunci = r.nama_kunci AND l.tanggal_lahir = r.tanggal_lahir AND l.kode_kab = r.kode_kab",
)


def model_input(records: DataFrame) -> DataFrame:
    """Splink's input: standardised, padan-checked records; invalid NIK/KK become null."""
    return records.select(
        F.col("uid").alias("unique_id"),
        "sumber",
        F.when(F.col("nik_alasan").isNull(), F.col("nik")).alias("nik"),
        F.when(F.col("kk_alasan").isNull(), F.col("kk")).alias("kk"),
        "nama",
        "nama_kunci",
        "nama_token",
        "nama_depan",
        "tanggal_lahir",
        "tgl_tukar",
        "tgl_default",
        "tahun_lahir",
        "jenis_kelamin",
        "kode_wilayah",
        "kode_kec",
        "kode_kab",
        "alamat",
        "rt",
        "terselesaikan",
        # No block is over the cap until :func:`capped` says so (an update never caps).
        *[F.lit(False).alias(f"{CAPPED}{name}") for name in PREDICTION_RULES],
    )


def _key_pairs(rule: str) -> list[tuple[str, str]]:
    """The (left, right) columns of an equality blocking rule: ``l.a = r.b AND ...``."""
    return re.findall(r"l\.(\w+)\s*=\s*r\.(\w+)", rule)


def _block_key(columns: list[str]) -> Column:
    return F.concat_ws("|", *[F.col(c).cast("string") for c in columns])


def blocks(table: DataFrame, rules: dict[str, str] | None = None) -> DataFrame:
    """Every block of every prediction rule: ``rule``, ``kunci`` (its key values joined by
    ``|``), ``records`` and ``pairs``.

    A block is the records sharing a rule's key; its pairs are counted before the rules
    exclude each other's pairs and before the unresolved-side filter, so they bound
    what Splink scores from above. An asymmetric rule (a swapped date against a date)
    pairs the records with a left key against those with the same right key.
    """
    frames = []
    for name, rule in (rules or PREDICTION_RULES).items():
        left, right = (list(c) for c in zip(*_key_pairs(rule), strict=True))

        def counted(columns: list[str], alias: str) -> DataFrame:
            keyed = table.where(reduce(Column.__and__, [F.col(c).isNotNull() for c in columns]))
            return keyed.groupBy(_block_key(columns).alias("kunci")).agg(
                F.count(F.lit(1)).alias(alias)
            )

        if left == right:
            n = F.col("n")
            sized = counted(left, "n").select("kunci", n.alias("records"), n * (n - 1) / 2)
        else:
            sized = counted(left, "n_l").join(counted(right, "n_r"), "kunci")
            sized = sized.select(
                "kunci",
                (F.col("n_l") + F.col("n_r")).alias("records"),
                F.col("n_l") * F.col("n_r"),
            )
        frames.append(
            sized.toDF("kunci", "records", "pairs").select(
                F.lit(name).alias("rule"), "kunci", "records", F.col("pairs").cast("long")
            )
        )
    return reduce(DataFrame.unionByName, frames)


def block_report(
    block_sizes: DataFrame, max_pairs: int, rules: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Per rule: its largest block (pairs, records and key, personal key values masked)
    and the blocks and pairs over ``max_pairs`` (capped). One row per rule is collected."""
    over = F.col("pairs") > max_pairs
    rows = (
        block_sizes.groupBy("rule")
        .agg(
            # max of the struct, not max_by on pairs: blocks of equal size are common
            # (two swapped dates of one kab), and the key breaks the tie, so a re-run
            # reports the same block.
            F.max(F.struct("pairs", "records", "kunci")).alias("largest"),
            F.sum(over.cast("long")).alias("blocks_capped"),
            F.sum(F.when(over, F.col("pairs")).otherwise(0)).alias("pairs_capped"),
        )
        .collect()
    )
    found = {r["rule"]: r for r in rows}
    report = {}
    for name, rule in (rules or PREDICTION_RULES).items():
        row = found.get(name)
        largest = row["largest"] if row else None
        columns = [left for left, _ in _key_pairs(rule)]
        key = None
        if largest is not None:
            values = largest["kunci"].split("|")
            key = "|".join(
                "*" if c in PERSONAL_KEYS else v for c, v in zip(columns, values, strict=False)
            )
        report[name] = {
            "largest_block_pairs": int(largest["pairs"]) if largest else 0,
            "largest_block_records": int(largest["records"]) if largest else 0,
            "largest_block_key": key,
            "blocks_capped": int(row["blocks_capped"]) if row else 0,
            "pairs_capped": int(row["pairs_capped"]) if row else 0,
        }
    return report


def capped(
    table: DataFrame,
    block_sizes: DataFrame,
    max_pairs: int,
    rules: dict[str, str] | None = None,
) -> DataFrame:
    """``table`` with each rule's flag set on the records of its blocks over
    ``max_pairs``: that rule skips them (the prediction rules say ``NOT l.<flag>``), and
    their pairs must come through the other rules. The oversized keys are few (a block
    over the cap holds thousands of records): broadcast."""
    for name, rule in (rules or PREDICTION_RULES).items():
        left = [c for c, _ in _key_pairs(rule)]
        flag = f"{CAPPED}{name}"
        over = block_sizes.where((F.col("rule") == name) & (F.col("pairs") > max_pairs))
        big = over.select(F.col("kunci").alias("_kunci"), F.lit(True).alias("_besar"))
        table = (
            table.withColumn("_kunci", _block_key(left))
            .join(F.broadcast(big), "_kunci", "left")
            .withColumn(flag, F.coalesce("_besar", F.lit(False)))
            .drop("_kunci", "_besar")
        )
    return table


def name_frequencies(records: DataFrame) -> DataFrame:
    """``nama``, ``tf_nama``: each standardised name's share of the named records.

    Splink's term-frequency table for the exact-name level, kept so an update scores
    its few records against the register's frequencies (``predict_between`` needs them
    supplied) instead of the frequencies within its own handful of names.
    """
    named = records.where(F.col("nama").isNotNull() & (F.col("nama") != ""))
    counts = named.groupBy("nama").agg(F.count(F.lit(1)).alias("_n"))
    total = counts.agg(F.sum("_n").alias("_total"))
    return counts.crossJoin(F.broadcast(total)).select(
        "nama", (F.col("_n") / F.col("_total")).alias("tf_nama")
    )


def _name() -> CustomComparison:
    return CustomComparison(
        output_column_name="nama",
        comparison_levels=[
            cll.NullLevel("nama"),
            cll.ExactMatchLevel("nama").configure(tf_adjustment_column="nama"),
            cll.CustomLevel("nama_kunci_l = nama_kunci_r", "phonetic key equal"),
            cll.CustomLevel("jaro_winkler(nama_l, nama_r) >= 0.92", "Jaro-Winkler >= 0.92"),
            cll.CustomLevel("jaro_winkler(nama_l, nama_r) >= 0.8", "Jaro-Winkler >= 0.8"),
            cll.CustomLevel(
                "size(array_intersect(nama_token_l, nama_token_r)) * 2 "
                ">= least(size(nama_token_l), size(nama_token_r))",
                "half the tokens shared",
            ),
            cll.ElseLevel(),
        ],
    )


def _birth_date() -> CustomComparison:
    return CustomComparison(
        output_column_name="tanggal_lahir",
        comparison_levels=[
            cll.NullLevel("tanggal_lahir"),
            cll.CustomLevel(
                "tanggal_lahir_l = tanggal_lahir_r AND NOT tgl_default_l", "exact, not a default"
            ),
            cll.CustomLevel("tanggal_lahir_l = tanggal_lahir_r", "exact default date"),
            cll.CustomLevel(
                "tgl_tukar_l = tanggal_lahir_r OR tanggal_lahir_l = tgl_tukar_r",
                "day and month swapped",
            ),
            cll.CustomLevel(
                "(tgl_default_l OR tgl_default_r) AND tahun_lahir_l = tahun_lahir_r",
                "default date, same year",
            ),
            cll.CustomLevel(
                "abs(datediff(tanggal_lahir_l, tanggal_lahir_r)) <= 31", "within a month"
            ),
            cll.CustomLevel("abs(tahun_lahir_l - tahun_lahir_r) <= 1", "within a year"),
            cll.ElseLevel(),
        ],
    )


def _location() -> CustomComparison:
    return CustomComparison(
        output_column_name="lokasi",
        comparison_levels=[
            cll.CustomLevel(
                "(kk_l IS NULL AND kode_wilayah_l IS NULL) "
                "OR (kk_r IS NULL AND kode_wilayah_r IS NULL)",
                "null",
            ).configure(is_null_level=True),
            cll.CustomLevel("kk_l = kk_r", "same KK"),
            cll.CustomLevel(
                "kode_wilayah_l = kode_wilayah_r AND jaro_winkler(alamat_l, alamat_r) >= 0.9",
                "same desa, same address",
            ),
            cll.CustomLevel("kode_wilayah_l = kode_wilayah_r", "same desa"),
            cll.CustomLevel("kode_kec_l = kode_kec_r", "same kecamatan"),
            cll.CustomLevel("kode_kab_l = kode_kab_r", "same kab/kota"),
            cll.ElseLevel(),
        ],
    )


def _exact(column: str, u_exact: float | None = None) -> CustomComparison:
    """Null / exact / else; ``u_exact`` fixes the exact level's u (see NIK above)."""
    exact = cll.ExactMatchLevel(column)
    if u_exact is not None:
        exact = exact.configure(u_probability=u_exact, fix_u_probability=True)
    return CustomComparison(
        output_column_name=column,
        comparison_levels=[cll.NullLevel(column), exact, cll.ElseLevel()],
    )


def settings(population: int, prior: float) -> SettingsCreator:
    """The model's settings; ``population`` (persons, about) fixes NIK's u value,
    ``prior`` is the probability that two random records match (see :func:`prior`)."""
    return SettingsCreator(
        probability_two_random_records_match=prior,
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _name(),
            _birth_date(),
            _exact("jenis_kelamin"),
            _exact("nik", 1.0 / max(population, 2)),
            _location(),
        ],
        blocking_rules_to_generate_predictions=[sql for _, sql in prediction_rules()],
        additional_columns_to_retain=["sumber"],
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )


MAX_PRIOR = 0.5
"""A prior of 1 is infinite log-odds (Splink's weights become NaN): a tiny or degenerate
batch is capped here."""


def prior(table: Any, records_per_person: float, recall: float = 0.9) -> tuple[float, str | None]:
    """The probability that two random records of ``table`` match, and a note if guessed.

    As Splink's ``estimate_probability_two_random_records_match``: the pairs the
    deterministic :data:`PRIOR_RULES` find, divided by their assumed ``recall`` and by all
    pairs. When they find none (no NIK and no name-date-kab agreement anywhere, or a
    handful of records), the prior comes from ``records_per_person`` instead: n records
    of n / k persons hold about n (k - 1) / 2 matching pairs.

    Args:
        table: the registered Splink input (a ``SplinkDataFrame``).
        records_per_person: source records per Dukcapil person, over the whole batch
            (1 when there is no Dukcapil: each record taken as its own person).
    """
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    last = count_comparisons_from_blocking_rules(
        table,
        blocking_rules=list(PRIOR_RULES),
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        record_sample_proportion=1.0,
    )[-1]
    total = max(int(last["total_possible_comparison_count"]), 1)
    observed = int(last["cumulative_comparison_count"])
    if observed > 0:
        return min(observed / recall / total, MAX_PRIOR), None
    records = (1 + (1 + 8 * total) ** 0.5) / 2  # total = n (n - 1) / 2
    guess = min(max(records * (records_per_person - 1) / 2, 1.0) / total, MAX_PRIOR)
    return guess, (
        f"prior: the deterministic rules found no pairs; {guess:.3g} from "
        f"{records_per_person:.2f} records per person"
    )


def train(linker: Linker, u_max_pairs: float, seed: int) -> list[str]:
    """u by random sampling, m by EM over several passes; returns the passes skipped.

    A pass whose blocking rule finds no pairs (every NIK missing, say) cannot train
    anything and is skipped; the other passes still train the comparisons it would have.
    """
    skipped = []
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for rule in TRAINING_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_u_probabilities=True
            )
        except EMTrainingException:
            skipped.append(f"EM pass skipped, its rule finds no pairs: {rule}")
    return skipped


def untrained(model: dict[str, Any]) -> list[str]:
    """``<comparison>: <m|u> untrained at '<level>'`` for each non-null level of a saved
    model (``linker.misc.save_model_to_json()``) without that value: Splink scores those
    with its default m (by level order) or u, which a user of the model should know."""
    notes = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            label = level.get("label_for_charts", level["sql_condition"])
            notes += [
                f"{comparison['output_column_name']}: {kind} untrained at '{label}'"
                for kind in ("m", "u")
                if f"{kind}_probability" not in level
            ]
    return notes


def comparison_counts(table: Any, rules: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Pairs each prediction rule adds after the earlier rules (exact, not sampled).

    Args:
        table: the registered Splink input (a ``SplinkDataFrame``).
    """
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    named = prediction_rules(rules)
    counts = count_comparisons_from_blocking_rules(
        table,
        blocking_rules=[sql for _, sql in named],
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        record_sample_proportion=1.0,
    )
    totals: dict[str, int] = {}
    for (name, _), row in zip(named, counts, strict=True):
        totals[name] = totals.get(name, 0) + int(row["marginal_comparison_count"])
    return [{"rule": name, "comparisons": n} for name, n in totals.items()]
