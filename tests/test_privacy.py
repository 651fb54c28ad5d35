"""No NIK or name leaves the register: logs, MLflow artifacts, linkage charts, scratch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
NIK = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def _texts(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` as text (binary files decoded leniently)."""
    return {
        str(p.relative_to(folder)): p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_no_nik_or_name_in_logs_artifacts_or_charts(
    linked_warehouse, trained_pmt, mlflow_store, log_lines, test_config
) -> None:
    cfg, storage, _ = linked_warehouse
    people = storage.read("bronze/dukcapil_penduduk").select("NIK", "NAMA_LGKP").collect()
    niks = {r["NIK"] for r in people}
    names = {r["NAMA_LGKP"] for r in people if r["NAMA_LGKP"] and " " in r["NAMA_LGKP"]}
    assert len(niks) > 1000 and len(names) > 500  # the delivery really has both to leak

    places = {"logs": "\n".join(log_lines)}
    places |= {f"linkage/{k}": v for k, v in _texts(Path(cfg.linkage_model_dir)).items()}
    places |= {f"mlflow/{k}": v for k, v in _texts(mlflow_store).items() if k != "mlflow.db"}
    assert any(k.endswith("input_example.json") for k in places)
    assert any(k.endswith("waterfall.html") for k in places)
    assert len(log_lines) > 20
    leaks = {}
    for where, text in places.items():
        found = set(NIK.findall(text)) & niks
        upper = text.upper()
        named = {n for n in names if n in upper}
        if found or named:
            leaks[where] = (sorted(found)[:3], sorted(named)[:3])
    assert leaks == {}


def checkpointing(spark, cfg, storage):
    """A stage that checkpoints (as linkage does), and says where its scratch was."""
    from dtsen.session import scratch_dir

    spark.range(10).checkpoint().count()
    folder = Path(scratch_dir(spark))
    return {"scratch": folder, "held": sorted(p.name for p in folder.iterdir())}


def test_scratch_is_outside_the_warehouse_and_removed_after_a_job(spark, test_config, tmp_path):
    from dtsen import cli

    argv = ["--warehouse", str(tmp_path / "w"), "--set", f"spark.scratch_dir={tmp_path / 's'}"]
    figures = cli.run_stage(argv, "checkpoints", checkpointing, str)
    assert figures["held"] == ["checkpoints"]
    assert figures["scratch"].parent == tmp_path / "s"
    assert not figures["scratch"].exists()
