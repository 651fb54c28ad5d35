"""Cek DTSEN: build the period's lookup (Spark), or answer one NIK from it (no Spark).

    python -m jobs.cek --bangun [--conf FILE] [--warehouse DIR] [--set ranking.periode=2025Q2]
    python -m jobs.cek --nik NIK [--kk KK] [--json] [--conf FILE] [--warehouse DIR]

``--bangun`` reads the gold tables of ``ranking.periode`` (and the period before it) and
replaces ``publish/cek`` with one row per NIK: keyed hashes of the NIK and KK, and the
family's answer (``publish.lookup``). Run it after the period's allocation.

``--nik`` answers the Cek Bansos question with one point read of that table through
delta-rs (``dtsen.io.lookup_store``), without starting Spark: the family's members
masked, the desil, programs, eligibility, ground checks, queue, objections and the
score's main factors, as Indonesian text (``--json``: the raw answer). An invalid NIK,
an unknown NIK and a NIK whose KK does not match each print one line and exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.io.lookup_store import TABLE, LookupStore, write_lookup
from dtsen.storage import Storage
from dtsen.storage.periods import periods_before, read_period, read_periods
from publish.lookup import (
    SANGGAHAN_COLUMNS,
    LookupInputs,
    factor_phrases,
    format_answer,
    lookup_rows,
    reply,
)
from ranking.groundcheck import GROUNDCHECK_SCHEMA

ANTRIAN_COLUMNS = "periode string, dtsen_keluarga_id string, alasan array<string>, prioritas int"


def run(spark: SparkSession, cfg: Config, storage: Storage, bangun: bool = True) -> dict[str, Any]:
    """Replace ``publish/cek`` with the lookup of ``ranking.periode``; return its figures."""
    rows, lalu = lookup_of(cfg, storage)
    version = write_lookup(storage, rows)
    written = storage.read(TABLE)
    return {
        "periode": cfg.ranking.periode,
        "periode_lalu": lalu,
        "versi": version,
        "nik": written.count(),
        "nik_ganda": written.where("jawaban is null").count(),
    }


def lookup_of(cfg: Config, storage: Storage) -> tuple[DataFrame, str | None]:
    """The lookup rows of ``ranking.periode`` (lazy) and the previous period, if any."""
    periode = cfg.ranking.periode
    earlier = periods_before(storage, "gold/peringkat", periode)
    lalu = earlier[-1] if earlier else None

    def period(table: str, which: str = periode) -> DataFrame:
        return read_period(storage, table, which)

    inputs = LookupInputs(
        individu=storage.read("gold/individu"),
        keluarga=storage.read("gold/keluarga"),
        peringkat=period("gold/peringkat"),
        peringkat_lalu=period("gold/peringkat", lalu)
        if lalu
        else period("gold/peringkat").limit(0),
        penerima=period("gold/penerima_program"),
        penerima_lalu=period("gold/penerima_program", lalu) if lalu else None,
        keputusan=period("gold/keputusan_program"),
        kelayakan=period("gold/kelayakan"),
        faktor=period("gold/peringkat_faktor"),
        groundcheck=read_periods(storage, "gold/groundcheck", periode, GROUNDCHECK_SCHEMA),
        antrian=read_periods(storage, "gold/antrian_groundcheck", periode, ANTRIAN_COLUMNS, "only"),
        sanggahan=read_periods(storage, "gold/sanggahan", periode, SANGGAHAN_COLUMNS),
    )
    programs = {name: rules.unit for name, rules in cfg.programs().items()}
    phrases = factor_phrases(cfg.feature_spec(), cfg.pmt.tuning.monotone)
    return lookup_rows(inputs, periode, programs, phrases, cfg.linkage.secret), lalu


def format_figures(figures: dict[str, Any]) -> str:
    return (
        f"{TABLE} {figures['periode']} (previous {figures['periode_lalu'] or '-'}), version "
        f"{figures['versi']}: {figures['nik']} NIKs, {figures['nik_ganda']} shared by more "
        "than one person (answered with a message only)"
    )


def ask(cfg: Config, nik: str, kk: str | None, as_json: bool) -> dict[str, Any]:
    """Answer one NIK from the warehouse's lookup, printing it; exit 1 when it cannot."""
    store = LookupStore(cfg.storage.root)
    year = date.fromisoformat(cfg.linkage.reference_date).year
    answer = reply(nik, kk, cfg.linkage.secret, year, store.find)
    if as_json:
        print(json.dumps(answer.answer if answer.ok else {"pesan": answer.message}, indent=2))
    else:
        print(format_answer(answer.answer) if answer.ok else answer.message)
    if not answer.ok:
        raise SystemExit(1)
    return answer.answer


BUILD = [(("--bangun",), {"action": "store_true", "help": "build the lookup (Spark)"})]
QUERY = [
    (("--nik",), {"help": "answer this NIK from the lookup (no Spark)"}),
    (("--kk",), {"help": "with --nik: the asker's KK, checked against the family's"}),
    (("--json",), {"action": "store_true", "help": "with --nik: print the raw answer"}),
]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    # Branch before run_stage: a question must not start a SparkSession.
    p = cli.parser(__doc__.strip().splitlines()[0])
    for args, kwargs in BUILD + QUERY:
        p.add_argument(*args, **kwargs)
    parsed = p.parse_args(argv)
    if parsed.nik is not None:
        return ask(cli.config_from(parsed), parsed.nik, parsed.kk, parsed.json)
    if not parsed.bangun:
        p.error("give --bangun (build the lookup) or --nik NIK (ask it)")
    return cli.run_stage(argv, __doc__, run, format_figures, BUILD)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
