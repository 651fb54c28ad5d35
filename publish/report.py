"""The run report of one period: small aggregates of the gold tables, and one HTML page.

Two halves, both pure. The ``*_rows`` functions turn the period's tables into a few
hundred numbers at most (counts per table, reason, relasi, province, program and
kab/kota, desil pair): each is one small Spark aggregation whose result is collected,
never a table of families. :func:`render` turns those numbers into one self-contained
HTML page: inline CSS and SVG bar charts drawn here, no script, font or stylesheet from
anywhere else, so the page opens offline and from any folder. Every text that comes from
the data is escaped. Nothing here sees a person: the inputs are counts and model
parameters, and the page can be handed to anyone who may see the national figures.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from delivery.ingestion.report import reason_counts

__all__ = [
    "HOLDOUT_METRICS",
    "Report",
    "allocation_rows",
    "desil_province_rows",
    "holdout_rows",
    "ingest_rows",
    "linkage_rows",
    "match_weight_rows",
    "movement_rows",
    "register_rows",
    "relasi_rows",
    "render",
]

Row = dict[str, Any]
HOLDOUT_METRICS = (
    "cv_exclusion_error_40",
    "cv_inclusion_error_40",
    "exclusion_error_40",
    "inclusion_error_40",
    "exclusion_error_50",
    "inclusion_error_50",
    "rmse",
    "r2",
    "spearman",
)
"""The PMT's figures shown: the cross-validated targeting errors first (what promotion
decides on by default), then the holdout's."""
DESIL = range(1, 11)
REGISTER_COLUMNS = (
    "peringkat",
    "keluarga",
    "exclusion_error_40",
    "inclusion_error_40",
    "exclusion_error_50",
    "inclusion_error_50",
)
"""What the page shows of ``gold/evaluasi_pmt``."""


@dataclass(frozen=True)
class Report:
    """Everything the page shows: aggregates only (see the module docstring)."""

    periode: str
    sebelumnya: str | None
    """The previous ranked period, None for the first."""
    batch: str
    ingest: list[Row]
    relasi: list[Row]
    desil_provinsi: list[Row]
    kuota: list[Row]
    """Per program and kab/kota: ``kuota``, ``penerima_saat_ini``, ``status``, ``terpilih``."""
    model_uri: str
    holdout: list[Row]
    linkage: list[Row] | None = None
    """Pairwise precision/recall against the truth; None where no truth (or stale)."""
    match_weights: list[Row] = field(default_factory=list)
    splink_charts: list[str] = field(default_factory=list)
    """Splink's own chart pages copied beside the report (relative file names)."""
    register_pmt: list[Row] | None = None
    """``gold/evaluasi_pmt`` rows of the period (SEMUA), None when not evaluated."""
    transisi: list[Row] | None = None
    mutasi: list[Row] | None = None


# ---------------------------------------------------------------- aggregates (Spark)


def ingest_rows(tables: dict[str, tuple[DataFrame, DataFrame]]) -> list[Row]:
    """Per table of one batch: rows accepted, rows quarantined and quarantined per reason.

    Args:
        tables: table name -> (its ``bronze/`` rows, its ``quarantine/`` rows), both of
            the batch only.

    Returns:
        ``tabel``, ``diterima``, ``karantina``, ``dibaca`` (= the two: the contract's
        accounting) and ``alasan`` (reason code -> rows, most frequent first), by name.
    """
    rows = []
    for name in sorted(tables):
        bronze, quarantine = tables[name]
        accepted = bronze.count()
        reasons: dict[str, int] = {}
        for r in reason_counts(quarantine).collect():  # one row per code and column
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + r["rows"]
        quarantined = sum(reasons.values())
        ordered = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        rows.append(
            {
                "tabel": name,
                "diterima": accepted,
                "karantina": quarantined,
                "dibaca": accepted + quarantined,
                "alasan": ordered,
            }
        )
    return rows


def relasi_rows(relasi: DataFrame) -> list[Row]:
    """``gold/relasi`` as it is (seven rows at most), in its own order."""
    return [r.asDict() for r in relasi.select("relasi", "keluarga", "persen").collect()]


