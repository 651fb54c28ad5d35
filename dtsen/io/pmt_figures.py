"""Figures logged with every PMT run. They show features and aggregates, never a person."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import xgboost
    from matplotlib.figure import Figure


def _figure(width: float, height: float) -> Figure:
    # The object-oriented API with the Agg canvas: no display, no global pyplot state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def importance_figure(booster: xgboost.Booster, top: int = 25) -> Figure:
    """Total gain of the ``top`` most important features."""
    gain = booster.get_score(importance_type="total_gain")
    ranked = sorted(gain.items(), key=lambda kv: (-kv[1], kv[0]))[:top][::-1]
    figure = _figure(7, 0.28 * len(ranked) + 1.2)
    axes = figure.add_subplot()
    axes.barh([k for k, _ in ranked], [v for _, v in ranked], color="#3b6ea5")
    axes.set_xlabel("total gain")
    axes.set_title(f"XGBoost feature importance (top {len(ranked)})")
    figure.tight_layout()
    return figure


def prediction_figure(holdout: pd.DataFrame) -> Figure:
    """Predicted against observed log per-capita expenditure on the holdout, both models."""
    figure = _figure(10, 4.6)
    low, high = np.percentile(holdout["y"], [0.5, 99.5])
    for i, (column, title) in enumerate((("xgb", "XGBoost"), ("wls", "WLS baseline"))):
        axes = figure.add_subplot(1, 2, i + 1)
        axes.hexbin(holdout["y"], holdout[column], gridsize=40, mincnt=1, cmap="Blues")
        axes.plot([low, high], [low, high], color="#c0392b", linewidth=1)
        axes.set_xlim(low, high)
        axes.set_ylim(low, high)
        axes.set_xlabel("observed log per-capita expenditure")
        axes.set_ylabel("predicted")
        axes.set_title(title)
    figure.tight_layout()
    return figure


def runs_figure(runs: pd.DataFrame, metric: str = "exclusion_error_40") -> Figure:
    """``metric`` per run (oldest left), XGBoost against the WLS baseline of the same run."""
    ordered = runs.sort_values("mulai")
    labels = [f"v{v or '?'}" for v in ordered["versi"]]
    x = np.arange(len(ordered))
    figure = _figure(max(5.0, 0.6 * len(ordered) + 2), 3.8)
    axes = figure.add_subplot()
    axes.bar(x - 0.2, ordered[metric], 0.4, label="XGBoost", color="#3b6ea5")
    axes.bar(x + 0.2, ordered[f"wls_{metric}"], 0.4, label="WLS baseline", color="#b0b0b0")
    axes.set_xticks(x, labels)
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} on the holdout, per run")
    axes.legend()
    figure.tight_layout()
    return figure
