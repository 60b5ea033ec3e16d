"""Semi-synthetic data with a known effect for every row, for the CATE methods (dml, meta_learner,
causal_forest) and their heterogeneity and uplift summaries.

The covariates are real rows (the NHEFS cohort of Hernan & Robins, "Causal Inference: What If", via the
causaldata package; the tests pass them in), or, where no dataset may be read (the registry's examples
run without the test extra), rows drawn to mimic NHEFS's marginals. Treatment and outcome are simulated,
so each row's effect tau(X) is known:

    P(T=1 | X) = expit(-1.0 + 0.6 z_age - 0.4 z_wt71 + 0.5 z_smokeintensity + 0.3 sex)
    Y(0) = 1 + 1.0 z_age + 0.8 z_wt71 - 0.6 z_smokeintensity + 0.4 race + 0.3 education_c + noise
    tau(X) = 1.0 + 1.0 z_age + 0.8 (sex - 1/2) + 0.6 1[z_smokeyrs > 0]      (heterogeneous)
    tau(X) = 1.0                                                             (homogeneous)
    Y = Y(0) + T tau(X)

z_* are the covariates standardised in the rows given. z_age raises both the odds of treatment and the
untreated outcome, so a difference in means is biased; the propensity is linear in the covariates (the
logit learner is correct) and the outcome linear within each arm except the step in tau (linear learners
are close but not exact, forests fit the step). The truth of an analysis is the sample average of tau
over the rows used (``SimulatedCate.ate``); the expected ATE over repeated treatment draws on the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from ..registry import Example

NHEFS_COVARIATES = ("sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise", "active", "wt71")
#: which covariates drive the effect (the CLAN and effect-modifier summaries should find these)
EFFECT_MODIFIERS = ("age", "sex", "smokeyrs")


@dataclass(frozen=True)
class SimulatedCate:
    """The frame (covariates, ``t``, ``y``), each row's true effect and the propensity used."""

    frame: pd.DataFrame
    tau: np.ndarray
    propensity: np.ndarray

    @property
    def ate(self) -> float:
        return float(self.tau.mean())

    @property
    def covariates(self) -> list[str]:
        return [c for c in self.frame.columns if c not in ("t", "y")]


def numeric_covariates(frame: pd.DataFrame, columns: tuple[str, ...] = NHEFS_COVARIATES) -> pd.DataFrame:
    """The NHEFS covariates as numbers (causaldata stores the coded ones as categories of strings)."""
    return pd.DataFrame({c: pd.to_numeric(frame[c].astype(str) if frame[c].dtype.name == "category" else frame[c])
                         .astype(float) for c in columns}).reset_index(drop=True)


