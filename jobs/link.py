"""Link persons and families across Dukcapil, Regsosek, P3KE and DTKS.

    python -m jobs.link [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

Reads the newest ingested batch from ``bronze/``, and writes ``gold/link_individu``,
``gold/link_keluarga``, ``gold/individu``, ``gold/keluarga``, ``gold/review_pasangan``
and ``gold/relasi``; the trained Splink model (versioned JSON) and its charts go to
``linkage.model_dir``. Prints the comparison count per blocking rule and the national
relasi table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import cli
from jobs.config import Config
from jobs.ingest import latest_batch, read_bronze
from jobs.linkage_io import load_person_sources, save_linkage_artefacts
from jobs.session import build_session
from jobs.storage import Storage, open_storage
from linkage import cluster, family, golden, model, nik, padan, records
from linkage.variables import DTKS_INDICATORS, FAMILY_VARIABLES

log = logging.getLogger("dtsen.link")


def canonical_records(storage: Storage, cfg: Config, batch: str) -> DataFrame:
    """Every source's persons, standardised, NIK/KK decoded, padan status set."""
    sources = load_person_sources(cfg)
    parts = []
    for sumber, spec in sources.items():
        persons = read_bronze(storage, spec.table, batch)
        families = read_bronze(storage, spec.family_table, batch) if spec.family_table else None
        parts.append(records.source_records(sumber, spec, persons, families))
    raw = reduce(DataFrame.unionByName, parts)
    wilayah = read_bronze(storage, "referensi_wilayah", batch)
    kecamatan = wilayah.where(F.col("tingkat") == "kec").select(F.col("kode").alias("kode_kec"))
    year = date.fromisoformat(cfg.generate.reference_date).year
    decoded = nik.decode(
        records.standardise(raw), "nik_asli", "nik", kecamatan, year, female_offset=True
    )
    decoded = nik.decode(decoded, "kk_asli", "kk", kecamatan, year, female_offset=False)
    return padan.padan(decoded)


def main(argv: Sequence[str] | None = None) -> None:
    args = cli.parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = cli.config_from(args)
    spark = build_session(cfg)
    storage = open_storage(spark, cfg)
    link(spark, cfg, storage)