def linkage_rows(evaluasi: DataFrame) -> list[Row]:
    """The overall and per-source-pair rows of ``gold/evaluasi_linkage``."""
    wanted = evaluasi.where(F.col("tingkat").isin("keseluruhan", "pasangan_sumber"))
    ordered = wanted.orderBy("entitas", F.col("tingkat").desc(), "kelompok")
    return [
        r.asDict()
        for r in ordered.select(
            "entitas", "tingkat", "kelompok", "presisi", "recall", "f1", "pasangan_benar"
        ).collect()
    ]


def desil_province_rows(peringkat: DataFrame, wilayah: DataFrame) -> list[Row]:
    """Families per national desil in each province, with the province's name.

    Args:
        peringkat: the period's ``gold/peringkat`` (``kode_kab``, ``desil_nasional``).
        wilayah: ``referensi_wilayah`` (``kode``, ``nama``, ``tingkat``).

    Returns:
        ``kode_prov``, ``nama`` (None when the reference lacks it), ``keluarga`` and
        ``desil``: a list of ten family counts (desil 1 first), by province code.
    """
    counts = peringkat.groupBy(
        F.substring("kode_kab", 1, 2).alias("kode_prov"), "desil_nasional"
    ).agg(F.count(F.lit(1)).alias("n"))
    names = wilayah.where(F.col("tingkat") == "prov").select(
        F.col("kode").alias("kode_prov"), "nama"
    )
    by_prov: dict[str, Row] = {}
    for r in counts.join(names, "kode_prov", "left").collect():  # provinces x 10 rows
        row = by_prov.setdefault(
            r["kode_prov"],
            {"kode_prov": r["kode_prov"], "nama": r["nama"], "keluarga": 0, "desil": [0] * 10},
        )
        row["keluarga"] += r["n"]
        if r["desil_nasional"] in DESIL:
            row["desil"][r["desil_nasional"] - 1] += r["n"]
    return [by_prov[k] for k in sorted(by_prov)]


def allocation_rows(
    kuota: DataFrame, penerima: DataFrame, peringkat: DataFrame, wilayah: DataFrame
) -> list[Row]:
    """Per program and kab/kota: quota, current recipients, status and selected units.

    Args:
        kuota: the period's ``gold/kuota``.
        penerima: the period's ``gold/penerima_program`` (one row per selected unit: a
            family, or a person for PBI).
        peringkat: the period's ``gold/peringkat`` (where each family's kab/kota is).
        wilayah: ``referensi_wilayah``, for the kab/kota names.

    Returns:
        ``program``, ``kode_kab``, ``nama``, ``kuota``, ``penerima_saat_ini``, ``status``,
        ``terpilih``; by program and kab. A kab with recipients but no quota row (none
        in this design) would show with a null quota rather than vanish.
    """
    selected = (
        penerima.join(
            peringkat.select("dtsen_keluarga_id", "kode_kab"), "dtsen_keluarga_id", "left"
        )
        .groupBy("program", "kode_kab")
        .agg(F.count(F.lit(1)).alias("terpilih"))
    )
    names = wilayah.where(F.col("tingkat") == "kab").select(F.col("kode").alias("kode_kab"), "nama")
    joined = (
        kuota.select("program", "kode_kab", "kuota", "penerima_saat_ini", "status")
        .join(selected, ["program", "kode_kab"], "full")
        .join(names, "kode_kab", "left")
        .orderBy("program", "kode_kab")
    )
    rows = [r.asDict() for r in joined.collect()]  # programs x kab/kota
    for r in rows:
        r["terpilih"] = r["terpilih"] or 0
    return rows


def register_rows(evaluasi: DataFrame) -> list[Row]:
    """The period's ``gold/evaluasi_pmt`` over all families (``SEMUA``), by ranking."""
    return [
        r.asDict()
        for r in evaluasi.where(F.col("relasi") == "SEMUA")
        .select(*REGISTER_COLUMNS)
        .orderBy("peringkat")
        .collect()
    ]


