"""Data with a known truth for dosing, off-policy evaluation and targeting.

* :func:`simulate_dose`: a continuous dose confounded by x1, x2 (both raise the dose and the
  outcome); E[Y(d)] = :func:`true_dose_curve` (quadratic 2d - 0.5d^2, peak at d = 2, or a sine).
  A regression of y on the dose alone (even a quadratic one) is biased by the confounding.
* :func:`simulate_bandit`: logged actions of a softmax logging policy over three actions, the
  logging probability of the logged action, a reward, and the action a target policy would take;
  the target policy's value is :func:`bandit_target_value` (a large Monte Carlo over contexts).
* :func:`simulate_targeting`: a binary treatment, confounded, that helps only units with x1 > 0
  (effect 2 x1 there, -1 elsewhere): treating everyone or no one is worse than treating the
  subgroup. :func:`targeting_value` gives the true value of any rule.

The registry examples of ``dose_response``, ``ope`` and ``policy_learning`` are at the bottom.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from ..registry import Example

DoseCurve = Literal["quadratic", "sine"]

# ---------------------------------------------------------------------------------------------
# dose response
# ---------------------------------------------------------------------------------------------

#: the dose's mean given x is 1 + 0.5 x1 + 0.4 x2 with residual SD 0.7, so D has SD ~0.87
DOSE_COEF = np.array([1.0, 0.5, 0.4, 0.0])
DOSE_SD = 0.7


def true_dose_curve(d: np.ndarray | float, curve: DoseCurve = "quadratic") -> np.ndarray:
    """E[Y(d)]: the average outcome if everyone received dose d (the covariate terms average 0)."""
    d = np.asarray(d, dtype=float)
    if curve == "sine":
        return 2.0 * np.sin(1.5 * d)
    return 2.0 * d - 0.5 * d ** 2


def true_optimal_dose(cost_per_unit: float, value_per_unit: float = 1.0) -> float:
    """argmax_d value * (2d - 0.5 d^2) - cost * d = 2 - cost / value (the quadratic curve)."""
    return 2.0 - cost_per_unit / value_per_unit


def simulate_dose(n: int = 2000, seed: int = 0, curve: DoseCurve = "quadratic") -> pd.DataFrame:
    """x1, x2, x3 ~ N(0,1); dose = 1 + 0.5 x1 + 0.4 x2 + N(0, 0.7^2) (so the normal linear GPS model is
    right); y = curve(dose) + 1.5 x1 + x2 + 0.5 x3 + N(0, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    dose = DOSE_COEF[0] + X @ DOSE_COEF[1:] + DOSE_SD * rng.standard_normal(n)
    y = true_dose_curve(dose, curve) + 1.5 * X[:, 0] + X[:, 1] + 0.5 * X[:, 2] + rng.standard_normal(n)
    return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "dose": dose, "y": y})


# ---------------------------------------------------------------------------------------------
# off-policy evaluation (contextual bandit)
# ---------------------------------------------------------------------------------------------

ACTIONS = ("a", "b", "c")


def bandit_reward_means(X: np.ndarray) -> np.ndarray:
    """q(x, a) for the three actions (n x 3): each action is best in part of the context space."""
    x1, x2 = X[:, 0], X[:, 1]
    return np.column_stack([1.0 + 0.5 * x1, 1.2 - 0.8 * x1 + 0.3 * x2, 0.8 + 0.6 * x2 + 0.4 * x1 * x2])


def bandit_logging_probabilities(X: np.ndarray) -> np.ndarray:
    """Softmax logging policy that favours action a for high x1 (n x 3); every probability > 0."""
    scores = np.column_stack([0.8 * X[:, 0], -0.4 * X[:, 0] + 0.5 * X[:, 1], np.zeros(len(X))])
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    return p / p.sum(axis=1, keepdims=True)


def bandit_target_actions(X: np.ndarray) -> np.ndarray:
    """The target policy: a simple rule (c if x2 > 0.5, else a if x1 > 0, else b), as action indices."""
    return np.where(X[:, 1] > 0.5, 2, np.where(X[:, 0] > 0, 0, 1))


