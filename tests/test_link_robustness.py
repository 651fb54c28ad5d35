"""Deliveries the contract allows but the default one never shows: no registry NIK at
all, no KK and only default birth dates, a single source, and a batch too small to train
on."""

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


KK_COLUMNS = {
    "bronze/dukcapil_penduduk": "NO_KK",
    "bronze/regsosek_keluarga": "no_kk",
    "bronze/p3ke_keluarga": "no_kk",
    "bronze/dtks_dtks": "NOKK",
}
DATE_COLUMNS = {
    "bronze/dukcapil_penduduk": "TGL_LHR",
    "bronze/regsosek_individu": "tanggal_lahir",
    "bronze/p3ke_individu": "tanggal_lahir",
    "bronze/dtks_dtks": "TGL_LAHIR",
}


def _person_records(storage) -> int:
    return sum(storage.read(t).count() for t in ("bronze/dukcapil_penduduk", *REGISTRIES))


def test_a_delivery_without_kk_and_with_only_default_birth_dates_still_links(
    spark, small_warehouse, isolate
) -> None:
    """No source gives a KK, and every birth date is the 1 January of its year (the day
    and month never collected): the KK and date comparisons carry no evidence."""
    cfg, storage = isolate(small_warehouse[0])
    for table, column in KK_COLUMNS.items():
        blank = F.lit(None).cast("string")
        _rewrite(storage, table, lambda rows, c=column, b=blank: rows.withColumn(c, b))
    for table, column in DATE_COLUMNS.items():
        _rewrite(
            storage,
            table,
            lambda rows, c=column: rows.withColumn(c, F.make_date(F.year(c), F.lit(1), F.lit(1))),
        )

    figures = link(spark, cfg, storage)
    links = storage.read("gold/link_individu")
    assert links.count() == _person_records(storage)
    assert links.select("sumber", "id_record").distinct().count() == links.count()
    metrics = {(r["entitas"], r["tingkat"]): r for r in evaluation(spark, cfg, storage)}
    assert metrics[("individu", "keseluruhan")]["f1"] >= 0.95, metrics
    assert figures["resolved_by_nik"] > 0  # the NIK still resolves what it can
    families = storage.read("gold/keluarga")
    assert families.where("no_kk IS NOT NULL").isEmpty()
    assert families.count() > 0


def test_a_delivery_of_a_single_registry_links_it_alone(spark, small_warehouse, isolate) -> None:
    """Only Regsosek delivered (Dukcapil, P3KE and DTKS empty): no padan, no NIK anchor,
    no cross-source pair; every record still gets one ID and every family relasi R."""
    cfg, storage = isolate(small_warehouse[0])
    for table in (
        "bronze/dukcapil_penduduk",
        "bronze/p3ke_individu",
        "bronze/p3ke_keluarga",
        "bronze/dtks_dtks",
    ):
        _rewrite(storage, table, lambda rows: rows.limit(0))

    figures = link(spark, cfg, storage)
    links = storage.read("gold/link_individu")
    assert links.count() == storage.read("bronze/regsosek_individu").count()
    assert {r[0] for r in links.select("sumber").distinct().collect()} == {"regsosek"}
    assert {r["relasi"] for r in figures["relasi"]} == {"R"}
    assert storage.read("gold/keluarga").count() == (
        storage.read("bronze/regsosek_keluarga").count()
    )


def test_a_batch_too_small_to_train_on_is_scored_with_the_saved_model(
    spark, linked_warehouse, isolate
) -> None:
    cfg, storage = isolate(linked_warehouse[0])  # holds the model the full batch trained
    tables = ("bronze/dukcapil_penduduk", *REGISTRIES)
    for table in tables:
        _rewrite(storage, table, lambda rows: rows.where(F.xxhash64(*rows.columns[:2]) % 20 == 0))
    records = _person_records(storage)
    assert records < cfg.linkage.min_training_records

    figures = link(spark, cfg, storage)
    assert figures["training"] == [
        f"{records} records (< min_training_records): scored with the saved model"
    ]
    assert storage.read("gold/link_individu").count() == records