def movement_rows(transisi: DataFrame, mutasi: DataFrame) -> tuple[list[Row], list[Row]]:
    """``gold/laporan_transisi_desil`` and ``gold/laporan_mutasi_program`` of one pair of
    periods (already filtered), without the period columns, in a fixed order."""
    pairs = transisi.select("desil_lama", "desil_baru", "jumlah_keluarga").orderBy(
        F.col("desil_lama").asc_nulls_last(), F.col("desil_baru").asc_nulls_last()
    )
    moves = mutasi.select("program", "arah", "alasan", "jumlah").orderBy(
        "program", "arah", "alasan"
    )
    return [r.asDict() for r in pairs.collect()], [r.asDict() for r in moves.collect()]


# ---------------------------------------------------------------- aggregates (plain)


def holdout_rows(metrics: dict[str, float], champion_is_baseline: bool) -> list[Row]:
    """The champion's and its WLS baseline's holdout figures, side by side.

    Args:
        metrics: the training run's metrics (the tuned XGBoost unprefixed, the baseline
            ``wls_``), as MLflow holds them.
        champion_is_baseline: the champion is the WLS model itself (a run whose XGBoost
            did not beat it): both columns then show the baseline.
    """
    prefix = "wls_" if champion_is_baseline else ""
    return [
        {
            "metric": name,
            "champion": metrics.get(prefix + name),
            "baseline": metrics.get(f"wls_{name}"),
        }
        for name in HOLDOUT_METRICS
        if prefix + name in metrics or f"wls_{name}" in metrics
    ]


def match_weight_rows(model: dict[str, Any]) -> list[Row]:
    """Match weight (log2 of m/u) of every comparison level of a saved Splink model.

    The prior (``probability_two_random_records_match``) comes first, as in Splink's own
    chart. Null levels carry no weight and are left out; a level Splink never trained
    (m or u missing) is shown without a weight.
    """
    prior = model.get("probability_two_random_records_match")
    rows: list[Row] = []
    if prior:
        rows.append(
            {"perbandingan": "prior", "tingkat": "prior", "bobot": math.log2(prior / (1 - prior))}
        )
    for comparison in model.get("comparisons", []):
        name = comparison.get("output_column_name") or comparison.get("comparison_description")
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            label = level.get("label_for_charts") or level.get("sql_condition", "")
            rows.append({"perbandingan": name, "tingkat": label, "bobot": weight})
    return rows


