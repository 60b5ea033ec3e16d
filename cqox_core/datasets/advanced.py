"""Designs few tools cover, with a known truth: mediation, proximal inference, transportability.

Each generator takes a size and a seed (the same arguments give the same frame) and
says in its docstring what the truth is and which naive estimate misses it. The
``*_example`` functions are the registry's small examples of the three methods.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..registry import Example

# --------------------------------------------------------------------------
# mediation
# --------------------------------------------------------------------------

#: Path coefficients of simulate_mediation: T -> M (a), M -> Y (b), T -> Y (c, the direct effect).
MEDIATION_A, MEDIATION_B, MEDIATION_C = 1.0, 1.5, 0.8
#: ACME = a * b, ADE = c, total = a * b + c (linear models, no interaction).
MEDIATION_ACME = MEDIATION_A * MEDIATION_B
MEDIATION_ADE = MEDIATION_C


def simulate_mediation(n: int, seed: int, *, rho: float = 0.0, interaction: float = 0.0,
                       binary_outcome: bool = False) -> pd.DataFrame:
    """Treatment ``treated`` -> mediator ``m`` -> outcome ``y``, confounded by x1 (numeric) and x2 (0/1).

    m = 0.5 + a T + 0.6 x1 + 0.4 x2 + e_m,  y = 1 + c T + b m + d T m + 0.8 x1 - 0.5 x2 + e_y,
    with T ~ Bernoulli(logistic(0.5 x1 - 0.3 x2)) and corr(e_m, e_y) = rho (rho != 0 is a
    confounder of mediator and outcome that nobody measured). With d = 0 the ACME is a b =
    MEDIATION_ACME and the ADE c. x1 drives both mediator and outcome, so the product of
    coefficients without covariates is biased upwards. ``binary_outcome`` thresholds the
    latent y at its intercept-free probit index: y = 1[1 + c T + b m + ... + e_y > 2.5]
    with e_y ~ N(0, 1), a probit outcome model (truth from ``mediation_truth``).
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.5).astype(float)
    t = (rng.random(n) < 1.0 / (1.0 + np.exp(-(0.5 * x1 - 0.3 * x2)))).astype(np.int64)
    e_m = rng.normal(size=n)
    e_y = rho * e_m + np.sqrt(1.0 - rho ** 2) * rng.normal(size=n)
    m = 0.5 + MEDIATION_A * t + 0.6 * x1 + 0.4 * x2 + e_m
    index = 1.0 + MEDIATION_C * t + MEDIATION_B * m + interaction * t * m + 0.8 * x1 - 0.5 * x2
    y = (index + e_y > 2.5).astype(float) if binary_outcome else index + e_y
    return pd.DataFrame({"y": y, "treated": t, "m": m, "x1": x1, "x2": x2})


def mediation_truth(frame: pd.DataFrame, *, interaction: float = 0.0, binary_outcome: bool = False
                    ) -> dict[str, float]:
    """True ACME, ADE and total effect of ``simulate_mediation`` (rho = 0), averaged over the frame's
    covariates: E[Y(t, M(t'))] integrates the normal mediator error analytically."""
    x1, x2 = frame["x1"].to_numpy(), frame["x2"].to_numpy()

    def mu(t: int, t_m: int) -> float:
        mean_m = 0.5 + MEDIATION_A * t_m + 0.6 * x1 + 0.4 * x2
        slope = MEDIATION_B + interaction * t
        lin = 1.0 + MEDIATION_C * t + 0.8 * x1 - 0.5 * x2 + slope * mean_m
        if binary_outcome:  # P(lin + slope e_m + e_y > 2.5), e_m, e_y independent N(0, 1)
            return float(np.mean(stats.norm.cdf((lin - 2.5) / np.sqrt(1.0 + slope ** 2))))
        return float(np.mean(lin))

    acme = 0.5 * ((mu(0, 1) - mu(0, 0)) + (mu(1, 1) - mu(1, 0)))
    ade = 0.5 * ((mu(1, 0) - mu(0, 0)) + (mu(1, 1) - mu(0, 1)))
    return {"acme": acme, "ade": ade, "total": mu(1, 1) - mu(0, 0)}


def mediation_example(seed: int = 0) -> Example:
    """2,000 rows, ACME 1.5 through m, direct effect 0.8, confounded by x1 and x2."""
    frame = simulate_mediation(2_000, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "treated", "mediator": "m",
                                       "covariates": ["x1", "x2"]},
                   truth=MEDIATION_ACME, params={"n_sims": 500},
                   note="without x1 the mediator-outcome slope, and so the ACME, is biased upwards")


# --------------------------------------------------------------------------
# proximal causal inference
# --------------------------------------------------------------------------

PROXIMAL_EFFECT = 2.0


