"""Readable views of a trained Splink model (for notebooks and reports)."""

from __future__ import annotations

import math
from typing import Any


def model_parameters(model: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per comparison level: m, u and the match weight log2(m/u).

    Args:
        model: the model JSON a linkage run saved (Splink's settings dictionary).
    """
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level.get("label_for_charts", level["sql_condition"]),
                    "m": m,
                    "u": u,
                    "match_weight": weight,
                }
            )
    return rows
