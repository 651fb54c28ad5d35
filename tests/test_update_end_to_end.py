"""A quarter's update applied for real to the small ranked register: ingest, linkage with
the saved model, ID persistence and history, field work, re-rank and re-allocation."""

from __future__ import annotations

import pytest
from conftest import apply_update
from pyspark.sql import functions as F

from dtsen.io.delivery import read_truth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def updated(updated_warehouse):
    return updated_warehouse


def test_every_record_of_the_first_period_keeps_its_id_or_has_an_event(updated):
    _, storage, before, figures, _, periode = updated
    now = storage.read("gold/link_individu")
    old = before["link_individu"].select(
        "sumber", "id_record", F.col("dtsen_individu_id").alias("lama")
    )
    joined = old.join(now, ["sumber", "id_record"], "left")
    assert joined.where(F.col("dtsen_individu_id").isNull()).count() == 0
    changed = joined.where(F.col("lama") != F.col("dtsen_individu_id"))
    events = storage.read("gold/riwayat_id").where(
        (F.col("periode") == periode) & (F.col("entitas") == "individu")
    )
    gabung = events.where(F.col("peristiwa") == "GABUNG").select(
        F.col("id_lama").alias("lama"), "id_baru"
    )
    unexplained = changed.join(
        gabung,
        (changed.lama == gabung.lama) & (changed.dtsen_individu_id == gabung.id_baru),
        "left_anti",
    )
    assert unexplained.count() == 0
    assert changed.count() / old.count() <= 0.001
    assert figures["rekaman_id_berubah"] == changed.count()


def test_update_records_of_registered_persons_attach_to_their_id(spark, updated, small_delivery):
    from linkage.evaluate import attachment

    cfg, storage, before, _, _, _ = updated
    figures = attachment(
        before["link_individu"],
        read_truth(spark, str(small_delivery), "individu"),
        read_truth(spark, cfg.delivery, "individu"),
        storage.read("gold/link_individu"),
    )
    typed = read_truth(spark, cfg.delivery, "individu").where(F.col("sumber") != "dukcapil")
    # Rows quarantined at ingest (e.g. a wrong column count) are accounted there, not linked.
    quarantined = sum(
        storage.read(f"quarantine/{t}").count() for t in ("groundcheck_individu", "usulan_individu")
    )
    assert figures["rekaman"] == typed.count() - quarantined
    assert figures["presisi"] >= 0.98, figures
    assert figures["recall"] >= 0.97, figures
    assert figures["baru_benar"] is None or figures["baru_benar"] >= 0.95, figures


def test_every_visit_proposal_and_objection_has_an_outcome(spark, updated):
    from dtsen.storage.bronze import latest_batch, read_bronze

    cfg, storage, _, _, _, periode = updated
    batch = latest_batch(storage, cfg)
    for source, table, key in (
        ("groundcheck_keluarga", "gold/groundcheck", "id_gc"),
        ("usulan_keluarga", "gold/usulan", "id_usulan"),
        ("sanggahan_sanggahan", "gold/sanggahan", "id_sanggahan"),
    ):
        delivered = read_bronze(storage, source, batch).select(key)
        out = storage.read(table).where(F.col("periode") == periode)
        assert out.count() == delivered.count(), table
        assert out.select(key).distinct().count() == delivered.count(), table
    usulan = storage.read("gold/usulan").where(F.col("periode") == periode)
    assert usulan.where(F.col("dtsen_keluarga_id").isNull()).count() == 0
    statuses = {r[0] for r in usulan.select("status").distinct().collect()}
    assert statuses <= {"SUDAH_ADA", "BARU_TERVERIFIKASI", "BARU_MENUNGGU_GC", "DITOLAK"}


def test_the_update_period_is_ranked_allocated_and_reported(updated):
    _, storage, _, _, report, periode = updated
    peringkat = storage.read("gold/peringkat")
    families = storage.read("gold/keluarga")
    assert peringkat.where(F.col("periode") == periode).count() == families.count()
    verified = storage.read("gold/usulan").where(
        (F.col("periode") == periode) & (F.col("status") == "BARU_TERVERIFIKASI")
    )
    ranked_new = verified.join(
        peringkat.where(F.col("periode") == periode), "dtsen_keluarga_id", "left_semi"
    )
    assert ranked_new.count() == verified.select("dtsen_keluarga_id").distinct().count()
    assert (report["dari"], report["ke"]) == ("2025Q1", periode)


def test_applying_the_same_update_twice_is_a_no_op(spark, updated):
    cfg, storage, _, _, _, periode = updated
    tables = (
        "gold/link_individu",
        "gold/link_keluarga",
        "gold/riwayat_id",
        "gold/usulan",
        "gold/groundcheck",
        "gold/sanggahan",
    )
    first = {t: storage.read(t).localCheckpoint() for t in tables}
    apply_update(spark, cfg, storage, periode)
    for table in tables:
        again = storage.read(table)
        assert again.count() == first[table].count(), table
        columns = [c for c in again.columns if again.schema[c].dataType.typeName() != "map"]
        assert again.select(*columns).exceptAll(first[table].select(*columns)).count() == 0, table
