"""Shared pieces of the propensity-score weighting methods (ipw, aipw, g_computation):
the shared logistic fit, balancing weights, trimming, and the Hajek influence function."""
from __future__ import annotations

from typing import Literal

import numpy as np

from ..data import Dataset
from ..errors import MethodError
from ..nuisance import LogitFit, fit_logit, propensity
from ..prep import Prepared
from ..roles import Roles
from ._common import cache_key

Estimand = Literal["ate", "att"]
Learner = Literal["linear", "gbm"]
PropensityLearner = Literal["logit", "gbm"]


def weight_role_note(prep: Prepared, roles: Roles) -> list[str]:
    """Say plainly that a sampling-weight column is not used (rather than ignore it silently)."""
    if prep.weight is None:
        return []
    return [f"The weight column '{roles.weight}' is not used by this method; every row counts once."]


def shared_propensity(data: Dataset, roles: Roles, prep: Prepared) -> LogitFit:
    """Full-sample logistic propensity score, shared across methods through the nuisance cache.

    The cache key names the data and roles; the rows used also depend on the
    cluster/weight columns (complete cases), so a cached fit of another length
    is not reused.
    """
    fit = propensity(prep.X, prep.t, key=cache_key(data, roles, "logit"))
    if fit.fitted.size != prep.n:
        fit = fit_logit(prep.X, prep.t)
    return fit


def check_fraction(name: str, value: float | None) -> None:
    """A trimming share in [0, 0.5) (for methods that check it in their own helpers, e.g. learners' trim)."""
    if value is not None and not (0 <= value < 0.5):
        raise MethodError(f"{name} must lie in [0, 0.5), got {value}.",
                          f"Use e.g. {name}=0.01, or {name}=None to switch it off.", code="E-METHOD-005")


def balancing_weights(t: np.ndarray, e: np.ndarray, estimand: str) -> np.ndarray:
    """ATE: T/e + (1-T)/(1-e); ATT: T + (1-T) e/(1-e) (Hirano, Imbens & Ridder 2003)."""
    if estimand == "att":
        return t + (1 - t) * e / (1 - e)
    return t / e + (1 - t) / (1 - e)


# ---------------------------------------------------------------------------
# IPW
# ---------------------------------------------------------------------------

def trimming_mask(e: np.ndarray, trim: float | None, trim_quantile: float | None) -> tuple[np.ndarray, str]:
    """Units kept: e inside [trim, 1-trim], or (if given) inside the [q, 1-q] quantiles of e.

    The fixed rule follows Crump, Hotz, Imbens & Mitnik (2009, Biometrika 96:187),
    who recommend dropping e outside [0.1, 0.9]; the quantile rule is the
    sample-adaptive alternative (Sturmer et al. 2010, Am J Epidemiol 172:843).
    """
    if trim_quantile is not None:
        lo, hi = np.quantile(e, [trim_quantile, 1 - trim_quantile])
        return (e >= lo) & (e <= hi), f"propensity inside its {trim_quantile:g}-{1 - trim_quantile:g} quantiles"
    if trim:
        return (e >= trim) & (e <= 1 - trim), f"propensity inside [{trim:g}, {1 - trim:g}]"
    return np.ones(e.size, dtype=bool), "none"


def hajek_influence(y: np.ndarray, t: np.ndarray, e: np.ndarray, Z: np.ndarray, keep: np.ndarray,
                    estimand: str) -> tuple[float, np.ndarray]:
    """Hajek IPW contrast and its influence function with the propensity-score correction.

    Stacked estimating equations (Lunceford & Davidian 2004, Sec. 3), with
    S the trimming indicator, a1/a0 the arm weights and Z = [1, X]:
        psi1 = S a1 (Y - mu1),  psi0 = S a0 (Y - mu0),  score = (T - e) Z.
    A first-order expansion of the stacked equations (Stefanski & Boos 2002)
    gives, for arm a,
        IF_mu_a = [psi_a + M_a' I^{-1} score] / E[S a_a],
        I = E[e(1-e) Z Z'],   M_a = E[d psi_a / d beta].
    Since de/dbeta = e(1-e)Z:
        ATE  a1 = T/e        -> M1 = -E[psi1 (1-e) Z]
             a0 = (1-T)/(1-e) -> M0 = +E[psi0 e Z]
        ATT  a1 = T          -> M1 = 0
             a0 = (1-T)e/(1-e) -> M0 = +E[psi0 Z]   (d odds / d beta = odds Z)
    (the ATT case as in Reifeis & Hudgens 2022). IF_tau = IF_mu1 - IF_mu0.
    Trimmed units still enter the score, because beta is fitted on all units.
    """
    s = keep.astype(float)
    if estimand == "att":
        a1, a0 = s * t, s * (1 - t) * e / (1 - e)
    else:
        a1, a0 = s * t / e, s * (1 - t) / (1 - e)
    mu1 = float(np.sum(a1 * y) / np.sum(a1))
    mu0 = float(np.sum(a0 * y) / np.sum(a0))
    psi1, psi0 = a1 * (y - mu1), a0 * (y - mu0)
    info_inv = np.linalg.pinv((Z * (e * (1 - e))[:, None]).T @ Z / y.size)
    score = (t - e)[:, None] * Z
    if estimand == "att":
        m1, m0 = np.zeros(Z.shape[1]), (psi0[:, None] * Z).mean(axis=0)
    else:
        m1 = -((psi1 * (1 - e))[:, None] * Z).mean(axis=0)
        m0 = ((psi0 * e)[:, None] * Z).mean(axis=0)
    # (score_i' I^{-1}) M_a, associated as score_i' (I^{-1} M_a): two n x k products, not an n x k x k one
    phi1 = (psi1 + score @ (info_inv @ m1)) / a1.mean()
    phi0 = (psi0 + score @ (info_inv @ m0)) / a0.mean()
    return mu1 - mu0, phi1 - phi0


