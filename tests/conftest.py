"""One session-scoped SparkSession for the whole suite, tuned for tiny data.

Built through the project's own builder (``dtsen.session``) so tests exercise the same
settings as the jobs: local[2], 2 shuffle partitions, UI off, UTC, warehouse and
checkpoints under pytest's temporary folder.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from dtsen.config import Config, load_config
from dtsen.session import DELTA_JARS_ENV, build_session, remove_scratch

ROOT = Path(__file__).resolve().parents[1]
DELTA_JARS = ROOT / ".cache" / "delta-jars"
"""Where ``make jars`` puts delta-spark's JARs; the session loads them unless
``DTSEN_DELTA_JARS`` names others (an empty value: none, delta-rs only)."""

if DELTA_JARS_ENV not in os.environ and any(DELTA_JARS.glob("*.jar")):
    os.environ[DELTA_JARS_ENV] = str(DELTA_JARS)


def delta_jars_missing_reason() -> str:
    """Why this session has no delta-spark classes: what ``make jars`` recorded, if anything."""
    unavailable = DELTA_JARS / "UNAVAILABLE"
    if unavailable.is_file():
        return unavailable.read_text(encoding="utf-8").strip()
    return (
        f"no delta-spark JARs: run `make jars` (fetches them into {DELTA_JARS}) or set "
        f"{DELTA_JARS_ENV} to a folder of them"
    )


@pytest.fixture(scope="session")
def test_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    root = tmp_path_factory.mktemp("warehouse")
    return load_config(
        None,
        [
            "spark.master=local[2]",
            "spark.shuffle_partitions=2",
            "spark.driver_memory=8g",
            f"spark.scratch_dir={tmp_path_factory.mktemp('scratch')}",
            # One driver serves the whole suite: Spark's status store keeps the plans of
            # the last 1,000 SQL executions by default (with the UI off too), and
            # Splink's plans are large; a 6g heap once ran out in the last link module.
            "spark.extra={spark.ui.enabled: 'false', spark.sql.adaptive.enabled: 'true',"
            " spark.default.parallelism: '2', spark.sql.ui.retainedExecutions: '50',"
            " spark.ui.retainedJobs: '200', spark.ui.retainedStages: '200'}",
        ],
        warehouse=str(root),
        input_dir=str(tmp_path_factory.mktemp("delivery")),
    )


@pytest.fixture(scope="session")
def log_lines() -> list[str]:
    """Every log line the suite's runs emit at INFO and above (the privacy test reads it)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    for name in ("dtsen", "splink"):
        logging.getLogger(name).setLevel(logging.INFO)
    yield lines
    logging.getLogger().removeHandler(handler)


@pytest.fixture(scope="session")
def spark(test_config: Config, log_lines):
    session = build_session(test_config)
    yield session
    remove_scratch(session)
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def release_cached_frames():
    """Drop every cached frame when a test module ends. One local JVM serves the whole
    suite, and the intermediates a stage persists (several link runs' worth) would
    otherwise fill the driver's heap until a broadcast no longer fits."""
    yield
    active = SparkSession.getActiveSession()
    if active is not None:
        active.catalog.clearCache()


@pytest.fixture(scope="session")
def require_delta_spark(spark) -> None:
    """Skip, saying why, when the session has no delta-spark classes."""
    from dtsen.session import has_delta_classes

    if not has_delta_classes(spark):
        pytest.skip(delta_jars_missing_reason())


@pytest.fixture(scope="session")
def small_delivery(spark, test_config: Config, tmp_path_factory: pytest.TempPathFactory):
    """A generated delivery of 1,500 persons, shared by the end-to-end tests."""
    from jobs import generate as generate_job

    out = tmp_path_factory.mktemp("small") / "delivery"
    generate_job.main(
        [
            "--individuals",
            "1500",
            "--input",
            str(out),
            "--warehouse",
            test_config.storage.root,
            "--set",
            "generate.susenas_households=300",
            "--set",
            f"generate.update_output={out.parent / 'update'}",
            "--set",
            "spark.shuffle_partitions=2",
        ]
    )
    return out


@pytest.fixture(scope="session")
def small_warehouse(spark, test_config: Config, small_delivery, tmp_path_factory):
    """The small delivery ingested into its own warehouse: (config, storage, reports)."""
    from dtsen.storage import Storage
    from jobs.ingest import run as ingest

    root = str(tmp_path_factory.mktemp("small_warehouse"))
    cfg = test_config.model_copy(
        update={
            "input": str(small_delivery),
            "storage": test_config.storage.model_copy(update={"root": root}),
        }
    )
    storage = Storage(spark, root, cfg.storage.engine)
    return cfg, storage, ingest(spark, cfg, storage)


@pytest.fixture(scope="session")
def linked_warehouse(spark, small_warehouse):
    """The small warehouse after linkage and evaluation: (config, storage, link figures)."""
    from jobs.evaluate_link import run as evaluation
    from jobs.link import run as link

    cfg, storage, _ = small_warehouse
    figures = link(spark, cfg, storage)
    evaluation(spark, cfg, storage)
    return cfg, storage, figures


