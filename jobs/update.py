"""Apply one quarter's update delivery to the register (``shared/contract/updates.md``).

    python -m jobs.update --input UPDATE [--warehouse DIR] [--conf FILE] [--set k=v]

Ingests the update (``ingest.update_sources``: the same quarantine and row accounting as
the first period), diffs the new Dukcapil extract against the register, links only the
new records with the saved Splink model, keeps, mints and merges IDs (``gold/riwayat_id``),
turns new KKs into splits, moves or new families, attaches ground checks, proposals,
objections and reactivation requests (``gold/groundcheck``, ``gold/usulan``,
``gold/sanggahan``, ``gold/permintaan_reaktivasi``) and writes the golden persons and
families with the ground checks' observations on top. The period is ``periode.txt``;
``make update`` then ranks, allocates and reports movement for it.

Applying the same update again reads the register as the first application read it
(the versions in its manifest), so it writes the same rows: a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from delivery.ingestion.report import format_reports
from dtsen import cli
from dtsen.config import Config
from dtsen.errors import StorageError
from dtsen.io.delivery import update_period
from dtsen.io.linkage_artefacts import saved_model
from dtsen.progress import Progress
from dtsen.storage import Storage
from dtsen.storage.bronze import ingest_delivery, latest_batch, newest_batch_of, read_bronze
from dtsen.storage.manifest import manifest_of
from dtsen.storage.periods import periods_before, read_period
from linkage import update

log = logging.getLogger("dtsen.update")


def run(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Ingest and apply ``cfg.delivery``; returns the printed figures."""
    from splink import SparkAPI

    periode = update_period(spark, cfg.delivery)
    try:
        storage.pin(manifest_of(storage, "update", periode)["dibaca"])
        log.info("%s was applied before: reading the register as it read it", periode)
    except StorageError:
        pass
    progress = Progress(spark, "update")
    with progress.step("ingest") as rows:
        reports = ingest_delivery(spark, storage, cfg, cfg.source_mapping(update=True))
        rows.n = sum(r.read for r in reports)
    batch = latest_batch(storage, cfg)
    earlier = periods_before(storage, "gold/peringkat", periode)
    if not earlier:
        raise StorageError(f"{periode}: no earlier ranked period to update; rank one first")
    registry_batch = newest_batch_of(storage, "regsosek_keluarga")
    model = saved_model(spark, cfg)
    if model is None:
        raise StorageError(f"{cfg.linkage_model_dir}: no saved linkage model; run link first")

    def bronze(table: str, of: str = batch):
        return read_bronze(storage, table, of)

    sources = {"dukcapil": cfg.person_sources()["dukcapil"], **cfg.person_sources("update_sources")}
    register = update.Register(
        rekaman=storage.read("silver/rekaman"),
        tf_nama=storage.read("silver/tf_nama"),
        link_keluarga=storage.read("gold/link_keluarga"),
        riwayat=storage.read("gold/riwayat_id").where(F.col("periode") < periode),
        individu=storage.read("gold/individu"),
        ranked=read_period(storage, "gold/peringkat", earlier[-1]).select("dtsen_keluarga_id"),
        regsosek_keluarga=bronze("regsosek_keluarga", registry_batch),
        p3ke_keluarga=bronze("p3ke_keluarga", registry_batch),
        dtks=bronze("dtks_dtks", registry_batch),
        saved_model=model,
    )
    delivery = update.Delivery(
        periode=periode,
        sources=sources,
        persons={s: bronze(spec.table) for s, spec in sources.items()},
        families={s: bronze(p.family_table) for s, p in sources.items() if p.family_table},
        wilayah=bronze("referensi_wilayah"),
        sanggahan=bronze("sanggahan_sanggahan"),
        reaktivasi=bronze("program_reaktivasi"),
    )
    result = update.apply_update(
        SparkAPI(spark_session=spark), register, delivery, cfg.linkage_params
    )
    for table, (frame, keys) in result.upserts.items():
        storage.upsert(frame, table, keys)
    for table, frame in result.tables.items():
        storage.write(frame, table)
    where = {"periode": periode}
    for table, frame in result.period_tables.items():
        storage.write(frame, table, partition_by=["periode"], replace_where=where)
    result.release()
    figures = result.figures
    return {
        **figures,
        "steps": {**progress.seconds, **figures["steps"]},
        "ingest": format_reports(reports),
        "sebelumnya": earlier[-1],
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, update.format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