# ---------------------------------------------------------------- rendering

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2.4rem;border-bottom:2px solid #3b6ea5;padding-bottom:.2rem}
h2 small{font-weight:normal;color:#666;font-size:.8em}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#eef2f7}td.t,th.t{text-align:left}
.note{color:#555;font-style:italic}svg{display:block;margin:.6rem 0}
td.heat{min-width:2.6rem}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    # A narrow no-break space between thousands: unambiguous in Indonesian and English.
    return f"{value:,}".replace(",", "\u202f")


def _cell(value: Any) -> str:
    """A number formatted, anything else escaped; a missing value is ``-``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _num(value)
    return _e("-" if value is None else value)


def _records(records: Iterable[Row], keys: Sequence[str]) -> list[list[str]]:
    return [[_cell(r[k]) for k in keys] for r in records]


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    text_columns: int = 1,
    cls: str = "",
    key: str = "",
) -> str:
    """A table of already escaped cells; the first ``text_columns`` align left."""

    def cell(tag: str, i: int, value: str) -> str:
        return (
            f'<{tag} class="t">{value}</{tag}>' if i < text_columns else f"<{tag}>{value}</{tag}>"
        )

    head = "".join(cell("th", i, _e(h)) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    css = (f' id="{key}"' if key else "") + (f' class="{cls}"' if cls else "")
    return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bars(
    title: str, bars: Sequence[tuple[str, float]], series: Sequence[str] = (), colours=()
) -> str:
    """A horizontal bar chart as inline SVG; each bar may hold several values (grouped).

    Args:
        title: the chart's title (also its accessible name).
        bars: label -> value, or label -> tuple of values (one per ``series``).
        series: names of the values of a grouped chart, shown as a legend.
    """
    palette = list(colours) or ["#3b6ea5", "#b0b0b0", "#c0392b", "#27ae60"]
    groups = [(label, v if isinstance(v, tuple) else (v,)) for label, v in bars]
    width, label_w, row_h, bar_h = 760, 260, 8 + 16 * max(1, len(series)), 14
    values = [x for _, vs in groups for x in vs if x is not None]
    low, high = min([0.0, *values]), max([0.0, *values])
    span = (high - low) or 1.0
    plot_w = width - label_w - 80
    x0 = label_w + plot_w * (-low / span)
    top = 28 + (18 if series else 0)
    height = top + row_h * len(groups) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}" class="chart">',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{_e(title)}</text>',
    ]
    for i, name in enumerate(series):
        parts.append(
            f'<rect x="{label_w + 120 * i}" y="24" width="12" height="12" '
            f'fill="{palette[i % len(palette)]}"/><text x="{label_w + 16 + 120 * i}" y="34" '
            f'font-size="12">{_e(name)}</text>'
        )
    for g, (label, vs) in enumerate(groups):
        y = top + g * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" font-size="12" text-anchor="end">'
            f"{_e(label)}</text>"
        )
        for i, v in enumerate(vs):
            if v is None:
                continue
            x1 = label_w + plot_w * ((v - low) / span)
            left, w = min(x0, x1), abs(x1 - x0)
            by = y + 16 * i
            parts.append(
                f'<rect x="{left:.1f}" y="{by}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{palette[i % len(palette)]}"><title>{_e(label)}: {_num(v)}</title></rect>'
                f'<text x="{max(x0, x1) + 4:.1f}" y="{by + 11}" font-size="11">{_num(v)}</text>'
            )
    parts.append(
        f'<line x1="{x0:.1f}" y1="{top - 2}" x2="{x0:.1f}" y2="{height - 8}" stroke="#444"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _section(key: str, title: str, subtitle: str, body: str) -> str:
    return f'<section id="{key}"><h2>{_e(title)} <small>{_e(subtitle)}</small></h2>{body}</section>'


def _ingest(report: Report) -> str:
    rows = [
        (
            _e(r["tabel"]),
            _num(r["dibaca"]),
            _num(r["diterima"]),
            _num(r["karantina"]),
            _e(", ".join(f"{k}: {_num(v)}" for k, v in r["alasan"].items()) or "-"),
        )
        for r in report.ingest
    ]
    totals = [sum(r[k] for r in report.ingest) for k in ("dibaca", "diterima", "karantina")]
    rows.append(("<b>total</b>", *(f"<b>{_num(t)}</b>" for t in totals), ""))
    reasons: dict[str, int] = {}
    for r in report.ingest:
        for k, v in r["alasan"].items():
            reasons[k] = reasons.get(k, 0) + v
    chart = _bars(
        "Baris karantina per alasan (quarantined rows per reason)",
        sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
    )
    note = (
        f'<p class="note">Batch <code>{_e(report.batch)}</code>: dibaca = diterima + karantina.</p>'
    )
    table = _table(
        ["tabel", "dibaca", "diterima", "karantina", "alasan karantina"],
        rows,
        1,
        "",
        "tabel-ingest",
    )
    return note + table + (chart if reasons else '<p class="note">Tidak ada baris karantina.</p>')


def _linkage(report: Report) -> str:
    parts = []
    if report.linkage:
        parts.append(
            _table(
                ["entitas", "kelompok", "presisi", "recall", "F1", "pasangan benar"],
                _records(
                    report.linkage,
                    ("entitas", "kelompok", "presisi", "recall", "f1", "pasangan_benar"),
                ),
                text_columns=2,
                key="tabel-linkage",
            )
        )
    else:
        parts.append(
            '<p class="note">Tidak ada evaluasi terhadap kebenaran untuk periode ini '
            "(no evaluation against ground truth for this period's linkage).</p>"
        )
    weighted = [r for r in report.match_weights if r["bobot"] is not None]
    if weighted:
        parts.append(
            _bars(
                "Bobot kecocokan Splink (match weights, log2 m/u)",
                [(f"{r['perbandingan']}: {r['tingkat']}", r["bobot"]) for r in weighted],
            )
        )
    if report.splink_charts:
        links = "".join(
            f'<li><a href="{_e(name)}">{_e(name)}</a></li>' for name in report.splink_charts
        )
        parts.append(f"<p>Grafik Splink (Splink's own charts):</p><ul>{links}</ul>")
    return "".join(parts)


NO_RELASI = "tanpa relasi"
"""The label of families in no registry: proposals a visit verified (an update adds them)."""


def _relasi(report: Report) -> str:
    table = _table(
        ["relasi", "keluarga", "persen"],
        [
            (_e(r["relasi"] or NO_RELASI), _num(r["keluarga"]), _num(r["persen"], 2))
            for r in report.relasi
        ],
        key="tabel-relasi",
    )
    chart = _bars(
        "Keluarga per relasi (families per source combination)",
        [(r["relasi"] or NO_RELASI, r["keluarga"]) for r in report.relasi],
    )
    return table + chart


def _pmt(report: Report) -> str:
    parts = [f"<p>Model: <code>{_e(report.model_uri)}</code></p>"]
    if report.holdout:
        parts.append(
            _table(
                ["metrik (holdout)", "champion", "baseline WLS"],
                _records(report.holdout, ("metric", "champion", "baseline")),
                key="tabel-holdout",
            )
        )
        errors = [r for r in report.holdout if "error" in r["metric"]]
        parts.append(
            _bars(
                "Galat penargetan pada holdout (targeting errors on the holdout)",
                [(r["metric"], (r["champion"], r["baseline"])) for r in errors],
                series=("champion", "baseline WLS"),
            )
        )
    else:
        parts.append('<p class="note">Run MLflow model ini tidak ditemukan (no MLflow run).</p>')
    if report.register_pmt:
        parts.append("<p>Register (gold/evaluasi_pmt, semua relasi):</p>")
        parts.append(
            _table(
                [
                    "peringkat",
                    "keluarga",
                    "exclusion 40",
                    "inclusion 40",
                    "exclusion 50",
                    "inclusion 50",
                ],
                _records(report.register_pmt, REGISTER_COLUMNS),
                key="tabel-register-pmt",
            )
        )
    return "".join(parts)


def _heat(count: int, total: int) -> str:
    share = count / total if total else 0.0
    # Twice the even share (10%) is full colour: enough contrast for ten columns.
    level = min(1.0, share / 0.2)
    colour = f"rgb({int(255 - 196 * level)},{int(255 - 145 * level)},{int(255 - 90 * level)})"
    return f'<span style="display:block;background:{colour}">{share * 100:.1f}%</span>'


def _desil(report: Report) -> str:
    rows = [
        (
            _e(r["kode_prov"]),
            _e(r["nama"] or "-"),
            _num(r["keluarga"]),
            *(_heat(n, r["keluarga"]) for n in r["desil"]),
        )
        for r in report.desil_provinsi
    ]
    return (
        '<p class="note">Sebaran keluarga per desil nasional di tiap provinsi '
        "(share of each province's families in each national desil; 1 = poorest).</p>"
        + _table(
            ["kode", "provinsi", "keluarga", *[f"D{d}" for d in DESIL]],
            rows,
            2,
            "heat",
            "tabel-desil",
        )
    )


def _allocation(report: Report) -> str:
    programs: dict[str, dict[str, int]] = {}
    for r in report.kuota:
        p = programs.setdefault(r["program"], {"kuota": 0, "saat_ini": 0, "terpilih": 0})
        p["kuota"] += r["kuota"] or 0
        p["saat_ini"] += r["penerima_saat_ini"] or 0
        p["terpilih"] += r["terpilih"]
    summary = _table(
        ["program", "kuota", "penerima saat ini", "penerima terpilih"],
        [
            (_e(name), _num(p["kuota"]), _num(p["saat_ini"]), _num(p["terpilih"]))
            for name, p in sorted(programs.items())
        ],
        key="tabel-program",
    )
    chart = _bars(
        "Kuota dan penerima per program (quota and selected recipients)",
        [(name, (p["kuota"], p["terpilih"])) for name, p in sorted(programs.items())],
        series=("kuota", "terpilih"),
    )
    detail = _table(
        ["program", "kab/kota", "nama", "kuota", "saat ini", "status", "terpilih"],
        _records(
            report.kuota,
            ("program", "kode_kab", "nama", "kuota", "penerima_saat_ini", "status", "terpilih"),
        ),
        text_columns=3,
        key="tabel-kabkota",
    )
    return summary + chart + f"<details><summary>Per kab/kota</summary>{detail}</details>"


def _movement(report: Report) -> str:
    if report.sebelumnya is None:
        return (
            '<p class="note" id="tanpa-periode-sebelumnya">Periode pertama: tidak ada periode '
            "sebelumnya untuk dibandingkan (the first period: no previous period to compare "
            "with).</p>"
        )
    if not report.transisi:
        return (
            f'<p class="note" id="mutasi-belum-dihitung">Perubahan {_e(report.sebelumnya)} '
            f"&rarr; {_e(report.periode)} belum dihitung (movement not computed yet: run "
            "<code>python -m jobs.movement</code>).</p>"
        )
    cells = {(r["desil_lama"], r["desil_baru"]): r["jumlah_keluarga"] for r in report.transisi}
    axis: list[int | None] = [*DESIL, None]
    name = {**{d: str(d) for d in DESIL}, None: "-"}
    matrix = _table(
        [f"{report.sebelumnya} \\ {report.periode}", *[name[d] for d in axis]],
        [(name[a], *(_num(cells.get((a, b), 0)) for b in axis)) for a in axis],
        key="tabel-transisi",
    )
    mutasi = report.mutasi or []
    moves = _table(
        ["program", "arah", "alasan", "jumlah"],
        _records(mutasi, ("program", "arah", "alasan", "jumlah")),
        text_columns=3,
        key="tabel-mutasi",
    )
    stayed = sum(v for (a, b), v in cells.items() if a is not None and a == b)
    chart = _bars(
        "Masuk dan keluar program (program entries and exits)",
        [(f"{r['program']} {r['arah']} {r['alasan'] or ''}".strip(), r["jumlah"]) for r in mutasi],
    )
    return (
        f"<p>{_e(report.sebelumnya)} &rarr; {_e(report.periode)}: {_num(stayed)} keluarga tetap "
        "di desil nasional yang sama (families kept their national desil). Baris: desil lama, "
        "kolom: desil baru, '-' = tidak diperingkat.</p>" + matrix + moves + chart
    )


def render(report: Report) -> str:
    """The whole page: one HTML string with inline CSS and SVG, no external resource."""
    sections = [
        ("ingest", "Akuntansi ingest", "Ingest accounting and quarantine reasons", _ingest),
        ("linkage", "Kualitas linkage", "Linkage quality and Splink's model", _linkage),
        ("relasi", "Relasi", "Families per registry combination", _relasi),
        ("pmt", "Metrik PMT", "PMT holdout metrics against the WLS baseline", _pmt),
        ("desil", "Desil per provinsi", "National desil by province", _desil),
        ("alokasi", "Alokasi program", "Allocation per program and kab/kota", _allocation),
        (
            "mutasi",
            "Perubahan sejak periode sebelumnya",
            "Movement since the previous period",
            _movement,
        ),
    ]
    body = "".join(_section(key, t, s, build(report)) for key, t, s, build in sections)
    return (
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
        f"<title>Laporan DTSEN {_e(report.periode)}</title><style>{CSS}</style></head><body>"
        f"<h1>Laporan DTSEN periode {_e(report.periode)} <small>(run report)</small></h1>"
        '<p class="note">Hanya agregat, tanpa data pribadi (aggregates only, no personal data).</p>'
        f"{body}</body></html>"
    )
