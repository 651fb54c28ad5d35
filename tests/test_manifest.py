"""Run manifests: every run recorded, and readers see only what complete runs published."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from dtsen import cli
from dtsen.errors import BadDeliveryError
from dtsen.storage import Storage
from dtsen.storage.manifest import COMPLETE, FAILED, manifests, published_versions


def _argv(test_config, root) -> list[str]:
    return [
        "--warehouse",
        str(root),
        "--set",
        "spark.shuffle_partitions=2",
        "--set",
        f"spark.scratch_dir={test_config.spark.scratch_dir}",
    ]


def writer(spark, cfg, storage, fail_after_first: bool = False):
    """A two-table stage: ``meta/a`` then ``meta/b``, each holding the run's value."""
    value = len(manifests(storage)) + 1
    frame = spark.createDataFrame([(value,)], "v int")
    storage.write(frame, "meta/a")
    if fail_after_first:
        raise BadDeliveryError("the second write never happens")
    storage.write(frame, "meta/b")
    return {"periode": "2025Q1", "value": value}


def reader(spark, cfg, storage):
    """Reads both tables as published."""
    return {
        "a": storage.read("meta/a").first()["v"],
        "b": storage.read("meta/b").first()["v"],
    }


FLAGS = [(("--fail-after-first",), {"action": "store_true"})]


def test_a_stage_that_dies_between_two_writes_publishes_neither(spark, test_config, tmp_path):
    argv = _argv(test_config, tmp_path / "w")
    assert cli.run_stage(argv, "writer", writer, str, FLAGS)["value"] == 1
    with pytest.raises(BadDeliveryError):
        cli.run_stage([*argv, "--fail-after-first"], "writer", writer, str, FLAGS)
    storage = Storage(spark, str(tmp_path / "w"))
    # meta/a has version 1 from the failed run, but readers still see version 0.
    assert storage.version("meta/a") == 1 and storage.version("meta/b") == 0
    assert published_versions(storage) == {"meta/a": 0, "meta/b": 0}
    assert cli.run_stage(argv, "reader", reader, str) == {"a": 1, "b": 1}

    runs = manifests(storage)
    assert [(m["stage"], m["status"], m["periode"]) for m in runs] == [
        ("test_manifest", COMPLETE, "2025Q1"),
        ("test_manifest", FAILED, None),
        ("test_manifest", COMPLETE, None),
    ]
    assert [(m["dibaca"], m["ditulis"]) for m in runs] == [
        ({}, {"meta/a": 0, "meta/b": 0}),
        ({}, {"meta/a": 1}),
        ({"meta/a": 0, "meta/b": 0}, {}),
    ]
    assert runs[1]["error"] == "BadDeliveryError: the second write never happens"
    assert len({m["run_id"] for m in runs}) == 3
    assert all(m["code_version"].startswith("0.1.0") for m in runs)
    # An explicit version still reads any version (time travel).
    assert storage.read("meta/a", 1).where(F.col("v") == 2).count() == 1
