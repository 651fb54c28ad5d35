"""Rank and allocate the small linked delivery with the trained PMT, for two periods."""

from __future__ import annotations

import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ranked(ranked_warehouse):
    """2025Q1 ranked and allocated: (config, storage, rank figures, allocation figures)."""
    return ranked_warehouse


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


def test_each_family_desil_is_explained_by_its_top_factors(ranked):
    cfg, storage, _, _ = ranked
    factors = storage.read("gold/peringkat_faktor").where("periode = '2025Q1'")
    assert factors.columns == ["periode", "dtsen_keluarga_id", "rank", "feature", "contribution"]
    families = storage.read("gold/keluarga").select("dtsen_keluarga_id")
    assert factors.join(families, "dtsen_keluarga_id", "left_anti").isEmpty()
    per_family = factors.groupBy("dtsen_keluarga_id").agg(
        F.count("*").alias("n"),
        F.max("rank").alias("last"),
        F.min(F.abs("contribution")).alias("smallest"),
    )
    top = cfg.ranking.factors_top
    assert per_family.where(f"n > {top} OR last <> n").isEmpty()  # ranks 1..n, n <= top
    assert per_family.count() == families.count()
    # Ranks follow the absolute contribution, largest first.
    w = Window.partitionBy("dtsen_keluarga_id").orderBy("rank")
    ordered = factors.withColumn("prev", F.lag(F.abs("contribution")).over(w))
    assert ordered.where(F.col("prev") < F.abs("contribution")).isEmpty()
    features = set(cfg.feature_spec().columns)
    assert {r[0] for r in factors.select("feature").distinct().collect()} <= features


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
    selected = storage.read("gold/keputusan_program").where("periode = '2025Q1' AND terpilih")
    # A kab's own selection stays within its quota; the national pass adds places that
    # other kabs left empty, as many as it reports.
    national = F.col("alasan") == "REDISTRIBUSI_NASIONAL"
    over = (
        selected.where(~national)
        .groupBy("program", "kode_kab")
        .count()
        .join(kuota.where("periode = '2025Q1'"), ["program", "kode_kab"])
        .where(F.col("count") > F.col("kuota"))
    )
    assert over.isEmpty()
    moved = {
        r["program"]: r["count"]
        for r in selected.where(national).groupBy("program").count().collect()
    }
    assert moved == {
        p["program"]: p["redistribusi"] for p in allocation_figures["program"] if p["redistribusi"]
    }
    pbi = chosen.where("program = 'PBI'")
    assert pbi.where(F.col("dtsen_individu_id").isNull()).isEmpty()