def link(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, object]:
    """Run the whole linkage; returns the figures the job prints (for tests and notebooks)."""
    from splink import Linker, SparkAPI

    started = time.monotonic()
    batch = latest_batch(storage, cfg)
    lk = cfg.linkage
    recs = canonical_records(storage, cfg, batch).persist(StorageLevel.MEMORY_AND_DISK)
    n_records = recs.count()
    log.info("records: %d from batch %s (%.0f s)", n_records, batch, time.monotonic() - started)

    # Deterministic pass: trusted NIKs.
    nik_edges = padan.nik_edges(recs).persist(StorageLevel.MEMORY_AND_DISK)
    resolved = nik_edges.select(F.col("uid_l").alias("uid")).distinct()
    anchor = (F.col("sumber") == "dukcapil") & (F.col("status_dukcapil") != "GANDA")
    recs = recs.join(resolved.withColumn("_resolved", F.lit(True)), "uid", "left").withColumn(
        "terselesaikan", anchor | F.coalesce("_resolved", F.lit(False))
    )
    recs = recs.withColumn("anchor", anchor).drop("_resolved")
    recs = recs.checkpoint()
    n_resolved = recs.where("terselesaikan AND sumber != 'dukcapil'").count()
    log.info("deterministic pass: %d source records resolved by NIK", n_resolved)

    # Probabilistic pass: Splink on Spark, scoring pairs with an unresolved record.
    db_api = SparkAPI(spark_session=spark)
    table = model.model_input(recs)
    population = recs.where(anchor).count()
    registered = db_api.register(table)
    counts = model.comparison_counts(registered)
    for row in counts:
        log.info("blocking rule %s: %d comparisons", row["rule"], row["comparisons"])
    storage.write(
        spark.createDataFrame(counts, "rule string, comparisons long"), "gold/linkage_blocking"
    )
    linker = Linker(registered, model.settings(population), log_level=logging.WARNING)
    training = table
    if lk.training_fraction < 1.0:
        keep = F.abs(F.hash("kode_kab")) % 1000 < int(lk.training_fraction * 1000)
        training = table.where(keep)
        trainer = Linker(
            db_api.register(training), model.settings(population), log_level=logging.WARNING
        )
        model.train(trainer, lk.u_max_pairs, lk.seed)
        linker = Linker(
            db_api.register(table), trainer.misc.save_model_to_json(), log_level=logging.WARNING
        )
    else:
        model.train(linker, lk.u_max_pairs, lk.seed)
    predictions = linker.inference.predict(threshold_match_probability=lk.review_threshold)
    scored = predictions.as_spark_dataframe().persist(StorageLevel.MEMORY_AND_DISK)
    probabilistic = scored.where(F.col("match_probability") >= lk.match_threshold).select(
        F.col("unique_id_l").alias("uid_l"),
        F.col("unique_id_r").alias("uid_r"),
        "match_probability",
        F.lit(cluster.PROBABILISTIC).alias("metode"),
    )
    edges = nik_edges.select(
        "uid_l", "uid_r", F.lit(1.0).alias("match_probability"), F.lit(cluster.NIK).alias("metode")
    ).unionByName(probabilistic)

    nodes = recs.select(F.col("uid").alias("unique_id"), "anchor")
    assigned = cluster.cluster_persons(db_api, nodes, edges, lk.id_salt).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    linked = recs.join(assigned.withColumnRenamed("unique_id", "uid"), "uid").checkpoint()
    link_individu = linked.select(
        "sumber", "id_record", "dtsen_individu_id", "match_probability", "metode"
    )
    storage.write(link_individu, "gold/link_individu")
    review = scored.where(F.col("match_probability") < lk.match_threshold).select(
        "unique_id_l", "unique_id_r", "sumber_l", "sumber_r", "match_weight", "match_probability"
    )
    storage.write(review, "gold/review_pasangan")

    # Families.
    family_tables = {
        s: read_bronze(storage, spec, batch)
        for s, spec in (("regsosek", "regsosek_keluarga"), ("p3ke", "p3ke_keluarga"))
    }
    source_families = (
        linked.select("sumber", "id_keluarga")
        .unionByName(
            family_tables["regsosek"].select(F.lit("regsosek").alias("sumber"), "id_keluarga")
        )
        .unionByName(
            family_tables["p3ke"].select(
                F.lit("p3ke").alias("sumber"), F.col("id_keluarga_p3ke").alias("id_keluarga")
            )
        )
        .where(F.col("id_keluarga").isNotNull())
        .distinct()
    )
    fam = family.assign_families(db_api, linked, source_families, lk.id_salt)
    members = linked.groupBy("sumber", "id_keluarga").agg(F.count(F.lit(1)).alias("anggota"))
    link_keluarga = fam.join(members, ["sumber", "id_keluarga"], "left").fillna(0, ["anggota"])
    link_keluarga = link_keluarga.persist(StorageLevel.MEMORY_AND_DISK)
    storage.write(link_keluarga.drop("anggota"), "gold/link_keluarga")
    relasi = family.relasi(link_keluarga)

    person_family = _person_family(linked, link_keluarga)
    gold_persons = golden.golden_persons(linked, person_family)
    in_dtsen = relasi.select("dtsen_keluarga_id")
    gold_persons = gold_persons.join(in_dtsen, "dtsen_keluarga_id", "left_semi").unionByName(
        gold_persons.where("di_regsosek OR di_p3ke OR di_dtks").join(
            in_dtsen, "dtsen_keluarga_id", "left_anti"
        )
    )
    storage.write(gold_persons, "gold/individu")
    dtks_families = (
        read_bronze(storage, "dtks_dtks", batch)
        .groupBy("ID_KELUARGA")
        .agg(
            *[
                F.first(c, ignorenulls=True).alias(c)
                for c in ("NOKK", "KODE_WILAYAH", *DTKS_INDICATORS)
            ]
        )
    )
    gold_families = golden.golden_families(
        link_keluarga,
        relasi,
        storage.read("gold/individu"),
        family_tables["regsosek"],
        family_tables["p3ke"],
        dtks_families,
        list(FAMILY_VARIABLES),
        list(DTKS_INDICATORS),
    )
    storage.write(gold_families, "gold/keluarga")
    table_relasi = family.relasi_table(storage.read("gold/keluarga"))
    storage.write(table_relasi, "gold/relasi")

    save_linkage_artefacts(spark, cfg, linker, scored, assigned)
    figures = {
        "records": n_records,
        "resolved_by_nik": n_resolved,
        "comparisons": counts,
        "relasi": [r.asDict() for r in table_relasi.collect()],
        "seconds": round(time.monotonic() - started, 1),
    }
    print(format_figures(figures))  # the job's result, for the person who ran it
    for frame in (recs, nik_edges, scored, assigned, link_keluarga):
        frame.unpersist()
    return figures


def _person_family(linked: DataFrame, link_keluarga: DataFrame) -> DataFrame:
    """Each person's family: their Dukcapil KK's, else their first registry family's."""
    order = F.array_position(F.array(*[F.lit(s) for s in golden.PRECEDENCE]), F.col("sumber"))
    candidates = linked.join(link_keluarga, ["sumber", "id_keluarga"]).select(
        "dtsen_individu_id",
        F.struct(
            F.when(F.col("anchor"), 0).otherwise(order).alias("rank"),
            F.col("dtsen_keluarga_id").alias("id"),
        ).alias("choice"),
    )
    return candidates.groupBy("dtsen_individu_id").agg(
        F.min("choice").getField("id").alias("dtsen_keluarga_id")
    )


def format_figures(figures: dict[str, object]) -> str:
    lines = [f"records {figures['records']}, resolved by NIK {figures['resolved_by_nik']}"]
    lines.append("comparisons per blocking rule:")
    lines += [f"  {c['rule']:<16} {c['comparisons']:>12}" for c in figures["comparisons"]]
    lines.append(f"{'relasi':<8} {'keluarga':>10} {'persen':>8}")
    lines += [
        f"{r['relasi']:<8} {r['keluarga']:>10} {r['persen']:>8.2f}" for r in figures["relasi"]
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
