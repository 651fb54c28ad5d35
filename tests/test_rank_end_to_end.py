"""Rank and allocate the small linked delivery with the trained PMT, for two periods."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ranked(spark, linked_warehouse, trained_pmt):
    """2025Q1 ranked and allocated: (config, storage, rank figures, allocation figures)."""
    from jobs.allocate import allocation
    from jobs.rank import rank

    _, storage, _ = linked_warehouse
    cfg, _ = trained_pmt
    return cfg, storage, rank(spark, cfg, storage), allocation(spark, cfg, storage)


def test_every_family_is_ranked_with_the_champion(ranked):
    _, storage, rank_figures, _ = ranked
    peringkat = storage.read("gold/peringkat").where("periode = '2025Q1'")
    families = storage.read("gold/keluarga")
    assert peringkat.count() == families.count()
    assert peringkat.join(families, "dtsen_keluarga_id", "left_anti").isEmpty()
    assert {r[0] for r in peringkat.select("model_uri").distinct().collect()} == {
        "models:/dtsen-pmt/1"
    }
    people = [r["jiwa"] for r in rank_figures["desil"]]
    assert [r["desil_nasional"] for r in rank_figures["desil"]] == list(range(1, 11))
    # Population deciles: each holds 10% of people, up to one family's size.
    largest = families.agg(F.max("jumlah_anggota")).first()[0]
    assert all(abs(n - sum(people) / 10) <= largest for n in people)


def test_kelayakan_accounts_for_every_family_and_person(ranked):
    _, storage, _, _ = ranked
    kelayakan = storage.read("gold/kelayakan").where("periode = '2025Q1'")
    family_rows = kelayakan.where(F.col("dtsen_individu_id").isNull())
    assert family_rows.count() == storage.read("gold/keluarga").count()
    persons = storage.read("gold/individu").where(F.col("dtsen_keluarga_id").isNotNull())
    assert kelayakan.where(F.col("dtsen_individu_id").isNotNull()).count() == persons.count()
    # Not eligible exactly when there is a reason.
    assert kelayakan.where(F.col("layak") == (F.size("alasan") > 0)).isEmpty()


def test_quotas_and_recipients_add_up(ranked):
    _, storage, _, allocation_figures = ranked
    kuota = storage.read("gold/kuota").where("periode = '2025Q1'")
    chosen = storage.read("gold/penerima_program").where("periode = '2025Q1'")
    for program in allocation_figures["program"]:
        name = program["program"]
        assert (
            kuota.where(F.col("program") == name).agg(F.sum("kuota")).first()[0]
            == (program["kuota"])
        )
        assert chosen.where(F.col("program") == name).count() <= program["kuota"]
    over = (
        storage.read("gold/keputusan_program")
        .where("periode = '2025Q1' AND terpilih")
        .groupBy("program", "kode_kab")
        .count()
        .join(kuota.where("periode = '2025Q1'"), ["program", "kode_kab"])
        .where(F.col("count") > F.col("kuota"))
    )
    assert over.isEmpty()
    pbi = chosen.where("program = 'PBI'")
    assert pbi.where(F.col("dtsen_individu_id").isNull()).isEmpty()


def test_movement_report_between_two_periods(spark, ranked):
    from jobs.movement import movement

    cfg, storage, _, _ = ranked
    # A second period as a copy of the first (ranking it again costs minutes): the
    # report must then show every family on the diagonal and no program movement.
    for table in ("gold/peringkat", "gold/penerima_program", "gold/keputusan_program"):
        copy = (
            storage.read(table).where("periode = '2025Q1'").withColumn("periode", F.lit("2025Q2"))
        )
        storage.write(copy, table, replace_where={"periode": "2025Q2"})
    report = movement(spark, cfg, storage, "2025Q1", "2025Q2")
    families = storage.read("gold/keluarga").count()
    assert sum(r["jumlah_keluarga"] for r in report["transisi"]) == families
    assert all(r["desil_lama"] == r["desil_baru"] for r in report["transisi"])
    assert report["program"] == []
    assert report["versi"]["gold/peringkat"] == storage.version("gold/peringkat")
