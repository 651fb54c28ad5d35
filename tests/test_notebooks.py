"""Every notebook runs top to bottom on tiny data, so none of them rots."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dtsen.io.delivery import Delivery
from dtsen.storage import Storage
from dtsen.storage.bronze import ingest_table

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _run(name: str) -> str:
    """Execute a notebook in a fresh kernel; return its plain-text outputs."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": os.getcwd()}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    return "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)


@pytest.fixture()
def tiny_warehouse(spark, test_config, tmp_path: Path) -> Path:
    """A warehouse with one ingested table holding one good and one quarantined row."""
    delivery = tmp_path / "delivery" / "referensi"
    delivery.mkdir(parents=True)
    # The bad row is structural (one field too many): only those are quarantined.
    (delivery / "ump.csv").write_text("kode_prov,ump\n11,3685615\n12,3,4\n", encoding="utf-8")
    mapping = test_config.source_mapping()
    storage = Storage(spark, str(tmp_path / "warehouse"))
    ingest_table(
        spark,
        storage,
        Delivery(spark, str(tmp_path / "delivery")),
        "referensi_ump",
        mapping.tables["referensi_ump"],
        "b1",
        dt.date(2025, 6, 30),
    )
    return tmp_path / "warehouse"


@pytest.mark.slow
def test_linkage_diagnostics_runs(linked_warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    _, storage, _ = linked_warehouse
    monkeypatch.setenv("DTSEN_WAREHOUSE", storage.root)
    monkeypatch.setenv("SPARK_MASTER", "local[1]")
    text = _run("linkage_diagnostics.ipynb")
    assert "nama_tgl" in text and "RPD" in text and "keseluruhan" in text


@pytest.mark.slow
def test_ingest_overview_runs(tiny_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DTSEN_WAREHOUSE", str(tiny_warehouse))
    monkeypatch.setenv("SPARK_MASTER", "local[1]")
    text = _run("ingest_overview.ipynb")
    assert "referensi_ump" in text
    assert "COLUMN_COUNT" in text


@pytest.mark.slow
def test_compare_runs_notebook(trained_pmt, mlflow_store, monkeypatch: pytest.MonkeyPatch):
    # The notebook finds the store the way `make run` lays it out: <warehouse>/mlflow.db.
    monkeypatch.setenv("DTSEN_WAREHOUSE", str(mlflow_store))
    text = _run("pmt_compare_runs.ipynb")
    assert "models:/dtsen-pmt/1" in text
    assert "exclusion_error_40" in text and "wls_exclusion_error_40" in text
    assert "RPD" in text