def test_movement_report_between_two_periods(spark, ranked, trained_pmt, mlflow_store, isolate):
    """2025Q2 ranked and allocated for real in a copy of the warehouse, with every admin
    rule reversed (a family with a car, high PLN power or a wage above the UMP now ranks
    poorer, by twice the shift): families move into and out of the programs, and the
    report must match a direct comparison of the two periods' published tables."""
    from chispa import assert_df_equality

    from jobs.allocate import run as allocation
    from jobs.movement import run as movement
    from jobs.rank import run as rank
    from ranking.adjustments import AdjustmentRule

    shared, _, _, _ = ranked
    cfg, storage = isolate(shared, mlflow_store)
    rules = [
        AdjustmentRule(r.code, r.signal, r.above, -2 * r.shift) for r in cfg.ranking.adjustments
    ]
    q2 = cfg.model_copy(
        update={
            "ranking": cfg.ranking.model_copy(update={"periode": "2025Q2", "adjustments": rules})
        }
    )
    rank(spark, q2, storage)
    allocation(spark, q2, storage)
    report = movement(spark, q2, storage)

    assert (report["dari"], report["ke"]) == ("2025Q1", "2025Q2")
    peringkat = storage.read("gold/peringkat")
    before = peringkat.where("periode = '2025Q1'").select(
        "dtsen_keluarga_id", F.col("desil_nasional").alias("desil_lama")
    )
    after = peringkat.where("periode = '2025Q2'").select(
        "dtsen_keluarga_id", F.col("desil_nasional").alias("desil_baru")
    )
    direct = (
        before.join(after, "dtsen_keluarga_id", "full")
        .groupBy("desil_lama", "desil_baru")
        .agg(F.count(F.lit(1)).alias("jumlah_keluarga"))
    )
    reported = storage.read("gold/laporan_transisi_desil").where("ke = '2025Q2'")
    assert_df_equality(
        reported.select("desil_lama", "desil_baru", "jumlah_keluarga"),
        direct,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    moved = sum(
        r["jumlah_keluarga"] for r in report["transisi"] if r["desil_lama"] != r["desil_baru"]
    )
    assert moved > 0
    penerima = storage.read("gold/penerima_program")

    def units(periode: str):
        # EXCEPT treats nulls as equal: a family program's null person id matches.
        return penerima.where(F.col("periode") == periode).select(
            "program", "dtsen_keluarga_id", "dtsen_individu_id"
        )

    entries = units("2025Q2").subtract(units("2025Q1")).groupBy("program").count()
    exits = units("2025Q1").subtract(units("2025Q2")).groupBy("program").count()
    counted = {
        (r["program"], r["arah"]): r["jumlah"]
        for r in storage.read("gold/laporan_mutasi_program")
        .where("ke = '2025Q2'")
        .groupBy("program", "arah")
        .agg(F.sum("jumlah").alias("jumlah"))
        .collect()
    }
    expected = {(r["program"], "MASUK"): r["count"] for r in entries.collect()}
    expected |= {(r["program"], "KELUAR"): r["count"] for r in exits.collect()}
    assert counted == expected and counted
    assert report["versi"]["gold/peringkat"] == storage.version("gold/peringkat")


def test_an_old_period_is_reproduced_from_its_manifest(spark, ranked, isolate):
    """After link publishes a different ``gold/keluarga`` (a tenth of families gone),
    ``rank --reproduce`` ranks 2025Q1 again from the versions and model its manifest
    pinned, and gets the same rows back."""
    from chispa import assert_df_equality

    from dtsen.cli import recorded
    from dtsen.storage.manifest import manifest_of
    from jobs.rank import run as rank

    shared, _, _, _ = ranked
    cfg, storage = isolate(shared)
    first = recorded(rank, spark, cfg, storage)
    pinned = manifest_of(storage, "rank", "2025Q1")["dibaca"]["gold/keluarga"]
    published = storage.read("gold/peringkat").where("periode = '2025Q1'")
    original = spark.createDataFrame(published.collect(), published.schema)

    storage.begin("link")  # a later, complete link run with fewer families
    fewer = storage.read("gold/keluarga").where(F.xxhash64("dtsen_keluarga_id") % 10 != 0)
    storage.write(spark.createDataFrame(fewer.collect(), fewer.schema), "gold/keluarga")
    storage.finish()
    assert storage.read("gold/keluarga").count() < original.count()

    again = recorded(rank, spark, cfg, storage, reproduce=True)
    assert again["model_uri"] == first["model_uri"] == "models:/dtsen-pmt/1"
    assert manifest_of(storage, "rank", "2025Q1")["dibaca"]["gold/keluarga"] == pinned
    assert_df_equality(
        storage.read("gold/peringkat").where("periode = '2025Q1'"),
        original,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_the_ranked_register_is_scored_against_truth_beside_the_wls_baseline(
    spark, ranked, mlflow_store, isolate
):
    import mlflow

    from jobs.evaluate_pmt import run as evaluate

    shared, _, _, _ = ranked
    cfg, storage = isolate(shared, mlflow_store)
    figures = evaluate(spark, cfg, storage)
    rows = {(r["peringkat"], r["relasi"]): r for r in figures["rows"]}
    rankings = {p for p, _ in rows}
    assert {"desil", "skor", "skor_model", "skor_wls", "oracle"} <= rankings
    metrics = ("exclusion_error_40", "inclusion_error_40", "exclusion_error_50")
    ranked_families = storage.read("gold/peringkat").where("periode = '2025Q1'").count()
    for name in rankings:
        overall = rows[(name, "SEMUA")]
        parts = [r for (p, relasi), r in rows.items() if p == name and relasi != "SEMUA"]
        # Every ranked family of the synthetic delivery has a true household.
        assert overall["keluarga"] == sum(r["keluarga"] for r in parts) == ranked_families
        assert all(0.0 <= overall[m] <= 1.0 for m in metrics), name
    logged = mlflow.MlflowClient(cfg.tracking_uri).get_run(figures["run_id"]).data.metrics
    for name in ("desil", "skor_wls", "oracle"):
        value = rows[(name, "SEMUA")]["exclusion_error_40"]
        assert logged[f"register_{name}_SEMUA_exclusion_error_40"] == pytest.approx(value)
