"""Who becomes champion: the rule, pure, so it is tested without a model registry.

The challenger (the run's tuned XGBoost) takes the alias only when it beats both the
current champion and the run's own linear baseline by the configured margin: a machine
learning PMT has to earn its place against the classic one on the same holdout. When no
champion exists and the challenger does not beat the baseline, the baseline (WLS)
becomes champion, and the decision says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from ranking.metrics import better

CHALLENGER, BASELINE, INCUMBENT = "challenger", "baseline", "incumbent"


@dataclass(frozen=True)
class Decision:
    champion: str
    """``challenger``, ``baseline`` (the run's WLS) or ``incumbent`` (unchanged)."""
    reason: str


def decide(
    metric: str, challenger: float, baseline: float, incumbent: float | None, margin: float
) -> Decision:
    """Apply the promotion rule on ``metric`` (direction from ``ranking.metrics.better``).

    Args:
        challenger, baseline: the run's tuned XGBoost and WLS on the holdout.
        incumbent: the current champion's value, None when there is no champion.
        margin: ``pmt.min_improvement``.
    """
    vs_baseline = f"{metric} {challenger:.4f} vs WLS {baseline:.4f}"
    beats_baseline = better(metric, challenger, baseline, margin)
    if incumbent is None:
        if beats_baseline:
            return Decision(CHALLENGER, f"first champion: {vs_baseline} (margin {margin})")
        return Decision(
            BASELINE,
            f"first champion is WLS: XGBoost does not beat it by {margin} ({vs_baseline})",
        )
    vs_incumbent = f"{metric} {challenger:.4f} vs champion {incumbent:.4f}"
    beats_incumbent = better(metric, challenger, incumbent, margin)
    if beats_baseline and beats_incumbent:
        return Decision(
            CHALLENGER, f"beats champion and WLS by {margin}: {vs_incumbent}, {vs_baseline}"
        )
    failed = [
        text
        for ok, text in ((beats_incumbent, vs_incumbent), (beats_baseline, vs_baseline))
        if not ok
    ]
    return Decision(INCUMBENT, f"champion stays: not better by {margin} on " + "; ".join(failed))
