"""Data-balikan: each institution's extracts of one period, as Parquet and CSV.

    python -m jobs.export [--institusi NAME|all] [--kab KODE] [--conf FILE] [--warehouse DIR]

For ``ranking.periode``, reads ``gold/individu`` and ``gold/keluarga`` (as published:
export a period right after its run), and the period's ``gold/peringkat`` and
``gold/penerima_program``. For each institution of ``exports.institutions`` (one, or
``all``; a kab/kota template such as ``dinsos`` needs ``--kab``, and ``all`` without it
skips the template), builds its tables with only its configured columns, keyed by
pseudonyms under its own secret (``publish.exports``), and writes them under
``<warehouse>/exports/<periode>/<institution>/`` with a ``manifest.json`` (docs/exports.md).
Prints the rows per table: no identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from dtsen import cli
from dtsen.config import Config
from dtsen.io.exports import export_folder, write_extracts
from dtsen.storage import Storage
from dtsen.storage.periods import read_period
from publish.exports import ExportInputs, extracts, select_institutions

REGISTER = ("gold/individu", "gold/keluarga")
PERIODIC = ("gold/peringkat", "gold/penerima_program")


def run(
    spark: SparkSession,
    cfg: Config,
    storage: Storage,
    institusi: str = "all",
    kab: str | None = None,
) -> dict[str, Any]:
    """Export ``ranking.periode`` to the chosen institutions; returns rows per extract."""
    periode = cfg.ranking.periode
    chosen, skipped = select_institutions(cfg.institutions(), institusi, kab)
    secrets = cfg.export_secrets(chosen)
    versions = {t: storage.published_version(t) for t in (*REGISTER, *PERIODIC)}
    inputs = ExportInputs(
        individu=storage.read("gold/individu", versions["gold/individu"]),
        keluarga=storage.read("gold/keluarga", versions["gold/keluarga"]),
        peringkat=read_period(storage, "gold/peringkat", periode, versions["gold/peringkat"]),
        penerima=read_period(
            storage, "gold/penerima_program", periode, versions["gold/penerima_program"]
        ),
    )
    written = {}
    for name, institution in chosen.items():
        frames = extracts(institution, inputs, secrets.get(name, ""))
        about = {
            "periode": periode,
            "institution": name,
            "description": institution.keterangan,
            "scope": institution.lingkup,
            "program": institution.program,
            "kab": institution.kab,
            "pseudonym": "HMAC-SHA256 under the institution's own secret",
            "source_versions": versions,
        }
        folder = export_folder(storage.root, periode, name)
        manifest = write_extracts(spark, folder, frames, about)
        written[name] = {t: entry["rows"] for t, entry in manifest["tables"].items()}
    return {"periode": periode, "ekspor": written, "dilewati": skipped}


def format_figures(figures: dict[str, Any]) -> str:
    lines = [f"Ekspor data-balikan {figures['periode']}:"]
    for name, tables in figures["ekspor"].items():
        lines += [f"  {name}"] + [f"    {t:<24}{n:>12,}" for t, n in tables.items()]
    if figures["dilewati"]:
        lines.append(f"  dilewati (perlu --kab): {', '.join(figures['dilewati'])}")
    return "\n".join(lines)


FLAGS = [
    (("--institusi",), {"default": "all", "help": "an institution of exports.yaml, or all"}),
    (("--kab",), {"help": "the kab/kota (4 digits) of a kab/kota template, e.g. 3310"}),
]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    return cli.run_stage(argv, __doc__, run, format_figures, FLAGS)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
