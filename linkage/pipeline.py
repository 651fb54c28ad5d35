"""The link sequence as DataFrame-in, DataFrame-out steps.

canonical records -> deterministic NIK pass -> Splink (only pairs with an unresolved
record) -> anchored person clusters -> families -> golden persons and families -> relasi.

The caller (``jobs/link.py``) reads the bronze tables and writes what :func:`link`
returns; nothing here touches storage. Intermediate frames that several outputs read
are persisted or checkpointed here (the checkpoint directory is the session's scratch),
and :meth:`LinkResult.release` frees them once the outputs are written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from delivery.variables import DTKS_INDICATORS, FAMILY_VARIABLES
from dtsen.progress import Progress, format_steps
from linkage import cluster, family, golden, model, nik, padan, records, registry
from linkage.ids import stable_id
from linkage.records import PersonSource

log = logging.getLogger("dtsen.link")


@dataclass(frozen=True)
class LinkParams:
    """The linkage settings a run needs (``linkage:`` in the profile)."""

    match_threshold: float
    review_threshold: float
    u_max_pairs: float
    training_fraction: float
    seed: int
    id_salt: str
    reference_year: int
    """The extract's year: a NIK's 2-digit birth year is the latest century not after it."""
    min_training_records: int = 1000
    """Fewer records than this are scored with the saved model, if any, not trained on."""
    max_block_pairs: int = 5_000_000
    """Blocks over this many pairs are skipped by their rule (``model.capped``)."""
    periode: str = "2025Q1"
    """The period the batch builds: IDs minted now are logged as born in it."""


@dataclass(frozen=True)
class LinkInputs:
    """One ingested batch, as the linkage reads it."""

    sources: dict[str, PersonSource]
    persons: dict[str, DataFrame]
    """Per source, its person table (the mapping's ``table``)."""
    source_families: dict[str, DataFrame]
    """Per source with a ``family_table``: that table (joined for family fields)."""
    wilayah: DataFrame
    regsosek_keluarga: DataFrame
    p3ke_keluarga: DataFrame
    dtks: DataFrame
    saved_model: dict[str, Any] | None = None
    """The previous run's Splink model (``save_model_to_json``), if there is one."""


@dataclass
class LinkResult:
    """Every output table of the link stage, plus the trained model and figures."""

    tables: dict[str, DataFrame]
    """``<layer>/<name>`` -> frame, in the order they should be written."""
    period_tables: dict[str, DataFrame]
    """Tables partitioned by ``periode`` (the ID log), as an update writes them too."""
    linker: Any
    scored: DataFrame
    assigned: DataFrame
    figures: dict[str, Any]
    _cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        """Unpersist the intermediates (after the outputs are written)."""
        for frame in self._cached:
            frame.unpersist()


def raw_records(
    sources: dict[str, PersonSource],
    persons: dict[str, DataFrame],
    families: dict[str, DataFrame],
) -> DataFrame:
    """The named sources' persons in the raw canonical shape, with ``uid`` and
    ``sidik_mentah`` (:func:`linkage.records.source_records`)."""
    parts = [
        records.source_records(sumber, spec, persons[sumber], families.get(sumber))
        for sumber, spec in sources.items()
    ]
    return reduce(DataFrame.unionByName, parts)


def decoded_records(raw: DataFrame, wilayah: DataFrame, reference_year: int) -> DataFrame:
    """Raw canonical records standardised, NIK and KK decoded (padan not yet set)."""
    kecamatan = wilayah.where(F.col("tingkat") == "kec").select(F.col("kode").alias("kode_kec"))
    out = nik.decode(
        records.standardise(raw), "nik_asli", "nik", kecamatan, reference_year, female_offset=True
    )
    return nik.decode(out, "kk_asli", "kk", kecamatan, reference_year, female_offset=False)


def canonical_records(inputs: LinkInputs, reference_year: int) -> DataFrame:
    """Every source's persons, standardised, NIK/KK decoded, padan status set."""
    raw = raw_records(inputs.sources, inputs.persons, inputs.source_families)
    return padan.padan(decoded_records(raw, inputs.wilayah, reference_year))


def _deterministic(recs: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Trusted-NIK edges, and the records flagged ``anchor`` / ``terselesaikan``."""
    nik_edges = padan.nik_edges(recs).persist(StorageLevel.MEMORY_AND_DISK)
    resolved = nik_edges.select(F.col("uid_l").alias("uid")).distinct()
    anchor = (F.col("sumber") == "dukcapil") & (F.col("status_dukcapil") != "GANDA")
    flagged = (
        recs.join(resolved.withColumn("_resolved", F.lit(True)), "uid", "left")
        .withColumn("terselesaikan", anchor | F.coalesce("_resolved", F.lit(False)))
        .withColumn("anchor", anchor)
        .drop("_resolved")
    )
    return nik_edges, flagged.checkpoint()


def _trained_linker(
    db_api: Any,
    table: DataFrame,
    n_records: int,
    population: int,
    params: LinkParams,
    saved: dict[str, Any] | None,
) -> tuple[Any, list[str]]:
    """A Splink linker over ``table`` with trained m and u, and what training could not do.

    With ``training_fraction`` < 1 the model is trained on whole kab/kota (so true
    matches stay together) and then applied to every record. A batch too small to train
    on (under ``min_training_records``), or one on which no EM pass found pairs, is
    scored with ``saved``, the previous run's model, when there is one: EM on a handful
    of pairs learns noise. The notes name skipped passes, a guessed prior and every
    level left at Splink's defaults.
    """
    from splink import Linker

    def linker(frame: DataFrame, model_settings: Any) -> Any:
        return Linker(db_api.register(frame), model_settings, log_level=logging.INFO)

    if saved is not None and n_records < params.min_training_records:
        note = f"{n_records} records (< min_training_records): scored with the saved model"
        return linker(table, saved), [note]
    keep = F.abs(F.hash("kode_kab")) % 1000 < int(params.training_fraction * 1000)
    subset = table if params.training_fraction >= 1.0 else table.where(keep)
    registered = db_api.register(subset)
    prior, guessed = model.prior(registered, n_records / max(population, 1))
    trainer = Linker(registered, model.settings(population, prior), log_level=logging.INFO)
    skipped = model.train(trainer, params.u_max_pairs, params.seed)
    if saved is not None and len(skipped) == len(model.TRAINING_RULES):
        return linker(table, saved), [*skipped, "no EM pass trained: scored with the saved model"]
    trained = trainer.misc.save_model_to_json()
    notes = [n for n in [guessed, *skipped] if n] + model.untrained(trained)
    if params.training_fraction >= 1.0:
        return trainer, notes
    return linker(table, trained), notes


def person_family(linked: DataFrame, link_keluarga: DataFrame) -> DataFrame:
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


def source_families(db_api: Any, inputs: LinkInputs, linked: DataFrame, salt: str) -> DataFrame:
    """``gold/link_keluarga`` with each source family's linked member count."""
    source_families = (
        linked.select("sumber", "id_keluarga")
        .unionByName(
            inputs.regsosek_keluarga.select(F.lit("regsosek").alias("sumber"), "id_keluarga")
        )
        .unionByName(
            inputs.p3ke_keluarga.select(
                F.lit("p3ke").alias("sumber"), F.col("id_keluarga_p3ke").alias("id_keluarga")
            )
        )
        .where(F.col("id_keluarga").isNotNull())
        .distinct()
    )
    fam = family.assign_families(db_api, linked, source_families, salt)
    return with_member_counts(fam, linked)


def with_member_counts(link_keluarga: DataFrame, records: DataFrame) -> DataFrame:
    """``link_keluarga`` with ``anggota``: each source family's linked member records."""
    members = records.groupBy("sumber", "id_keluarga").agg(F.count(F.lit(1)).alias("anggota"))
    return link_keluarga.join(members, ["sumber", "id_keluarga"], "left").fillna(0, ["anggota"])


def dtks_families(dtks: DataFrame) -> DataFrame:
    """DTKS holds one line per member: its family fields, once per family.

    The fields are repeated on every member's line, and a typed delivery does not always
    repeat them alike: each field is taken from the head's line (``HUB_KEL`` 1), else
    from the member with the smallest ``ID_DTKS`` that has it, so the choice does not
    depend on row order (``first`` would).
    """
    fields = ("NOKK", "KODE_WILAYAH", *DTKS_INDICATORS)
    head = F.coalesce(F.col("HUB_KEL").cast("int") == 1, F.lit(False))
    rank = F.struct((~head).alias("not_head"), F.col("ID_DTKS"))
    # min_by skips rows whose ordering is null: a field's null lines never win.
    return dtks.groupBy("ID_KELUARGA").agg(
        *[F.min_by(c, F.when(F.col(c).isNotNull(), rank)).alias(c) for c in fields]
    )


def link(db_api: Any, inputs: LinkInputs, params: LinkParams) -> LinkResult:
    """Resolve persons and families across the sources of one batch."""
    progress = Progress(inputs.wilayah.sparkSession, "link")
    with progress.step("records") as rows:
        recs = canonical_records(inputs, params.reference_year).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        n_records = rows.n = recs.count()

    with progress.step("deterministic pass") as rows:
        nik_edges, recs = _deterministic(recs)
        n_resolved = rows.n = recs.where("terselesaikan AND sumber != 'dukcapil'").count()

    with progress.step("blocking"):
        table = model.model_input(recs)
        sizes = model.blocks(table).persist(StorageLevel.MEMORY_AND_DISK)
        largest = model.block_report(sizes, params.max_block_pairs)
        if any(r["blocks_capped"] for r in largest.values()):
            table = model.capped(table, sizes, params.max_block_pairs).persist(
                StorageLevel.MEMORY_AND_DISK
            )
        sizes.unpersist()
        counts = [
            {**row, **largest[row["rule"]]}
            for row in model.comparison_counts(db_api.register(table))
        ]
    for row in counts:
        log.info(
            "blocking rule %s: %d comparisons; largest block %d pairs (%d records, key %s); "
            "capped %d blocks, %d pairs",
            row["rule"],
            row["comparisons"],
            row["largest_block_pairs"],
            row["largest_block_records"],
            row["largest_block_key"],
            row["blocks_capped"],
            row["pairs_capped"],
        )
    with progress.step("training"):
        # Without Dukcapil anchors the population is unknown: each record counts as one.
        population = recs.where("anchor").count() or n_records
        linker, training = _trained_linker(
            db_api, table, n_records, population, params, inputs.saved_model
        )
    for note in training:
        log.warning("linkage training: %s", note)
    with progress.step("prediction") as rows:
        predictions = linker.inference.predict(threshold_match_probability=params.review_threshold)
        scored = predictions.as_spark_dataframe().persist(StorageLevel.MEMORY_AND_DISK)
        rows.n = scored.count()
    probabilistic = scored.where(F.col("match_probability") >= params.match_threshold).select(
        F.col("unique_id_l").alias("uid_l"),
        F.col("unique_id_r").alias("uid_r"),
        "match_probability",
        F.lit(cluster.PROBABILISTIC).alias("metode"),
    )
    edges = nik_edges.select(
        "uid_l", "uid_r", F.lit(1.0).alias("match_probability"), F.lit(cluster.NIK).alias("metode")
    ).unionByName(probabilistic)

    nodes = recs.select(
        F.col("uid").alias("unique_id"),
        "anchor",
        registry.urutan(F.col("sumber"), F.col("anchor")).alias("urutan"),
    )
    with progress.step("clustering"):
        assigned = (
            cluster.cluster_persons(db_api, nodes, edges)
            .withColumn("dtsen_individu_id", registry.person_id(F.col("pendiri"), params.id_salt))
            .drop("pendiri")
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        linked = recs.join(assigned.withColumnRenamed("unique_id", "uid"), "uid").checkpoint()
    with progress.step("families"):
        link_keluarga = source_families(db_api, inputs, linked, params.id_salt).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        relasi = family.relasi(link_keluarga)

    with progress.step("golden records") as rows:
        in_dtsen = relasi.select("dtsen_keluarga_id")
        persons = golden.golden_persons(linked, person_family(linked, link_keluarga))
        # Persons of a family in a registry, and registry persons whose family is not.
        gold_persons = (
            persons.join(in_dtsen, "dtsen_keluarga_id", "left_semi")
            .unionByName(
                persons.where("di_regsosek OR di_p3ke OR di_dtks").join(
                    in_dtsen, "dtsen_keluarga_id", "left_anti"
                )
            )
            .checkpoint()
        )
        gold_families = golden.golden_families(
            link_keluarga,
            relasi,
            gold_persons,
            inputs.regsosek_keluarga,
            inputs.p3ke_keluarga,
            dtks_families(inputs.dtks),
            list(FAMILY_VARIABLES),
            list(DTKS_INDICATORS),
        ).checkpoint()
        rows.n = gold_families.count()
    table_relasi = family.relasi_table(gold_families)
    tables = {
        # The registry's memory for updates: every record as standardised, with its ID.
        "silver/rekaman": linked,
        "silver/tf_nama": model.name_frequencies(linked),
        "gold/link_individu": linked.select(
            "sumber",
            "id_record",
            "dtsen_individu_id",
            "match_probability",
            "metode",
            stable_id("R", F.col("uid"), params.id_salt).alias("pseudonim"),
        ),
        # Reviewers see pseudonyms (joined back through gold/link_individu by those
        # allowed to), never the record keys: a Dukcapil record's key is its NIK.
        "gold/review_pasangan": scored.where(
            F.col("match_probability") < params.match_threshold
        ).select(
            stable_id("R", F.col("unique_id_l"), params.id_salt).alias("pseudonim_l"),
            stable_id("R", F.col("unique_id_r"), params.id_salt).alias("pseudonim_r"),
            "sumber_l",
            "sumber_r",
            "match_weight",
            "match_probability",
        ),
        "gold/link_keluarga": link_keluarga.drop("anggota"),
        "gold/individu": gold_persons,
        "gold/keluarga": gold_families,
        "gold/relasi": table_relasi,
        "gold/linkage_blocking": recs.sparkSession.createDataFrame(
            counts,
            "rule string, comparisons long, largest_block_pairs long, "
            "largest_block_records long, largest_block_key string, blocks_capped long, "
            "pairs_capped long",
        ),
    }
    figures = {
        "periode": params.periode,
        "records": n_records,
        "resolved_by_nik": n_resolved,
        "comparisons": counts,
        "training": training,
        "relasi": [r.asDict() for r in table_relasi.collect()],
        "seconds": progress.elapsed(),
        "steps": progress.seconds,
    }
    return LinkResult(
        tables,
        {"gold/riwayat_id": registry.founded(linked, link_keluarga, params.periode)},
        linker,
        scored,
        assigned,
        figures,
        [recs, nik_edges, scored, assigned, link_keluarga],
    )


def format_figures(figures: dict[str, Any]) -> str:
    """The link stage's summary: records, NIK resolutions, comparisons, relasi."""
    lines = [f"records {figures['records']}, resolved by NIK {figures['resolved_by_nik']}"]
    lines.append("comparisons per blocking rule:")
    lines.append(f"  {'rule':<16} {'pairs':>12} {'largest block':>14} {'capped':>12}")
    lines += [
        f"  {c['rule']:<16} {c['comparisons']:>12} {c['largest_block_pairs']:>14} "
        f"{c['pairs_capped']:>12}"
        for c in figures["comparisons"]
    ]
    if figures["training"]:
        lines.append("training (Splink defaults or the saved model stand in):")
        lines += [f"  {note}" for note in figures["training"]]
    lines.append(f"{'relasi':<8} {'keluarga':>10} {'persen':>8}")
    lines += [
        f"{r['relasi']:<8} {r['keluarga']:>10} {r['persen']:>8.2f}" for r in figures["relasi"]
    ]
    lines.append(format_steps(figures["steps"]))
    return "\n".join(lines)
