"""Deliveries the contract allows but the default one never shows: no registry NIK at
all, and a batch too small to train on."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from jobs.evaluate_link import run as evaluation
from jobs.link import run as link

pytestmark = pytest.mark.slow

REGISTRIES = {
    "bronze/regsosek_individu": "nik",
    "bronze/p3ke_individu": "nik",
    "bronze/dtks_dtks": "NIK",
}
"""The registries' person tables and their NIK columns (Dukcapil's NIK is its key)."""


def _rewrite(storage, table: str, change) -> None:
    """Replace ``table``'s rows with ``change(rows)``, same batch and schema."""
    rows = storage.read(table)
    changed = change(rows)
    storage.write(storage.spark.createDataFrame(changed.collect(), rows.schema), table)


def test_a_delivery_without_registry_niks_links_on_names_dates_and_places(
    spark, small_warehouse, isolate
) -> None:
    cfg, storage = isolate(small_warehouse[0])
    for table, column in REGISTRIES.items():
        blank = F.lit(None).cast("string")
        _rewrite(storage, table, lambda rows, c=column, b=blank: rows.withColumn(c, b))

    figures = link(spark, cfg, storage)
    assert figures["resolved_by_nik"] == 0
    assert "EM pass skipped, its rule finds no pairs: l.nik = r.nik" in figures["training"]
    assert {c["rule"]: c["comparisons"] for c in figures["comparisons"]}["nik"] == 0
    metrics = {(r["entitas"], r["tingkat"]): r for r in evaluation(spark, cfg, storage)}
    persons = metrics[("individu", "keseluruhan")]
    assert persons["f1"] >= 0.95, persons
    links = storage.read("gold/link_individu")
    assert links.where("metode = 'nik'").isEmpty()
    assert links.count() == sum(
        storage.read(t).count() for t in ("bronze/dukcapil_penduduk", *REGISTRIES)
    )


def test_a_batch_too_small_to_train_on_is_scored_with_the_saved_model(
    spark, linked_warehouse, isolate
) -> None:
    cfg, storage = isolate(linked_warehouse[0])  # holds the model the full batch trained
    tables = ("bronze/dukcapil_penduduk", *REGISTRIES)
    for table in tables:
        _rewrite(storage, table, lambda rows: rows.where(F.xxhash64(*rows.columns[:2]) % 20 == 0))
    records = sum(storage.read(t).count() for t in tables)
    assert records < cfg.linkage.min_training_records

    figures = link(spark, cfg, storage)
    assert figures["training"] == [
        f"{records} records (< min_training_records): scored with the saved model"
    ]
    assert storage.read("gold/link_individu").count() == records
