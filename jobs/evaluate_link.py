"""Score the linkage against the delivery's ground truth (synthetic deliveries only).

    python -m jobs.evaluate_link [--input DIR] [--warehouse DIR] [--conf FILE]

Reads ``gold/link_individu``, ``gold/link_keluarga`` and ``<input>/_truth/`` (the only
stage that may read it), writes pairwise precision, recall and F1 for persons and
families, overall, per source pair and per province, to ``gold/evaluasi_linkage`` and
prints the overall and per-source-pair figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dtsen import cli
from dtsen.config import Config
from dtsen.io.delivery import read_truth
from dtsen.storage import Storage
from linkage.evaluate import evaluate, format_metrics, scored_records

ENTITIES = (
    ("individu", ["sumber", "id_record"], "person_id"),
    ("keluarga", ["sumber", "id_keluarga"], "family_id"),
)


def run(spark: SparkSession, cfg: Config, storage: Storage) -> list[dict[str, Any]]:
    """Write ``gold/evaluasi_linkage``; returns its overall and per-source-pair rows."""
    parts = [
        evaluate(
            scored_records(
                storage.read(f"gold/link_{entity}"),
                storage.read(f"gold/{entity}"),
                read_truth(spark, cfg.delivery, entity),
                entity,
                keys,
                truth_id,
            ),
            entity,
        )
        for entity, keys, truth_id in ENTITIES
    ]
    storage.write(parts[0].unionByName(parts[1]), "gold/evaluasi_linkage")
    rows = (
        storage.read("gold/evaluasi_linkage")
        .where(F.col("tingkat").isin("keseluruhan", "pasangan_sumber"))
        .orderBy("entitas", F.col("tingkat").desc(), "kelompok")
    )
    return [r.asDict() for r in rows.collect()]


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    return cli.run_stage(argv, __doc__, run, format_metrics)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
