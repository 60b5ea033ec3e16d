"""The Causal Assurance Score (CAS): five 0-10 components and an overall score,
each computed from this analysis' diagnostics.

Formula (also in the README):

- validity = 10 x mean over the identification gates present (balance, overlap,
  matched_share, effective_sample_size, weight_ratio, separation,
  treatment_variation, and for the designs weak_instrument, density_test,
  pre_trends, pre_fit, placebo) of 1 (pass), 0.5 (warn), 0 (fail).
- precision = 10 x clip(1 - w / (2 SD(Y)), 0, 1), w the CI width: an interval
  as wide as two outcome SDs scores 0, a point scores 10.
- robustness = 10 x clip((E_ci - 1) / 2, 0, 1), E_ci the E-value of the CI bound
  nearest the null (an unmeasured confounder would need RR >= 3 with both
  treatment and outcome to erase significance: 10). With several methods it is
  the mean of that and 10 x the share of other methods whose CI contains this
  estimate (agreement across designs).
- interpretability = 10 x transparency(method) x f(VIF), with transparency a
  registry attribute (1 for regression, 0.7 for cross-fitted AIPW) and
  f = 1 (max VIF < 10), 0.8 (< 30), 0.6 otherwise.
- scalability = from the projected run time at 1M rows, elapsed x (1e6/n)^b
  with b the method's cost exponent: <= 10 s -> 10, <= 60 s -> 8, <= 300 s -> 5,
  <= 1800 s -> 2, else 0 (coarse bands keep the score stable run to run).
- overall = 0.35 validity + 0.20 precision + 0.25 robustness
  + 0.10 interpretability + 0.10 scalability.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from .results import EffectResult, to_jsonable

VALIDITY_GATES = ("balance", "overlap", "matched_share", "effective_sample_size", "weight_ratio",
                  "separation", "treatment_variation", "weak_instrument", "density_test", "pre_trends",
                  "pre_fit", "placebo")
WEIGHTS = {"validity": 0.35, "precision": 0.20, "robustness": 0.25, "interpretability": 0.10,
           "scalability": 0.10}
STATUS_SCORE = {"pass": 1.0, "warn": 0.5, "fail": 0.0}


@dataclass(frozen=True)
class CAS:
    validity: float
    precision: float
    robustness: float
    interpretability: float
    scalability: float
    overall: float
    explanation: dict[str, str] = field(default_factory=dict)

    def components(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in WEIGHTS}

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({**self.components(), "overall": self.overall, "explanation": self.explanation})


def _clip01(x: float) -> float:
    return 0.0 if not math.isfinite(x) else max(0.0, min(1.0, x))


def validity(result: EffectResult) -> tuple[float, str]:
    scores = [STATUS_SCORE[g.status] for g in result.gates if g.name in VALIDITY_GATES]
    if not scores:
        return 5.0, "No identification gate applies to this method; validity is neutral (5)."
    fails = [g.name for g in result.gates if g.name in VALIDITY_GATES and g.status == "fail"]
    text = f"{sum(s == 1 for s in scores)} of {len(scores)} identification gates pass"
    return 10 * sum(scores) / len(scores), text + (f"; failed: {', '.join(fails)}." if fails else ".")


def precision(result: EffectResult) -> tuple[float, str]:
    sd = result.diagnostics.get("outcome_sd")
    width = result.ci_upper - result.ci_lower
    if not math.isfinite(width):
        return 0.0, "No confidence interval, so precision cannot be credited."
    if not sd:  # e.g. synthetic control: a conformal interval but no outcome SD in its diagnostics
        return 0.0, "The method reports no outcome scale to judge the interval's width by; precision is not credited."
    score = 10 * _clip01(1 - width / (2 * sd))
    return score, f"The CI is {width / sd:.2f} outcome standard deviations wide."


def robustness(result: EffectResult, others: Sequence[EffectResult] = ()) -> tuple[float, str]:
    e_ci = result.sensitivity.get("e_value_ci") if result.sensitivity else None
    parts: list[float] = []
    text = []
    if e_ci is not None and math.isfinite(float(e_ci)):
        parts.append(_clip01((float(e_ci) - 1) / 2))
        text.append(f"E-value of the CI bound {float(e_ci):.2f}")
    peers = [o for o in others if o is not result and math.isfinite(o.ci_lower)]
    if peers:
        agree = sum(o.ci_lower <= result.estimate <= o.ci_upper for o in peers) / len(peers)
        parts.append(agree)
        text.append(f"{agree:.0%} of the other methods' intervals contain this estimate")
    if not parts:
        return 0.0, "No sensitivity analysis or second method to judge robustness."
    return 10 * sum(parts) / len(parts), "; ".join(text) + "."


def interpretability(result: EffectResult, transparency: float) -> tuple[float, str]:
    max_vif = result.diagnostics.get("max_vif")
    factor = 1.0 if max_vif is None or max_vif < 10 else (0.8 if max_vif < 30 else 0.6)
    return 10 * transparency * factor, f"method transparency {transparency:.2f}, collinearity factor {factor:.1f}."


def scalability(elapsed_seconds: float | None, n_obs: int, cost_exponent: float) -> tuple[float, str]:
    if elapsed_seconds is None or n_obs <= 0:
        return 5.0, "Run time not measured; scalability is neutral (5)."
    projected = elapsed_seconds * (1e6 / n_obs) ** cost_exponent
    for limit, score in ((10, 10.0), (60, 8.0), (300, 5.0), (1800, 2.0)):
        if projected <= limit:
            return score, f"projected {projected:.0f} s at 1M rows (<= {limit} s)."
    return 0.0, f"projected {projected:.0f} s at 1M rows."


def score(result: EffectResult, *, others: Sequence[EffectResult] = (), elapsed_seconds: float | None = None) -> CAS:
    """The CAS of one result (``others``: the other methods of the same analysis)."""
    from .registry import get

    spec = get(result.method) if result.method else None
    parts = {
        "validity": validity(result),
        "precision": precision(result),
        "robustness": robustness(result, others),
        "interpretability": interpretability(result, spec.transparency if spec else 1.0),
        "scalability": scalability(elapsed_seconds, result.n_obs, spec.cost_exponent if spec else 1.0),
    }
    values = {k: round(v[0], 2) for k, v in parts.items()}
    overall = round(sum(WEIGHTS[k] * values[k] for k in WEIGHTS), 2)
    return CAS(**values, overall=overall, explanation={k: v[1] for k, v in parts.items()})
