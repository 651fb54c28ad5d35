"""The run report rendered for real: the page of 2025Q1 (the first period) and 2025Q2 (after
the update), opened in headless Chromium, checked against the warehouse tables it sums."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dtsen.errors import StorageError
from dtsen.io.pmt_registry import champion, connect
from dtsen.storage import Storage
from dtsen.storage.bronze import BATCH_COLUMN, latest_batch
from jobs.report import run as report
from publish.report import NO_RELASI, Report, holdout_rows, match_weight_rows, render

slow = pytest.mark.slow
"""The page tests need the session's warehouses (``ranked_warehouse``, ``updated_warehouse``)."""
SECTIONS = ("ingest", "linkage", "relasi", "pmt", "desil", "alokasi", "mutasi")


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing (this machine's way)."""
    found = shutil.which("chromium")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        # A fresh machine may have no package lists yet: update once, then install.
        for step in (["update", "-q"], ["install", "-y", "-q", "chromium"]):
            subprocess.run(["apt-get", *step], capture_output=True, timeout=1200)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("no chromium: `apt-get install -y chromium` did not install Debian's package")
    return found


class _Dom(HTMLParser):
    """Tables by id (rows of cell texts), sections by id, and tag counts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.sections: list[str] = []
        self.tags: dict[str, int] = {}
        self.ids: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "table" and "id" in attrs:
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _number(text: str) -> int:
    return int(text.replace("\u202f", ""))


def _rendered(chromium: str, page: str, tmp: Path) -> _Dom:
    """The page as Chromium built it (``--dump-dom``), parsed."""
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            "--dump-dom",
            f"file://{page}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    dom = _Dom()
    dom.feed(result.stdout)
    return dom


def _copy(spark, cfg, tmp: Path):
    """A private copy of the warehouse: the report writes ``reports/`` into it."""
    root = tmp / "warehouse"
    shutil.copytree(cfg.storage.root, root)
    copied = cfg.model_copy(update={"storage": cfg.storage.model_copy(update={"root": str(root)})})
    return copied, Storage(spark, str(root), cfg.storage.engine)


@pytest.fixture(scope="module")
def second(spark, updated_warehouse, chromium, tmp_path_factory):
    """2025Q2's report: (cfg, storage, figures, the rendered page)."""
    tmp = tmp_path_factory.mktemp("report_q2")
    cfg, storage = _copy(spark, updated_warehouse[0], tmp)
    figures = report(spark, cfg, storage)
    return cfg, storage, figures, _rendered(chromium, figures["halaman"], tmp)


@pytest.fixture(scope="module")
def first(spark, ranked_warehouse, chromium, tmp_path_factory):
    """2025Q1's report, rendered from the first period's warehouse."""
    tmp = tmp_path_factory.mktemp("report_q1")
    cfg, storage = _copy(spark, ranked_warehouse[0], tmp)
    figures = report(spark, cfg, storage)
    return cfg, storage, figures, _rendered(chromium, figures["halaman"], tmp)


@pytest.fixture(params=["first", "second"])
def period(request):
    return request.getfixturevalue(request.param)


@slow
def test_the_page_is_where_make_run_prints_it_and_has_every_section(period):
    cfg, _, figures, dom = period
    assert figures["halaman"] == f"{cfg.storage.root}/reports/{cfg.ranking.periode}/index.html"
    assert dom.sections == list(SECTIONS)
    # Charts drawn inline, nothing loaded from anywhere.
    assert dom.tags.get("svg", 0) >= 5
    assert dom.tags.get("script", 0) == 0 and dom.tags.get("link", 0) == 0
    page = Path(figures["halaman"]).read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?https?:""", page)


@slow
def test_ingest_accounting_equals_bronze_plus_quarantine(period):
    cfg, storage, figures, dom = period
    batch = latest_batch(storage, cfg)
    assert figures["batch"] == batch
    shown = {row[0]: row[1:4] for row in dom.tables["tabel-ingest"][1:-1]}
    expected = {}
    for name in shown:
        accepted, quarantined = (
            storage.read(f"{layer}/{name}").where(F.col(BATCH_COLUMN) == batch).count()
            for layer in ("bronze", "quarantine")
        )
        expected[name] = [accepted + quarantined, accepted, quarantined]
    assert {name: [_number(v) for v in row] for name, row in shown.items()} == expected
    mapping = cfg.source_mapping(update=cfg.ranking.periode != "2025Q1")
    assert set(shown) == set(mapping.tables)
    total = dom.tables["tabel-ingest"][-1]
    assert [_number(v) for v in total[1:4]] == [
        sum(r[i] for r in expected.values()) for i in range(3)
    ]


@slow
def test_relasi_equals_gold_relasi(period):
    _, storage, _, dom = period
    rows = storage.read("gold/relasi").collect()
    shown = {r[0]: _number(r[1]) for r in dom.tables["tabel-relasi"][1:]}
    # A family an update added from a verified proposal is in no registry: relasi null.
    assert shown == {(r["relasi"] or NO_RELASI): r["keluarga"] for r in rows}


@slow
def test_recipients_per_program_equal_gold_penerima_program(period):
    cfg, storage, _, dom = period
    periode = cfg.ranking.periode
    penerima = storage.read("gold/penerima_program").where(F.col("periode") == periode)
    kuota = storage.read("gold/kuota").where(F.col("periode") == periode)
    expected = {
        r["program"]: [r["kuota"], r["saat_ini"]]
        for r in kuota.groupBy("program")
        .agg(F.sum("kuota").alias("kuota"), F.sum("penerima_saat_ini").alias("saat_ini"))
        .collect()
    }
    for r in penerima.groupBy("program").count().collect():
        expected[r["program"]].append(r["count"])
    shown = {r[0]: [_number(v) for v in r[1:]] for r in dom.tables["tabel-program"][1:]}
    assert shown == expected


@slow
def test_holdout_metrics_are_the_champions_run(period):
    cfg, storage, _, dom = period
    model_uri = (
        storage.read("gold/peringkat")
        .where(F.col("periode") == cfg.ranking.periode)
        .first()["model_uri"]
    )
    best = champion(connect(cfg), cfg.mlflow.registered_model)
    assert model_uri == best.model_uri
    shown = {r[0]: r[1:] for r in dom.tables["tabel-holdout"][1:]}
    for metric in ("exclusion_error_40", "inclusion_error_40", "rmse"):
        assert shown[metric] == [
            f"{best.value(metric):.3f}",
            f"{best.metrics['wls_' + metric]:.3f}",
        ]


@slow
def test_desil_by_province_covers_every_ranked_family(period):
    cfg, storage, _, dom = period
    ranked = storage.read("gold/peringkat").where(F.col("periode") == cfg.ranking.periode)
    per_prov = {
        r["p"]: r["count"]
        for r in ranked.groupBy(F.substring("kode_kab", 1, 2).alias("p")).count().collect()
    }
    rows = dom.tables["tabel-desil"][1:]
    assert {r[0]: _number(r[2]) for r in rows} == per_prov
    # Ten shares per province that add up to the whole (rounded to 0.1%).
    for r in rows:
        assert abs(sum(float(v.rstrip("%")) for v in r[3:13]) - 100.0) < 0.6


@slow
def test_the_first_period_says_it_has_no_previous_one(first):
    _, _, _, dom = first
    assert "tanpa-periode-sebelumnya" in dom.ids
    assert "tabel-transisi" not in dom.tables
    # Linked and evaluated against the delivery's truth: the evaluation is shown.
    assert "tabel-linkage" in dom.tables


@slow
def test_the_second_period_shows_the_movement_since_the_first(second):
    _, storage, _, dom = second
    pair = (F.col("dari") == "2025Q1") & (F.col("ke") == "2025Q2")
    cells = {
        (r["desil_lama"], r["desil_baru"]): r["jumlah_keluarga"]
        for r in storage.read("gold/laporan_transisi_desil").where(pair).collect()
    }
    matrix = dom.tables["tabel-transisi"]
    axis = [*range(1, 11), None]
    assert [r[0] for r in matrix[1:]] == [str(d) if d else "-" for d in axis]
    shown = {
        (axis[i], axis[j]): _number(v)
        for i, row in enumerate(matrix[1:])
        for j, v in enumerate(row[1:])
        if _number(v)
    }
    assert shown == {k: v for k, v in cells.items() if v}
    moves = storage.read("gold/laporan_mutasi_program").where(pair)
    assert (
        sum(_number(r[3]) for r in dom.tables["tabel-mutasi"][1:])
        == moves.agg(F.sum("jumlah")).first()[0]
    )
    assert "tanpa-periode-sebelumnya" not in dom.ids
    # The update relinked the register after the first period's evaluation: not shown.
    assert "tabel-linkage" not in dom.tables


@slow
def test_an_earlier_period_without_recorded_runs_is_refused(spark, updated_warehouse, tmp_path):
    cfg, storage = _copy(spark, updated_warehouse[0], tmp_path)
    earlier = cfg.model_copy(
        update={"ranking": cfg.ranking.model_copy(update={"periode": "2025Q1"})}
    )
    with pytest.raises(StorageError, match="no complete run of periode 2025Q1"):
        report(spark, earlier, storage)


@slow
def test_no_personal_data_in_any_report_file(spark, first, second):
    for cfg, storage, _, _ in (first, second):
        persons = storage.read("gold/individu").select("nik", "nama")
        families = storage.read("gold/keluarga").select("no_kk")
        # The test's register is small (1,500 persons): its identifiers fit in memory.
        secrets = {r["nik"] for r in persons.collect() if r["nik"]}
        secrets |= {r["no_kk"] for r in families.collect() if r["no_kk"]}
        secrets |= {r["nama"] for r in persons.collect() if r["nama"] and " " in r["nama"]}
        files = list(Path(cfg.storage.root, "reports").rglob("*"))
        assert any(f.name.startswith("splink_") for f in files)
        for path in (f for f in files if f.is_file()):
            # Hadoop's local file system leaves binary ``.crc`` checksums beside each file.
            text = path.read_bytes().decode("utf-8", errors="replace")
            found = sorted(s for s in secrets if s in text)
            assert found == [], path


def _minimal(**changes) -> Report:
    fields = {
        "periode": "2025Q1",
        "sebelumnya": None,
        "batch": "b1",
        "ingest": [],
        "relasi": [],
        "desil_provinsi": [],
        "kuota": [],
        "model_uri": "models:/dtsen-pmt/1",
        "holdout": [],
        **changes,
    }
    return Report(**fields)


def test_text_from_the_data_is_escaped():
    hostile = "<script>alert(1)</script>"
    page = render(
        _minimal(
            ingest=[{"tabel": hostile, "diterima": 1, "karantina": 0, "dibaca": 1, "alasan": {}}],
            relasi=[{"relasi": "R&D", "keluarga": 2, "persen": 100.0}],
        )
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "R&amp;D" in page


def test_match_weights_are_log2_m_over_u_with_the_prior_first():
    model = {
        "probability_two_random_records_match": 0.2,
        "comparisons": [
            {
                "output_column_name": "nama",
                "comparison_levels": [
                    {"is_null_level": True, "sql_condition": "nama_l IS NULL"},
                    {"label_for_charts": "sama", "m_probability": 0.8, "u_probability": 0.1},
                    {"label_for_charts": "lain", "m_probability": 0.2, "u_probability": None},
                ],
            }
        ],
    }
    assert match_weight_rows(model) == [
        {"perbandingan": "prior", "tingkat": "prior", "bobot": -2.0},
        {"perbandingan": "nama", "tingkat": "sama", "bobot": 3.0},
        {"perbandingan": "nama", "tingkat": "lain", "bobot": None},
    ]


def test_a_wls_champion_is_its_own_baseline():
    metrics = {"exclusion_error_40": 0.2, "wls_exclusion_error_40": 0.3, "rmse": 0.5}
    assert holdout_rows(metrics, champion_is_baseline=False)[:2] == [
        {"metric": "exclusion_error_40", "champion": 0.2, "baseline": 0.3},
        {"metric": "rmse", "champion": 0.5, "baseline": None},
    ]
    assert holdout_rows(metrics, champion_is_baseline=True)[0] == {
        "metric": "exclusion_error_40",
        "champion": 0.3,
        "baseline": 0.3,
    }
