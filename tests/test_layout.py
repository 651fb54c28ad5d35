"""The tree shows the architecture: stage modules in ``jobs/``, imports pointing down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("jobs", "dtsen", "publish", "ranking", "linkage", "delivery")
"""Top to bottom: a package may import only the packages below it (and ``conf``)."""
SHARED = {"dtsen.errors", "dtsen.progress"}
"""Leaves every layer may use: one exception hierarchy for the whole project, and one way
to report a long stage's steps."""
STAGES = {
    "generate",
    "ingest",
    "link",
    "evaluate_link",
    "evaluate_pmt",
    "train_pmt",
    "rank",
    "allocate",
    "movement",
    "update",
    "cek",
    "export",
    "report",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_jobs_holds_only_stage_entry_points() -> None:
    names = {p.stem for p in (ROOT / "jobs").glob("*.py")} - {"__init__"}
    assert names == STAGES
    assert not [p for p in (ROOT / "jobs").iterdir() if p.is_dir() and p.name != "__pycache__"]
    for stage in STAGES:
        tree = ast.parse((ROOT / "jobs" / f"{stage}.py").read_text(encoding="utf-8"))
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert {"run", "main"} <= functions, stage


@pytest.mark.parametrize("package", LAYERS)
def test_imports_point_down(package: str) -> None:
    # No job imports another job either.
    above = set(LAYERS[: LAYERS.index(package)]) | ({"jobs"} if package == "jobs" else set())
    wrong = {}
    for path in _modules(package):
        bad = sorted(m for m in _imports(path) if m.split(".")[0] in above and m not in SHARED)
        if bad:
            wrong[str(path.relative_to(ROOT))] = bad
    assert wrong == {}