def _pmt_config(cfg: Config, tmp_path, **pmt) -> Config:
    return cfg.model_copy(
        update={
            "mlflow": cfg.mlflow.model_copy(
                update={
                    "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
                    "artifact_location": str(tmp_path / "artifacts"),
                }
            ),
            "pmt": cfg.pmt.model_copy(
                update={
                    "hyperparameters": replace(cfg.pmt.hyperparameters, n_estimators=40, **pmt),
                    # Two grid points, up to 200 trees: tuning in seconds on 300 households.
                    "tuning": cfg.pmt.tuning.model_copy(
                        update={"grid": {"max_depth": [2, 3]}, "max_rounds": 200, "folds": 3}
                    ),
                    # The shared champion is the tuned XGBoost whatever a 240-household
                    # holdout says (a negative margin); the WLS path has its own test.
                    "min_improvement": -1.0,
                }
            ),
        }
    )


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory):
    """A folder laid out like a warehouse's MLflow store: ``mlflow.db`` and artifacts."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="session")
def trained_pmt(spark, small_warehouse, mlflow_store):
    """A PMT trained (40 trees) on the small delivery's survey: (config, result)."""
    from jobs.train_pmt import run as train

    cfg, storage, _ = small_warehouse
    cfg = _pmt_config(cfg, mlflow_store)
    return cfg, train(spark, cfg, storage)


@pytest.fixture(scope="session")
def ranked_warehouse(spark, linked_warehouse, trained_pmt):
    """2025Q1 ranked and allocated: (config, storage, rank figures, allocation figures)."""
    from jobs.allocate import run as allocation
    from jobs.rank import run as rank

    _, storage, _ = linked_warehouse
    cfg, _ = trained_pmt
    return cfg, storage, rank(spark, cfg, storage), allocation(spark, cfg, storage)


def apply_update(spark, cfg: Config, storage, periode: str):
    """The update of ``cfg.input`` applied, its period ranked, allocated and compared with
    the previous one, as ``make update`` does: (update figures, movement figures)."""
    from dtsen.cli import recorded
    from jobs.allocate import run as allocation
    from jobs.movement import run as movement
    from jobs.rank import run as rank
    from jobs.update import run as update

    figures = recorded(update, spark, cfg, storage)
    period_cfg = cfg.model_copy(
        update={"ranking": cfg.ranking.model_copy(update={"periode": periode})}
    )
    recorded(rank, spark, period_cfg, storage)
    recorded(allocation, spark, period_cfg, storage)
    return figures, recorded(movement, spark, period_cfg, storage)


@pytest.fixture(scope="session")
def updated_warehouse(spark, ranked_warehouse, mlflow_store, small_delivery, tmp_path_factory):
    """A copy of the ranked 2025Q1 register with the synthetic 2025Q2 update applied:
    (config, storage, the register before, update figures, movement figures, periode).

    The config's ``ranking.periode`` is the update's period."""
    from dtsen.storage import Storage

    cfg, shared, _, _ = ranked_warehouse
    root = tmp_path_factory.mktemp("updated") / "warehouse"
    shutil.copytree(shared.root, root)
    delivery = small_delivery.parent / "update"
    periode = (delivery / "periode.txt").read_text().strip()
    cfg = cfg.model_copy(
        update={
            "input": str(delivery),
            "storage": cfg.storage.model_copy(update={"root": str(root)}),
        }
    )
    storage = Storage(spark, str(root), cfg.storage.engine)
    before = {
        "link_individu": storage.read("gold/link_individu").localCheckpoint(),
        "link_keluarga": storage.read("gold/link_keluarga").localCheckpoint(),
    }
    figures, report = apply_update(spark, cfg, storage, periode)
    cfg = cfg.model_copy(update={"ranking": cfg.ranking.model_copy(update={"periode": periode})})
    return cfg, storage, before, figures, report, periode


@pytest.fixture
def isolate(spark, tmp_path):
    """``isolate(cfg, mlflow_dir=None) -> (cfg, storage)``: a private copy of the warehouse
    (and of an MLflow store folder, if given).

    For tests that change what the shared fixtures hold (re-running a stage, writing
    another period, registering another model version): they work on the copy, so the
    session's fixtures stay as every other test expects them. Delta logs hold paths
    relative to each table, so a copied table is the same table.
    """
    from dtsen.storage import Storage

    def copy(cfg: Config, mlflow_dir=None):
        root = tmp_path / "warehouse"
        shutil.copytree(cfg.storage.root, root)
        update: dict = {"storage": cfg.storage.model_copy(update={"root": str(root)})}
        if mlflow_dir is not None:
            store = tmp_path / "mlflow"
            shutil.copytree(mlflow_dir, store)
            update["mlflow"] = cfg.mlflow.model_copy(
                update={
                    "tracking_uri": f"sqlite:///{store}/mlflow.db",
                    "artifact_location": str(store / "artifacts"),
                }
            )
        isolated = cfg.model_copy(update=update)
        return isolated, Storage(spark, str(root), cfg.storage.engine)

    return copy
