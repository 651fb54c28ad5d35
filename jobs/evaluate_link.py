"""Score the linkage against the delivery's ground truth (synthetic deliveries only).

    python -m jobs.evaluate_link [--input DIR] [--warehouse DIR] [--conf FILE]

Reads ``gold/link_individu``, ``gold/link_keluarga`` and ``<input>/_truth/`` (the only
stage that may read it), writes pairwise precision, recall and F1 for persons and
families, overall, per source pair and per province, to ``gold/evaluasi_linkage`` and
prints the overall and per-source-pair figures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import cli
from jobs.config import Config
from jobs.delivery import Delivery
from jobs.errors import BadDeliveryError
from jobs.session import build_session
from jobs.storage import Storage, open_storage
from linkage.evaluate import evaluate

log = logging.getLogger("dtsen.evaluate")


def read_truth(spark: SparkSession, input_dir: str, table: str) -> DataFrame:
    files = Delivery(spark, input_dir).table_files(f"_truth/{table}", "parquet")
    if not files:
        raise BadDeliveryError(f"{input_dir}/_truth/{table}: no ground truth in this delivery")
    return spark.read.parquet(*[f.uri for f in files])


def has_truth(spark: SparkSession, input_dir: str) -> bool:
    return Delivery(spark, input_dir).exists("_truth")


def _scored(
    storage: Storage, truth: DataFrame, entity: str, keys: list[str], truth_id: str
) -> DataFrame:
    """Predicted and true cluster, source and province for every linked source record."""
    dtsen_id = f"dtsen_{entity}_id"
    return (
        storage.read(f"gold/link_{entity}")
        .join(truth, keys)
        .join(storage.read(f"gold/{entity}").select(dtsen_id, "kode_wilayah"), dtsen_id, "left")
        .select(
            F.col(dtsen_id).alias("pred"),
            F.col(truth_id).alias("truth"),
            "sumber",
            F.coalesce(F.substring("kode_wilayah", 1, 2), F.lit("??")).alias("provinsi"),
        )
    )


def evaluation(spark: SparkSession, cfg: Config, storage: Storage) -> DataFrame:
    """The metrics table (also written to ``gold/evaluasi_linkage``)."""
    persons = _scored(
        storage,
        read_truth(spark, cfg.input, "individu"),
        "individu",
        ["sumber", "id_record"],
        "person_id",
    )
    families = _scored(
        storage,
        read_truth(spark, cfg.input, "keluarga"),
        "keluarga",
        ["sumber", "id_keluarga"],
        "family_id",
    )
    metrics = evaluate(persons, "individu").unionByName(evaluate(families, "keluarga"))
    storage.write(metrics, "gold/evaluasi_linkage")
    return storage.read("gold/evaluasi_linkage")


def format_metrics(metrics: DataFrame) -> str:
    rows = (
        metrics.where(F.col("tingkat").isin("keseluruhan", "pasangan_sumber"))
        .orderBy("entitas", F.col("tingkat").desc(), "kelompok")
        .collect()
    )
    header = ("entitas", "kelompok", "presisi", "recall", "f1", "pasangan")
    lines = ["{:<9} {:<18} {:>8} {:>8} {:>8} {:>10}".format(*header)]

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    for r in rows:
        lines.append(
            f"{r['entitas']:<9} {r['kelompok']:<18} {fmt(r['presisi']):>8} "
            f"{fmt(r['recall']):>8} {fmt(r['f1']):>8} {r['pasangan_benar']:>10}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = cli.config_from(args)
    spark = build_session(cfg)
    metrics = evaluation(spark, cfg, open_storage(spark, cfg))
    print(format_metrics(metrics))  # the job's result, for the person who ran it


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
