"""Score every golden family with the PMT, adjust, rank into desil, and judge eligibility.

    python -m jobs.rank [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v] [--reproduce]

Reads ``gold/keluarga``, ``gold/individu``, the newest ingested batch of the admin
tables and, once an update has written it, ``gold/groundcheck`` up to the period (each
family's latest visit outcome is an exclusion reason); scores with ``ranking.model_uri``
(default ``models:/dtsen-pmt@champion``, recorded per row as the exact version); applies
``ranking.adjustments``; computes the population-weighted desil at national, provincial
and kab/kota level; writes ``gold/peringkat``, ``gold/peringkat_faktor`` (each family's
``ranking.factors_top`` largest feature contributions) and ``gold/kelayakan`` for
``ranking.periode`` (replacing only that period's rows, in one commit each). Prints the
national desil distribution.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.io.pmt_registry import connect, load_scoring_model
from dtsen.storage import Storage
from dtsen.storage.bronze import latest_batch, read_bronze
from dtsen.storage.manifest import manifest_of
from dtsen.storage.periods import read_period, read_periods
from ranking.adjustments import apply_adjustments, family_signals
from ranking.eligibility import kelayakan
from ranking.groundcheck import GROUNDCHECK_SCHEMA
from ranking.peringkat import desil_distribution, family_exclusions, format_figures, ranked
from ranking.scoring import family_features, family_scores, peringkat_faktor

log = logging.getLogger("dtsen.rank")


def run(
    spark: SparkSession, cfg: Config, storage: Storage, reproduce: bool = False
) -> dict[str, Any]:
    """Rank ``ranking.periode``; returns the figures the job prints.

    With ``reproduce``, the period is ranked again from what its last complete rank
    run read (the table versions and the exact model version in its manifest), not
    from today's tables and today's champion.
    """
    rk = cfg.ranking
    model_uri = rk.model_uri
    if reproduce:
        earlier = manifest_of(storage, "rank", rk.periode)
        storage.pin(earlier["dibaca"])
        model_uri = earlier["model_uri"]
    model = load_scoring_model(connect(cfg), model_uri)
    batch = latest_batch(storage, cfg)
    keluarga, individu = storage.read("gold/keluarga"), storage.read("gold/individu")

    def bronze(table: str):
        return read_bronze(storage, table, batch)

    ump, bpjs = bronze("referensi_ump"), bronze("admin_bpjs_ketenagakerjaan")
    features = family_features(keluarga, individu, model.spec, rk.reference_date)
    scores = family_scores(features, model.kind, model.payload, model.spec)
    factors = peringkat_faktor(
        features, model.kind, model.payload, model.spec, rk.factors_top, rk.periode
    )
    signals = family_signals(individu, bronze("admin_pln"), bronze("admin_samsat"), bpjs, ump)
    peringkat = ranked(
        keluarga,
        apply_adjustments(scores, signals, rk.adjustments),
        rk.periode,
        model.uri,
        rk.desil_buckets,
    )
    eligibility = kelayakan(
        individu,
        bronze("dukcapil_penduduk"),
        bronze("admin_bkn"),
        bpjs,
        bronze("admin_negatif"),
        ump,
        rk.periode,
        read_periods(storage, "gold/groundcheck", rk.periode, GROUNDCHECK_SCHEMA),
    )
    where = {"periode": rk.periode}
    for frame, table in (
        (peringkat, "gold/peringkat"),
        (factors, "gold/peringkat_faktor"),
        (eligibility, "gold/kelayakan"),
    ):
        storage.write(frame, table, partition_by=["periode"], replace_where=where)

    def written(table: str):
        return read_period(storage, table, rk.periode)

    figures = {
        "periode": rk.periode,
        "model_uri": model.uri,
        "desil": [r.asDict() for r in desil_distribution(written("gold/peringkat")).collect()],
        "alasan_keluarga": [
            r.asDict() for r in family_exclusions(written("gold/kelayakan")).collect()
        ],
    }
    log.info("ranked %s with %s", rk.periode, model.uri)
    return figures


FLAGS = [
    (
        ("--reproduce",),
        {"action": "store_true", "help": "re-rank the period from its manifest's inputs and model"},
    )
]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures, FLAGS)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