def simulate_bandit(n: int = 2000, seed: int = 0, reward_sd: float = 1.0) -> pd.DataFrame:
    """Contexts x1, x2 ~ N(0,1); logged action from the softmax logging policy; its probability
    ``propensity``; reward q(x, action) + N(0, reward_sd^2); ``target``: the target policy's action."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    probs = bandit_logging_probabilities(X)
    u = rng.random(n)
    action = np.minimum((u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1), 2)
    reward = bandit_reward_means(X)[np.arange(n), action] + reward_sd * rng.standard_normal(n)
    labels = np.asarray(ACTIONS)
    return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "action": labels[action],
                         "propensity": probs[np.arange(n), action], "reward": reward,
                         "target": labels[bandit_target_actions(X)]})


@lru_cache(maxsize=4)
def bandit_target_value(draws: int = 2_000_000, seed: int = 12345) -> float:
    """E_x[q(x, target(x))] by Monte Carlo over contexts (SE about 1e-3 at 2e6 draws)."""
    X = np.random.default_rng(seed).standard_normal((draws, 2))
    q = bandit_reward_means(X)
    return float(q[np.arange(draws), bandit_target_actions(X)].mean())


# ---------------------------------------------------------------------------------------------
# targeting (policy learning)
# ---------------------------------------------------------------------------------------------

def targeting_effect(X: np.ndarray) -> np.ndarray:
    """tau(x): 2 x1 where x1 > 0 (helps), -1 elsewhere (harms)."""
    return np.where(X[:, 0] > 0, 2.0 * X[:, 0], -1.0)


def targeting_baseline(X: np.ndarray) -> np.ndarray:
    """E[Y(0) | x]."""
    return 1.0 + X[:, 0] + 0.5 * X[:, 1]


def simulate_targeting(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """x1, x2, x3 ~ N(0,1); treatment with logit 0.6 x1 - 0.4 x2 (confounded); y = baseline + t tau(x) + N(0,1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    t = (rng.random(n) < expit(0.6 * X[:, 0] - 0.4 * X[:, 1])).astype(int)
    y = targeting_baseline(X) + t * targeting_effect(X) + rng.standard_normal(n)
    return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "treated": t, "y": y})


def targeting_value(rule: Callable[[np.ndarray], np.ndarray], draws: int = 1_000_000, seed: int = 999,
                    cost_per_treated: float = 0.0) -> float:
    """E[Y(rule(X))] - cost * P(rule(X) = 1) by Monte Carlo over fresh covariates (columns x1, x2, x3)."""
    X = np.random.default_rng(seed).standard_normal((draws, 3))
    treat = np.asarray(rule(X), dtype=float)
    return float(np.mean(targeting_baseline(X) + treat * (targeting_effect(X) - cost_per_treated)))


def targeting_gain_over_none(rule: Callable[[np.ndarray], np.ndarray], draws: int = 1_000_000,
                             seed: int = 999) -> float:
    """E[rule(X) tau(X)]: the gain of the rule over treating no one."""
    X = np.random.default_rng(seed).standard_normal((draws, 3))
    return float(np.mean(np.asarray(rule(X), dtype=float) * targeting_effect(X)))


# ---------------------------------------------------------------------------------------------
# registry examples
# ---------------------------------------------------------------------------------------------

#: doses of the dose_response example's headline contrast (documented in its estimand label)
EXAMPLE_DOSE_LOW, EXAMPLE_DOSE_HIGH = 0.5, 1.5


def dose_example(seed: int = 0) -> Example:
    """2,000 rows; quadratic dose curve; headline: E[Y(1.5)] - E[Y(0.5)] = 1.0."""
    frame = simulate_dose(2000, seed)
    truth = float(true_dose_curve(EXAMPLE_DOSE_HIGH) - true_dose_curve(EXAMPLE_DOSE_LOW))
    return Example(frame=frame, roles={"outcome": "y", "treatment": "dose", "covariates": ["x1", "x2", "x3"]},
                   truth=truth, params={"contrast_low": EXAMPLE_DOSE_LOW, "contrast_high": EXAMPLE_DOSE_HIGH},
                   note="y on dose alone is biased: x1 and x2 raise both the dose and the outcome")


def bandit_example(seed: int = 0) -> Example:
    """3,000 logged rounds of a three-action bandit; the target policy's value by Monte Carlo."""
    frame = simulate_bandit(3000, seed)
    return Example(frame=frame, roles={"outcome": "reward", "treatment": "action", "covariates": ["x1", "x2"]},
                   truth=bandit_target_value(), params={"propensity": "propensity", "target": "target"},
                   note="the average logged reward is the logging policy's value, not the target's")


def targeting_example(seed: int = 0) -> Example:
    """2,000 rows; treating only x1 > 0 is best. Headline: the learned rule's gain over treating no one."""
    frame = simulate_targeting(2000, seed)
    oracle = float(targeting_gain_over_none(lambda X: X[:, 0] > 0))
    return Example(frame=frame, roles={"outcome": "y", "treatment": "treated", "covariates": ["x1", "x2", "x3"]},
                   truth=oracle, params={},
                   note="the truth is the best rule's gain; a depth-2 tree learned on 2,000 rows comes close")