def synthetic_covariates(n: int, seed: int = 0) -> pd.DataFrame:
    """Rows with NHEFS-like marginals (used where the real rows may not be read)."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(44, 12, n), 25, 74)
    return pd.DataFrame({
        "sex": rng.binomial(1, 0.51, n).astype(float),
        "race": rng.binomial(1, 0.13, n).astype(float),
        "age": age,
        "education": rng.choice([1, 2, 3, 4, 5], n, p=[0.19, 0.22, 0.40, 0.08, 0.11]).astype(float),
        "smokeintensity": np.clip(rng.gamma(3.0, 7.0, n), 1, 80),
        "smokeyrs": np.clip(age - 18 - rng.gamma(2.0, 2.5, n), 1, 64),
        "exercise": rng.choice([0, 1, 2], n, p=[0.2, 0.41, 0.39]).astype(float),
        "active": rng.choice([0, 1, 2], n, p=[0.45, 0.45, 0.10]).astype(float),
        "wt71": np.clip(rng.normal(71, 15, n), 40, 170),
    })


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def true_effect(covariates: pd.DataFrame, heterogeneous: bool = True, scale: float = 1.0) -> np.ndarray:
    """tau(X) of the module docstring; ``scale`` multiplies its variation around 1 (0: constant)."""
    if not heterogeneous:
        return np.ones(len(covariates))
    c = covariates
    spread = (1.0 * _z(c["age"].to_numpy()) + 0.8 * (c["sex"].to_numpy() - 0.5)
              + 0.6 * (_z(c["smokeyrs"].to_numpy()) > 0))
    return 1.0 + scale * spread


def simulate_cate(covariates: pd.DataFrame, seed: int = 0, heterogeneous: bool = True, scale: float = 1.0,
                  noise: float = 1.0) -> SimulatedCate:
    """Treatment and outcome simulated on the given covariate rows (see the module docstring)."""
    c = numeric_covariates(covariates) if set(NHEFS_COVARIATES) <= set(covariates.columns) else covariates
    c = c.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    n = len(c)
    z_age, z_wt, z_smk = (_z(c[k].to_numpy()) for k in ("age", "wt71", "smokeintensity"))
    p = expit(-1.0 + 0.6 * z_age - 0.4 * z_wt + 0.5 * z_smk + 0.3 * c["sex"].to_numpy())
    t = (rng.random(n) < p).astype(int)
    tau = true_effect(c, heterogeneous, scale)
    y0 = (1 + 1.0 * z_age + 0.8 * z_wt - 0.6 * z_smk + 0.4 * c["race"].to_numpy()
          + 0.3 * (c["education"].to_numpy() - 3) + noise * rng.standard_normal(n))
    frame = c.assign(t=t, y=y0 + t * tau)
    return SimulatedCate(frame=frame, tau=tau, propensity=p)


def pehe(estimated: np.ndarray, tau: np.ndarray) -> float:
    """Precision in estimating heterogeneous effects (Hill 2011): root mean squared error of the CATE."""
    return float(np.sqrt(np.mean((np.asarray(estimated) - tau) ** 2)))


def heterogeneous_example(seed: int = 0, n: int = 2_000, **params: object) -> Example:
    """NHEFS-like covariates, confounded treatment, heterogeneous effect; the truth is the rows' mean effect."""
    sim = simulate_cate(synthetic_covariates(n, seed), seed=seed)
    return Example(frame=sim.frame, roles={"outcome": "y", "treatment": "t", "covariates": sim.covariates},
                   truth=sim.ate, params=dict(params),
                   note="older people are more often treated and have higher outcomes: a difference in means is "
                        "biased; the effect grows with age, is larger for sex=1 and for long-time smokers")


#: effect of one unit of treatment in ``simulate_continuous`` and ``simulate_instrumented``
STRUCTURAL_EFFECT = 0.8


def simulate_continuous(covariates: pd.DataFrame, seed: int = 0) -> SimulatedCate:
    """A continuous dose confounded by age and weight; Y = 0.8 D + g(X) + noise (partially linear model)."""
    c = numeric_covariates(covariates) if set(NHEFS_COVARIATES) <= set(covariates.columns) else covariates
    c = c.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    n = len(c)
    z_age, z_wt, z_smk = (_z(c[k].to_numpy()) for k in ("age", "wt71", "smokeintensity"))
    d = 0.7 * z_age - 0.5 * z_wt + 0.3 * c["sex"].to_numpy() + rng.standard_normal(n)
    y = STRUCTURAL_EFFECT * d + 1.2 * z_age + 0.8 * z_wt - 0.5 * z_smk + rng.standard_normal(n)
    return SimulatedCate(frame=c.assign(t=d, y=y), tau=np.full(n, STRUCTURAL_EFFECT), propensity=np.full(n, np.nan))


def simulate_instrumented(covariates: pd.DataFrame, seed: int = 0, binary_treatment: bool = False) -> pd.DataFrame:
    """An unobserved u drives treatment and outcome; a random 0/1 encouragement ``z`` shifts the treatment.

    Y = 0.8 D + g(X) + u + noise, so least squares of Y on D and X is biased and the partially linear IV
    model recovers 0.8 (constant effect: the LATE is 0.8 too).
    """
    c = numeric_covariates(covariates) if set(NHEFS_COVARIATES) <= set(covariates.columns) else covariates
    c = c.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    n = len(c)
    z_age, z_wt = _z(c["age"].to_numpy()), _z(c["wt71"].to_numpy())
    u = rng.standard_normal(n)
    z = rng.binomial(1, expit(0.4 * z_age), n)
    index = 0.9 * z + 0.4 * z_age - 0.3 * z_wt + 0.8 * u
    d = (index + rng.standard_normal(n) > 0.5).astype(int) if binary_treatment else index + rng.standard_normal(n)
    y = STRUCTURAL_EFFECT * d + 1.0 * z_age + 0.6 * z_wt + u + rng.standard_normal(n)
    return c.assign(z=z, t=d, y=y)