def simulate_proximal(n: int, seed: int, *, binary_treatment: bool = True) -> pd.DataFrame:
    """An unmeasured confounder u of treatment ``a`` and outcome ``y``, with two proxies of it.

    z = 0.8 u + 0.3 x + e_z   negative-control exposure: shares u, no effect on y (it may move a)
    w = 0.9 u - 0.2 x + e_w   negative-control outcome: caused by u, not by a or z
    a ~ Bernoulli(logistic(0.8 u + 0.4 x + 0.3 z))  (or a = that index + noise, continuous)
    y = 2 a + 1.5 u + 0.5 x + e_y

    The true effect of a is PROXIMAL_EFFECT = 2. The outcome bridge h = 2 a + (1.5 / 0.9) w +
    (0.5 + 0.2 * 1.5 / 0.9) x satisfies E[y - h | a, z, x] = 0 exactly (both y and w are linear
    in u), so proximal 2SLS is consistent; OLS of y on a and x is biased upwards by u, and adding
    z and w as covariates only shrinks that bias. ``u`` is returned for checks; analyses must not
    use it.
    """
    rng = np.random.default_rng(seed)
    u, x = rng.normal(size=n), rng.normal(size=n)
    z = 0.8 * u + 0.3 * x + rng.normal(size=n)
    w = 0.9 * u - 0.2 * x + rng.normal(size=n)
    index = 0.8 * u + 0.4 * x + 0.3 * z
    if binary_treatment:
        a = (rng.random(n) < 1.0 / (1.0 + np.exp(-index))).astype(np.int64)
    else:
        a = index + rng.normal(size=n)
    y = PROXIMAL_EFFECT * a + 1.5 * u + 0.5 * x + rng.normal(size=n)
    return pd.DataFrame({"y": y, "a": a, "x": x, "z": z, "w": w, "u": u})


def proximal_example(seed: int = 0) -> Example:
    """2,000 rows, binary treatment confounded by an unmeasured u; proxies z (NCE) and w (NCO); effect 2."""
    frame = simulate_proximal(2_000, seed).drop(columns="u")
    return Example(frame=frame, roles={"outcome": "y", "treatment": "a", "covariates": ["x"]},
                   truth=PROXIMAL_EFFECT, params={"nce": "z", "nco": "w"},
                   note="OLS of y on a and x is biased upwards by the unmeasured u")


# --------------------------------------------------------------------------
# transportability
# --------------------------------------------------------------------------

#: simulate_transport: the effect is 1 + 1.5 x1 + curvature x1^2 (x1 modifies it); the target has larger x1.
TRANSPORT_BASE, TRANSPORT_MODIFIER = 1.0, 1.5


def selection_index(x1: np.ndarray, x2: np.ndarray, curvature: float) -> np.ndarray:
    """Log-odds of a unit belonging to the target population rather than the study."""
    return -0.3 + 1.2 * x1 - 0.5 * x2 + curvature * x1 ** 2


def simulate_transport(n: int, seed: int, *, effect_curvature: float = 0.0, selection_curvature: float = 0.0,
                       shift: float = 0.0) -> pd.DataFrame:
    """A pooled sample of a study (``site`` = 0) and a target population (``site`` = 1).

    x1 ~ N(0, 1), x2 ~ Bernoulli(0.5); P(target | x) = logistic(-0.3 + 1.2 x1 - 0.5 x2 +
    selection_curvature x1^2), so the target has larger x1. In the study, treatment ``a`` ~
    Bernoulli(logistic(0.4 x1 + 0.3 x2)) (confounded by x) and
    y = 1 + x1 + 0.5 x2 + a (1 + 1.5 x1 + effect_curvature x1^2) + e. x1 modifies the effect and
    its distribution differs, so the study's own ATE differs from the target's (truth from
    ``transport_truth``). Target rows have no outcome or treatment (NaN). ``shift`` moves the
    target rows' x1 by that much after selection (no overlap for a large shift).
    """
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), (rng.random(n) < 0.5).astype(float)
    target = rng.random(n) < 1.0 / (1.0 + np.exp(-selection_index(x1, x2, selection_curvature)))
    x1 = np.where(target, x1 + shift, x1)
    a = (rng.random(n) < 1.0 / (1.0 + np.exp(-(0.4 * x1 + 0.3 * x2)))).astype(float)
    effect = TRANSPORT_BASE + TRANSPORT_MODIFIER * x1 + effect_curvature * x1 ** 2
    y = 1.0 + x1 + 0.5 * x2 + a * effect + rng.normal(size=n)
    return pd.DataFrame({"y": np.where(target, np.nan, y), "a": np.where(target, np.nan, a), "x1": x1, "x2": x2,
                         "site": target.astype(np.int64)})


def transport_truth(*, effect_curvature: float = 0.0, selection_curvature: float = 0.0) -> dict[str, float]:
    """Population ATE in the target and in the study of ``simulate_transport`` (shift 0), by quadrature
    over x1 for each x2."""
    grid = np.linspace(-9.0, 9.0, 20_001)
    density = stats.norm.pdf(grid)
    sums = {"target": [0.0, 0.0], "study": [0.0, 0.0]}
    for x2 in (0.0, 1.0):
        p = 1.0 / (1.0 + np.exp(-selection_index(grid, np.full_like(grid, x2), selection_curvature)))
        effect = TRANSPORT_BASE + TRANSPORT_MODIFIER * grid + effect_curvature * grid ** 2
        for name, share in (("target", p), ("study", 1 - p)):
            sums[name][0] += np.trapezoid(effect * share * density, grid)
            sums[name][1] += np.trapezoid(share * density, grid)
    return {name: float(num / den) for name, (num, den) in sums.items()}


def transport_example(seed: int = 0) -> Example:
    """3,000 pooled rows; the effect grows with x1, which is larger in the target population."""
    frame = simulate_transport(3_000, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "a", "covariates": ["x1", "x2"],
                                       "site": "site"},
                   truth=transport_truth()["target"],
                   note="the study's own ATE is smaller: x1 modifies the effect and is smaller in the study")
