"""Holdout evaluation of a PMT: headline metrics as the register sees them, and breakdowns.

Pure pandas over the (survey-sized) holdout; the figures feed MLflow and promotion.
"""

from __future__ import annotations

import pandas as pd

from ranking import metrics as M
from ranking.features import RELASI
from ranking.survey import FULL
from ranking.training import CANDIDATES

HEADLINE = (
    "rmse",
    "r2",
    "spearman",
    "exclusion_error_40",
    "inclusion_error_40",
    "exclusion_error_50",
    "inclusion_error_50",
)
"""Metrics of ``ranking.metrics.targeting``, logged for each candidate (``CANDIDATES``)."""

CROSS_VALIDATED = "cv_"
"""Scope of the metrics over the training households scored out of fold."""

PROMOTION_METRICS = (
    *HEADLINE,
    *[f"observed_{h}" for h in HEADLINE],
    *[f"{CROSS_VALIDATED}{h}" for h in HEADLINE],
)
"""The metrics ``pmt.promotion_metric`` may name (checked when the config loads)."""


def as_register(frame: pd.DataFrame, mix: dict[str, float]) -> pd.DataFrame:
    """``frame`` (households x patterns) weighted as the register sees it: each copy's
    ``bobot`` times its pattern's share of register families; patterns not in ``mix``
    dropped."""
    unknown = sorted(set(mix) - set(RELASI))
    if unknown:
        raise ValueError(f"pmt.relasi_mix: unknown relasi {unknown}; expected {RELASI}")
    register = frame.assign(bobot=frame["bobot"] * frame["relasi"].map(mix).fillna(0.0))
    return register[register["bobot"] > 0]


def cross_validated_metrics(scored: pd.DataFrame, mix: dict[str, float]) -> dict[str, float]:
    """The headline metrics over the training households scored out of fold
    (``ranking.training.cross_validated``), register mix, each the mean over the
    repeats (``ulangan``): ``<prefix>cv_<metric>``."""
    register = as_register(scored, mix)
    out: dict[str, float] = {}
    for model, prefix in CANDIDATES.items():
        per_repeat = pd.DataFrame(
            [
                M.targeting(rows["y"], rows[model], rows["bobot"], rows["anggota"])
                for _, rows in register.groupby("ulangan")
            ]
        )
        means = per_repeat.mean()
        out.update({f"{prefix}{CROSS_VALIDATED}{k}": float(v) for k, v in means.items()})
    return out


def holdout_metrics(
    holdout: pd.DataFrame, mix: dict[str, float]
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame]:
    """Headline metrics, the per-relasi table and the per-province table.

    The headline ranks the holdout as the register would see it: every household once
    per relasi pattern (masked accordingly), weighted by that pattern's share of
    register families (``mix``). ``observed_*`` are the same metrics on the holdout as
    surveyed (every variable present). Per relasi, Spearman and the exclusion and
    inclusion errors at desil 1-4 and 1-5 are added as ``<prefix>relasi_<R>_<metric>``.

    Args:
        holdout: one row per household and pattern: ``y``, ``xgb``, ``wls``, ``bobot``,
            ``anggota``, ``relasi``, ``kode_wilayah``.
        mix: relasi -> share of register families.
    """
    register = as_register(holdout, mix)
    observed = holdout[holdout["relasi"] == FULL]
    headline: dict[str, float] = {}
    for model, prefix in CANDIDATES.items():
        for frame, scope in ((register, ""), (observed, "observed_")):
            scores = M.targeting(frame["y"], frame[model], frame["bobot"], frame["anggota"])
            headline.update({f"{prefix}{scope}{k}": v for k, v in scores.items()})
    by_relasi = pd.concat(
        [M.by_group(holdout, "relasi", model).assign(model=model) for model in CANDIDATES]
    )
    for _, row in by_relasi.iterrows():
        prefix = CANDIDATES[row["model"]]
        for metric in ("spearman", *[h for h in HEADLINE if "_error_" in h]):
            headline[f"{prefix}relasi_{row['relasi']}_{metric}"] = row[metric]
    by_province = M.by_group(
        register.assign(provinsi=register["kode_wilayah"].str[:2]), "provinsi", "xgb"
    )
    return headline, by_relasi, by_province


def format_comparison(model_uri: str, run_id: str, metrics: dict[str, float]) -> str:
    """The champion's holdout and cross-validated (``cv_``) metrics next to the other
    candidates of the same run."""
    lines = [f"champion {model_uri} (run {run_id})"]
    lines.append(f"{'metric (cv_: out of fold)':<29} {'tuned':>9} {'default':>9} {'wls':>9}")
    nan = float("nan")
    for name in (*PROMOTION_METRICS, "train_seconds"):
        values = [metrics.get(f"{prefix}{name}", nan) for prefix in CANDIDATES.values()]
        lines.append(f"{name:<29} " + " ".join(f"{v:>9.4f}" for v in values))
    return "\n".join(lines)
