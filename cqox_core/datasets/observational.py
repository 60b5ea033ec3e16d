"""Cross-sectional data where treatment is confounded by observed covariates,
with a constant effect (so ATE = ATT = ATC = the effect) and a naive difference
in means biased away from it."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

TRUE_EFFECT = 2.0
NUMERIC = tuple(f"x{i}" for i in range(1, 9))
BINARY = ("b1", "b2")
COVARIATES = NUMERIC + BINARY
PS_COEF = np.array([0.3, 0.8, -0.5, 0.4])          # intercept, x1, x2, x3 of simulate_heterogeneous


def simulate_confounded(n: int = 800, effect: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """Binary treatment confounded by x1, x2 (both raise treatment odds and the
    outcome), constant effect ``effect``; a categorical covariate too."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    grp = rng.choice(["north", "south", "west"], size=n)
    logit = 0.8 * x1 + 0.5 * x2 - 0.2
    t = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    y = effect * t + 1.5 * x1 + 1.0 * x2 + (grp == "west") * 0.5 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": grp, "treated": t, "outcome": y})


def simulate_observational(n: int, seed: int) -> pd.DataFrame:
    """Confounded data with a constant effect TRUE_EFFECT (so ATE = ATT = 2).

    x1..x3 and b1, b2 drive both treatment and outcome; the naive difference in
    means is biased upwards. The treatment's linear predictor has SD ~0.7, so
    propensities stay inside [0.02, 0.98] and no trimming rule bites.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(NUMERIC)))
    b1 = (x[:, 4] + rng.standard_normal(n) > 0.5).astype(float)
    b2 = (rng.random(n) < 0.5).astype(float)
    logit = -0.2 + 0.4 * x[:, 0] - 0.4 * x[:, 1] + 0.3 * x[:, 2] + 0.2 * x[:, 3] + 0.3 * b1 - 0.3 * b2
    t = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    y = (1.0 + TRUE_EFFECT * t + 1.0 * x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] + 0.3 * x[:, 5]
         + 0.5 * b1 + 0.4 * b2 + rng.standard_normal(n))
    frame = pd.DataFrame(x, columns=list(NUMERIC))
    frame["b1"], frame["b2"], frame["t"], frame["y"] = b1, b2, t, y
    return frame


def simulate_heterogeneous(n: int, seed: int, heterogeneous: bool = True) -> pd.DataFrame:
    """Confounded design: x1 raises both the treatment odds and the outcome.

    Propensity logit 0.3 + 0.8 x1 - 0.5 x2 + 0.4 x3 (so a linear logit is
    correct); effect 2 + 1.5 x1 (heterogeneous) or 2; outcome linear in x within
    each arm (so per-arm OLS is correct).
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t = (rng.random(n) < expit(PS_COEF[0] + X @ PS_COEF[1:])).astype(float)
    effect = 2 + 1.5 * X[:, 0] if heterogeneous else 2.0
    y = 1 + effect * t + 2 * X[:, 0] + X[:, 1] - X[:, 2] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2]})


def simulate_homogeneous(n: int, seed: int) -> pd.DataFrame:
    return simulate_heterogeneous(n, seed, heterogeneous=False)


def heterogeneous_true_att() -> float:
    """Population ATT of ``simulate_heterogeneous``: 2 + 1.5 E[x1 | T=1].

    With v = 0.3 + a'X ~ N(0.3, |a|^2), Stein's lemma gives
    E[x1 e(X)] = (a1/|a|) E[Z expit(0.3 + |a| Z)], so
    E[x1 | T=1] = (a1/|a|) E[Z expit(.)] / E[expit(.)], a 1-D Gauss-Hermite integral
    (exact to ~1e-12 with 80 nodes).
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    scale = np.linalg.norm(PS_COEF[1:])
    ps = expit(PS_COEF[0] + scale * nodes)
    return 2 + 1.5 * (PS_COEF[1] / scale) * np.sum(weights * nodes * ps) / np.sum(weights * ps)


def simulate_with_effects(n: int, seed: int, heterogeneous: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    """x1..x3 raise both the odds of treatment and the untreated outcome (confounding).

    Effect 2 for everyone, or 1 + 1.5 x1 (then the treated, who have larger x1,
    gain more: ATT > ATE). Returns the frame and each unit's true effect.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(-0.3 + 0.8 * X[:, 0] - 0.6 * X[:, 1] + 0.4 * X[:, 2])))
    t = (rng.random(n) < p).astype(int)
    effect = 1.0 + 1.5 * X[:, 0] if heterogeneous else np.full(n, 2.0)
    y0 = 1 + 2 * X[:, 0] - 1.5 * X[:, 1] + X[:, 2] + rng.normal(size=n)
    frame = pd.DataFrame(X, columns=["x1", "x2", "x3"]).assign(t=t, y=y0 + t * effect)
    return frame, effect
