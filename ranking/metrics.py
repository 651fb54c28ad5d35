"""How well a PMT ranks: fit on the log scale and targeting errors, with survey weights.

These run on a survey holdout (thousands to a few hundred thousand households), so they
are plain numpy on the driver. Fit metrics weight households by their survey weight;
ranks and targeting errors weight people (survey weight x household size), because
desil are population deciles: "the poorest 40%" means 40% of people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHARES = {40: 0.4, 50: 0.5}
"""Targeting cut-offs: desil 1-4 (PKH) and desil 1-5 (Sembako, PBI-JK)."""
GREATER_IS_BETTER = frozenset({"r2", "spearman"})
"""Metrics (by name ending, whatever the prefix) where larger is better; others: smaller."""


def weighted_percentile(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each unit's midpoint percentile (0-100) of the weighted distribution of ``values``.

    The same definition as the desil step: units sorted by value (ties by position, so
    the result is deterministic), percentile = 100 x (weight before + own weight / 2) /
    total. A unit is in desil 1-4 exactly when its percentile is below 40.
    """
    order = np.lexsort((np.arange(len(values)), values))
    w = weights[order]
    total = w.sum()
    before = np.cumsum(w) - w
    out = np.empty(len(values))
    out[order] = 100.0 * (before + w / 2.0) / total if total > 0 else 50.0
    return out


def _weighted_corr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> float:
    ma, mb = np.average(a, weights=w), np.average(b, weights=w)
    cov = np.average((a - ma) * (b - mb), weights=w)
    var = np.average((a - ma) ** 2, weights=w) * np.average((b - mb) ** 2, weights=w)
    return float(cov / np.sqrt(var)) if var > 0 else float("nan")


def targeting(
    observed: np.ndarray, predicted: np.ndarray, household_weight: np.ndarray, persons: np.ndarray
) -> dict[str, float]:
    """RMSE, R², Spearman and exclusion/inclusion errors at 40% and 50%.

    Args:
        observed: log per-capita expenditure from the survey.
        predicted: the model's prediction of it.
        household_weight: survey weight of the household.
        persons: household size (people weight = survey weight x size).

    Exclusion error at 40%: share of the truly poorest 40% of people not predicted in
    the poorest 40%; inclusion error: share of those predicted in the poorest 40% who
    are not truly there.
    """
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    hw = np.asarray(household_weight, dtype=float)
    pw = hw * np.maximum(np.asarray(persons, dtype=float), 1.0)
    residual = observed - predicted
    sse = np.sum(hw * residual**2)
    sst = np.sum(hw * (observed - np.average(observed, weights=hw)) ** 2)
    true_pct = weighted_percentile(observed, pw)
    pred_pct = weighted_percentile(predicted, pw)
    out = {
        "rmse": float(np.sqrt(sse / hw.sum())),
        "r2": float(1.0 - sse / sst) if sst > 0 else float("nan"),
        "spearman": _weighted_corr(true_pct, pred_pct, pw),
    }
    for label, share in SHARES.items():
        truly, placed = true_pct < 100 * share, pred_pct < 100 * share
        out[f"exclusion_error_{label}"] = _share(pw, truly & ~placed, truly)
        out[f"inclusion_error_{label}"] = _share(pw, placed & ~truly, placed)
    return out


def _share(weights: np.ndarray, part: np.ndarray, whole: np.ndarray) -> float:
    denominator = weights[whole].sum()
    return float(weights[part].sum() / denominator) if denominator > 0 else float("nan")


def by_group(frame: pd.DataFrame, group: str, predicted: str = "prediksi") -> pd.DataFrame:
    """``targeting`` per group (e.g. province): one row per group, plus its household count.

    ``frame`` has ``y`` (observed), ``predicted``, ``bobot`` and ``anggota``. Note that
    within a group the cut-offs are the group's own 40%/50%, like a provincial desil.
    """
    rows = []
    for key, part in frame.groupby(group, sort=True):
        metrics = targeting(part["y"], part[predicted], part["bobot"], part["anggota"])
        rows.append({group: key, "rumah_tangga": len(part), **metrics})
    return pd.DataFrame(rows)


def better(metric: str, candidate: float, incumbent: float, min_improvement: float = 0.0) -> bool:
    """Whether ``candidate`` beats ``incumbent`` on ``metric`` by at least ``min_improvement``."""
    if np.isnan(candidate):
        return False
    if np.isnan(incumbent):
        return True
    if any(metric.endswith(name) for name in GREATER_IS_BETTER):
        return candidate - incumbent > min_improvement
    return incumbent - candidate > min_improvement
