"""Choosing the PMT's XGBoost settings on the survey: grouped folds, early stopping, a grid.

Why folds grouped by province: the register is ranked in every province with one model,
and households of one province share prices and unobserved conditions, so a fold that
mixes them with their neighbours would reward memorising a province. Each province goes
to one fold (every masked copy of a household with it), folds are balanced by survey
weight, and every fit and score honours the survey weights. Why tune on RMSE of the
log expenditure: it is smooth and stable on small folds, where exclusion error at the
40th percentile jumps with a handful of households; the holdout then reports targeting.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace
from itertools import product

import numpy as np
import pandas as pd

from ranking.trainers import LABEL, WEIGHT, XgbParams


def grouped_folds(groups: pd.Series, weights: pd.Series, k: int, seed: int) -> pd.Series:
    """The fold (0..k-1) of every row: whole groups per fold, folds balanced by weight.

    Groups are taken heaviest first (ties by a seeded hash of the name, then the name,
    so the result is reproducible) and each goes to the fold with the least weight so
    far (ties: the lowest fold number).

    Args:
        groups: each row's group (e.g. province code).
        weights: each row's weight (the survey weight).
        k: number of folds (at most the number of groups).
        seed: seed of the hash that orders groups of equal weight.
    """
    totals = weights.groupby(groups.to_numpy()).sum()
    if k < 2 or k > len(totals):
        raise ValueError(f"pmt.tuning.folds: need 2 <= folds <= {len(totals)} groups, got {k}")
    salt = pd.util.hash_array(totals.index.to_numpy(dtype=str), hash_key=f"{seed:016d}"[:16])
    order = sorted(
        zip(totals.index, totals.to_numpy(), salt, strict=True),
        key=lambda g: (-g[1], int(g[2]), str(g[0])),
    )
    load = np.zeros(k)
    fold_of: dict[object, int] = {}
    for name, weight, _ in order:
        fold = int(np.argmin(load))
        fold_of[name] = fold
        load[fold] += weight
    return groups.map(fold_of).astype(int)


def household_folds(keys: pd.Series, k: int, seed: int) -> pd.Series:
    """The fold (0..k-1) of every row by a seeded hash of its household key.

    Every masked copy of a household lands in the same fold, and each fold is a random
    share of every province's households: what the register is, new households in
    provinces the survey covers (the province folds of :func:`grouped_folds` ask a
    harder question, a province never seen, which suits tuning but not promotion).

    Args:
        keys: each row's household key.
        k: number of folds (at least 2).
        seed: seed of the hash.
    """
    if k < 2:
        raise ValueError(f"pmt.evaluation_folds: need at least 2 folds, got {k}")
    hashed = pd.util.hash_array(keys.to_numpy(dtype=str), hash_key=f"{seed:016d}"[:16])
    return pd.Series((hashed % np.uint64(k)).astype(int), index=keys.index)


def monotone_constraints(columns: list[str], rules: dict[str, int]) -> tuple[int, ...]:
    """XGBoost's monotone constraint per column: the first rule (a glob) that matches.

    >>> monotone_constraints(["aset_ac", "log_jumlah_anggota", "x"],
    ...                      {"aset_*": 1, "log_jumlah_anggota": -1})
    (1, -1, 0)
    """
    bad = {k: v for k, v in rules.items() if v not in (-1, 0, 1)}
    if bad:
        raise ValueError(f"pmt.tuning.monotone: directions must be -1, 0 or 1, got {bad}")
    out = []
    for column in columns:
        out.append(next((d for p, d in rules.items() if fnmatch.fnmatchcase(column, p)), 0))
    return tuple(out)


def _booster_params(params: XgbParams, seed: int, monotone: tuple[int, ...]) -> dict:
    return {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "max_depth": params.max_depth,
        "eta": params.learning_rate,
        "subsample": params.subsample,
        "colsample_bytree": params.colsample_bytree,
        "min_child_weight": params.min_child_weight,
        "lambda": params.reg_lambda,
        "seed": seed,
        "nthread": 2,
        "monotone_constraints": "(" + ",".join(str(m) for m in monotone) + ")",
    }


def _matrix(frame: pd.DataFrame, columns: list[str]):
    import xgboost

    return xgboost.DMatrix(
        frame[columns].astype(float), label=frame[LABEL], weight=frame[WEIGHT], missing=np.nan
    )


@dataclass(frozen=True)
class TuningResult:
    """The chosen settings and every candidate's cross-validated score."""

    params: XgbParams
    table: pd.DataFrame
    """One row per grid point: its settings, ``cv_rmse`` and ``best_rounds``."""


def tune(
    train: pd.DataFrame,
    columns: list[str],
    grid: dict[str, list],
    base: XgbParams,
    folds: pd.Series,
    monotone: tuple[int, ...],
    early_stopping_rounds: int,
    seed: int,
) -> TuningResult:
    """Grid search by grouped cross-validation with early stopping.

    For each grid point, each fold is held out in turn: trees are added (up to
    ``base.n_estimators``) until the held-out fold's weighted RMSE has not improved for
    ``early_stopping_rounds``. The point's score is the weight-averaged best RMSE over
    folds and its rounds the mean best iteration; the lowest score wins (ties: the first
    grid point, so the grid's order is the tie-breaker). The winner is returned with
    ``n_estimators`` set to its rounds.
    """
    import xgboost

    keys = sorted(grid)
    rows = []
    for values in product(*(grid[k] for k in keys)):
        params = replace(base, **dict(zip(keys, values, strict=True)))
        scores, rounds, weights = [], [], []
        for fold in sorted(folds.unique()):
            held = (folds == fold).to_numpy()
            booster = xgboost.train(
                _booster_params(params, seed, monotone),
                _matrix(train[~held], columns),
                num_boost_round=base.n_estimators,
                evals=[(_matrix(train[held], columns), "valid")],
                early_stopping_rounds=early_stopping_rounds,
                verbose_eval=False,
            )
            scores.append(booster.best_score)
            rounds.append(booster.best_iteration + 1)
            weights.append(train.loc[held, WEIGHT].sum())
        rows.append(
            {
                **dict(zip(keys, values, strict=True)),
                "cv_rmse": float(np.average(scores, weights=weights)),
                "best_rounds": int(round(np.mean(rounds))),
            }
        )
    table = pd.DataFrame(rows)
    best = table.iloc[int(np.argmin(table["cv_rmse"].to_numpy()))]
    chosen = replace(
        base,
        **{k: type(getattr(base, k))(best[k]) for k in keys},
        n_estimators=int(best["best_rounds"]),
    )
    return TuningResult(chosen, table)


def fit_booster(
    train: pd.DataFrame, columns: list[str], params: XgbParams, monotone: tuple[int, ...], seed: int
):
    """The final booster on all training rows with the chosen settings."""
    import xgboost

    return xgboost.train(
        _booster_params(params, seed, monotone),
        _matrix(train, columns),
        num_boost_round=params.n_estimators,
    )
