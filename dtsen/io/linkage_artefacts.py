"""Linkage artefacts: the model and charts a link run leaves behind.

The trained Splink model is saved as JSON named by a hash of its content
(``model-<version>.json``), so every distinct model is kept and a run's outputs can name
the exact model that made them; ``latest.txt`` holds the newest version. Charts go to
``<model_dir>/<version>/``: match weights, m and u values, waterfalls of a sample of
pairs (with the compared values removed: they are personal data), cluster sizes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import altair as alt
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.config import Config
from dtsen.io.files import exists, read_text, write_text

log = logging.getLogger("dtsen.link")
WATERFALL_SAMPLE = 10


def model_version(model: dict[str, Any]) -> str:
    """Content hash of a model: the same trained parameters give the same version.

    ``linker_uid`` is left out: Splink draws it at random for every Linker object.
    """
    stable = {k: v for k, v in model.items() if k != "linker_uid"}
    text = json.dumps(stable, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _cluster_size_chart(assigned: DataFrame) -> str:
    sizes = (
        assigned.groupBy("dtsen_individu_id")
        .agg(F.count(F.lit(1)).alias("records"))
        .groupBy("records")
        .agg(F.count(F.lit(1)).alias("persons"))
        .orderBy("records")
        .toPandas()  # one row per distinct cluster size: a few dozen rows
    )
    chart = (
        alt.Chart(sizes)
        .mark_bar()
        .encode(
            x=alt.X("records:O", title="records per person"), y=alt.Y("persons:Q", title="persons")
        )
        .properties(title="Cluster sizes", width=500)
    )
    return chart.to_html()


def saved_model(spark: SparkSession, cfg: Config) -> dict[str, Any] | None:
    """The newest saved model (``latest.txt``), or None before the first link run."""
    root = cfg.linkage_model_dir.rstrip("/")
    if not exists(spark, f"{root}/latest.txt"):
        return None
    version = read_text(spark, f"{root}/latest.txt").strip()
    return json.loads(read_text(spark, f"{root}/model-{version}.json"))


def save_linkage_artefacts(
    spark: SparkSession, cfg: Config, linker: Any, scored: DataFrame, assigned: DataFrame
) -> str:
    """Save the model JSON and the charts; returns the model version."""
    model = linker.misc.save_model_to_json()
    version = model_version(model)
    root = cfg.linkage_model_dir.rstrip("/")
    write_text(spark, f"{root}/model-{version}.json", json.dumps(model, indent=2))
    write_text(spark, f"{root}/latest.txt", version + "\n")
    charts = {
        "match_weights": linker.visualisations.match_weights_chart(),
        "m_u_parameters": linker.visualisations.m_u_parameters_chart(),
    }
    sample = [
        row.asDict(recursive=True)
        for row in scored.sample(fraction=0.01, seed=cfg.linkage.seed)
        .limit(WATERFALL_SAMPLE)
        .collect()
    ]
    if sample:
        charts["waterfall"] = linker.visualisations.waterfall_chart(
            sample, remove_sensitive_data=True
        )
    for name, chart in charts.items():
        write_text(spark, f"{root}/{version}/{name}.html", chart.to_html(inline=True))
    write_text(spark, f"{root}/{version}/cluster_sizes.html", _cluster_size_chart(assigned))
    log.info("linkage model %s and charts saved to %s", version, root)
    return version
