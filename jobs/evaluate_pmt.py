"""Score the ranked register against the delivery's true welfare (synthetic deliveries only).

    python -m jobs.evaluate_pmt [--input DIR] [--warehouse DIR] [--conf FILE] [--set k=v]

Reads ``gold/peringkat`` (``ranking.periode``), ``gold/keluarga`` (relasi, persons),
``gold/link_keluarga`` and ``<input>/_truth/`` (``keluarga``, ``kesejahteraan``);
computes person-weighted exclusion and inclusion errors at desil 1-4 and 1-5 against
the true per-capita expenditure, overall and per relasi, for the register's desil, the
adjusted score, the PMT score before adjustments, the WLS baseline trained beside the
model (``skor_wls``: the linear PMT it had to beat, scored over the same families), the
oracle E[ln pce | true variables] and each register signal alone (``ranking.signals``:
every admin rule, the P3KE decile blended in, DTKS's food markers); writes
``gold/evaluasi_pmt`` (one ``periode``) and logs the figures to the MLflow run of the
model that ranked the period.
Prints the table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dtsen import cli
from dtsen.config import Config
from dtsen.io.delivery import read_truth
from dtsen.io.pmt_registry import (
    baseline_of,
    connect,
    load_scoring_model,
    log_register_evaluation,
)
from dtsen.storage import Storage
from dtsen.storage.periods import read_period
from ranking.register_evaluation import register_targeting, true_welfare
from ranking.scoring import family_features, family_scores
from ranking.signals import signal_variants

log = logging.getLogger("dtsen.pmt")
RANKINGS = {
    "desil": "desil_nasional",
    "skor": "skor",
    "skor_model": "skor_model",
    "oracle": "ln_pce_oracle",
}
"""What is scored: the delivered desil, the adjusted score, the PMT alone, the oracle;
plus one variant per register signal (``ranking.signals``)."""
FAMILY_COLUMNS = (
    "dtsen_keluarga_id",
    "relasi",
    "jumlah_anggota",
    "desil_p3ke",
    "d3_khawatir_makan",
    "d4_pangan_gt50",
    "d5_beli_pakaian",
)
"""What the signals and the person weights need of ``gold/keluarga``."""


def run(spark: SparkSession, cfg: Config, storage: Storage) -> dict[str, Any]:
    """Write ``gold/evaluasi_pmt`` for ``ranking.periode``; returns its rows."""
    periode = cfg.ranking.periode
    client = connect(cfg)
    peringkat = storage.read("gold/peringkat").where(F.col("periode") == periode)
    model_uri = peringkat.select("model_uri").first()[0]
    truth = true_welfare(
        storage.read("gold/link_keluarga"),
        read_truth(spark, cfg.input, "keluarga"),
        read_truth(spark, cfg.input, "kesejahteraan"),
    )
    keluarga = storage.read("gold/keluarga")
    ranked = (
        peringkat.drop("jumlah_anggota")
        .join(keluarga.select(*FAMILY_COLUMNS), "dtsen_keluarga_id")
        .join(truth, "dtsen_keluarga_id")
    )
    ranked, variants = signal_variants(ranked, cfg.ranking.adjustments)
    baseline = baseline_of(client, model_uri)
    if baseline is not None:
        wls = load_scoring_model(client, baseline)
        features = family_features(
            keluarga, storage.read("gold/individu"), wls.spec, cfg.ranking.reference_date
        )
        scores = family_scores(features, wls.kind, wls.payload, wls.spec)
        ranked = ranked.join(scores.withColumnRenamed("skor", "skor_wls"), "dtsen_keluarga_id")
        variants = {"skor_wls": "skor_wls", **variants}
    table = register_targeting(ranked, {**RANKINGS, **variants}).select(
        F.lit(periode).alias("periode"), F.lit(model_uri).alias("model_uri"), "*"
    )
    where = {"periode": periode}
    storage.write(table, "gold/evaluasi_pmt", partition_by=["periode"], replace_where=where)
    rows = [
        r.asDict()
        for r in read_period(storage, "gold/evaluasi_pmt", periode)
        .orderBy("peringkat", "relasi")
        .collect()
    ]
    run_id = log_register_evaluation(client, model_uri, rows)
    log.info("register evaluation of %s logged to run %s", model_uri, run_id)
    return {"periode": periode, "model_uri": model_uri, "run_id": run_id, "rows": rows}


def format_figures(figures: dict[str, Any]) -> str:
    lines = [f"register {figures['periode']} ranked by {figures['model_uri']} vs _truth/"]
    head = f"{'peringkat':<11} {'relasi':<6} {'keluarga':>9} {'excl 1-4':>8} {'incl 1-4':>8}"
    lines.append(head + f" {'excl 1-5':>8} {'incl 1-5':>8}")
    for r in figures["rows"]:
        values = [r[f"{k}_error_{n}"] for n in (40, 50) for k in ("exclusion", "inclusion")]
        cells = " ".join(f"{v:>8.4f}" if v is not None else f"{'-':>8}" for v in values)
        lines.append(f"{r['peringkat']:<11} {r['relasi']:<6} {r['keluarga']:>9} {cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
