"""Propensity-score weighting: Hajek IPW and cross-fitted AIPW.

IPW (``ipw``) is the normalised (Hajek) inverse-probability-weighted contrast
(Robins, Hernan & Brumback 2000, Epidemiology 11:550; Lunceford & Davidian
2004, Stat Med 23:2937, the normalised estimator "Delta_2" of Sec. 3). Its
standard error is the M-estimation sandwich of the stacked estimating equations
(outcome means + logistic score), which accounts for the estimated propensity
score (Lunceford & Davidian 2004, Sec. 3; Stefanski & Boos 2002, Am Stat 56:29;
for the ATT, Reifeis & Hudgens 2022, Am J Epidemiol 191:1092).

AIPW (``aipw``) is the augmented IPW / doubly robust score (Robins, Rotnitzky &
Zhao 1994, JASA 89:846) with K-fold cross-fitting (Chernozhukov et al. 2018,
Econometrics J 21:C1; the pooled-score "DML2" form of Sec. 3 and the ATE / ATT
scores of Sec. 5.1); its SE is the sample variance of the influence function.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np

from ..data import Dataset
from ..diagnostics import effective_sample_size_ratio, max_weight_ratio, standard_diagnostics
from ..errors import EstimationError, MethodError
from ..inference import influence_se
from ..nuisance import LogitFit, cached, fit_logit, propensity
from ..prep import Prepared, prepare
from ..registry import Requirements, register
from ..results import EffectResult
from ..roles import Roles
from .common import cache_key, finish

Estimand = Literal["ate", "att"]
Learner = Literal["linear", "gbm"]
PropensityLearner = Literal["logit", "gbm"]


# ---------------------------------------------------------------------------
# shared pieces
# ---------------------------------------------------------------------------

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


def ipw_weights(t: np.ndarray, e: np.ndarray, keep: np.ndarray, estimand: str, stabilize: bool) -> np.ndarray:
    """Reported weights (0 for trimmed units).

    Stabilising multiplies ATE weights by the marginal shares P(T=1), P(T=0)
    (Robins, Hernan & Brumback 2000, Sec. "Stabilized weights"); the Hajek
    estimate is unchanged because each arm is normalised. ATT weights already sum
    to about the treated count in each arm and are left as they are.
    """
    w = balancing_weights(t, e, estimand) * keep
    if stabilize and estimand == "ate":
        share = t[keep].mean()
        w = w * np.where(t == 1, share, 1 - share)
    return w


def ipw_diagnostics(prep: Prepared, e: np.ndarray, w: np.ndarray, keep: np.ndarray) -> dict:
    diagnostics = standard_diagnostics(prep, ps=e, weights=w)
    # weight summaries over the units actually used (trimmed ones carry weight 0)
    diagnostics["effective_sample_size_ratio"] = effective_sample_size_ratio(w[keep], prep.t[keep])
    diagnostics["max_weight_ratio"] = max_weight_ratio(w[keep], prep.t[keep])
    diagnostics["max_weight"] = float(w.max())
    diagnostics["weight_sum_treated"] = float(w[prep.t == 1].sum())
    diagnostics["weight_sum_control"] = float(w[prep.t == 0].sum())
    return diagnostics


@register("ipw", family="selection_on_observables", estimands=("ate", "att"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Inverse probability weighting",
          summary="Models each unit's chance of being treated from the covariates, then reweights the groups so "
                  "they resemble the same population before comparing their average outcomes.",
          transparency=0.85, cost_exponent=1.0)
def ipw(data: Dataset, roles: Roles, *, estimand: Estimand = "ate", alpha: float = 0.05, seed: int = 0,
        trim: float | None = 0.01, trim_quantile: float | None = None, stabilize: bool = True) -> EffectResult:
    """Hajek inverse-probability weighting (Robins, Hernan & Brumback 2000).

    trim: drop units whose propensity lies outside [trim, 1 - trim] (None: keep all).
    trim_quantile: instead drop units below the q and above the 1 - q quantile of
        the propensity; when given it replaces ``trim``.
    stabilize: multiply ATE weights by the marginal treatment shares (reported
        weights and diagnostics only; the Hajek estimate does not change).
    The propensity model is fitted on all units, trimmed or not, and the SE
    accounts for that fit. ``seed`` is accepted for the common signature; the
    method is deterministic.
    """
    check_fraction("trim", trim)
    check_fraction("trim_quantile", trim_quantile)
    prep = prepare(data, roles)
    warnings = list(prep.warnings) + weight_role_note(prep, roles)
    fit = shared_propensity(data, roles, prep)
    if not fit.converged:
        warnings.append("The propensity model did not converge; the groups may be (nearly) separable.")
    e, t = fit.fitted, prep.t
    keep, rule = trimming_mask(e, trim, trim_quantile)
    n_trimmed = int((~keep).sum())
    n1, n0 = int(t[keep].sum()), int((1 - t[keep]).sum())
    if min(n1, n0) < 2:
        raise EstimationError(f"After trimming extreme propensity scores ({rule}) only {n1} treated and {n0} "
                              "untreated units remain: the groups barely overlap.",
                              "Use fewer or coarser covariates, a smaller trim, or a design-based method.",
                              code="E-EST-003")
    if n_trimmed:
        warnings.append(f"Trimming removed {n_trimmed} of {prep.n} units whose propensity score fell outside "
                        f"the kept range ({rule}); the estimate describes the remaining {prep.n - n_trimmed}.")
    est, phi = hajek_influence(prep.y, t, e, fit.design, keep, estimand)
    se = influence_se(phi, prep.cluster)
    w = ipw_weights(t, e, keep, estimand, stabilize)
    diagnostics = ipw_diagnostics(prep, e, w, keep)
    diagnostics.update(trimmed=n_trimmed, trim_rule=rule, weights_stabilized=bool(stabilize and estimand == "ate"),
                       propensity_converged=bool(fit.converged))
    kind = "cluster-robust " if prep.cluster is not None else ""
    return finish("ipw", estimand, est, se, alpha=alpha, n_obs=prep.n - n_trimmed,
                  se_method=f"{kind}M-estimation sandwich (accounts for the estimated propensity score)",
                  diagnostics=diagnostics, warnings=warnings)


# ---------------------------------------------------------------------------
# AIPW with cross-fitting
# ---------------------------------------------------------------------------

def fold_ids(n: int, n_folds: int, seed: int, cluster: np.ndarray | None) -> np.ndarray:
    """Seeded fold labels; whole clusters go to one fold so no cluster straddles train and test."""
    rng = np.random.default_rng(seed)
    if cluster is None:
        return rng.permutation(n) % n_folds
    _, idx = np.unique(cluster, return_inverse=True)
    g = int(idx.max()) + 1
    if g < n_folds:
        raise EstimationError(f"Only {g} clusters for {n_folds} cross-fitting folds.",
                              "Lower n_folds or remove the cluster role.", code="E-EST-004")
    return (rng.permutation(g) % n_folds)[idx]


def predict_outcome(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, learner: str,
                    seed: int) -> np.ndarray:
    """E[Y | X] in one arm: least squares with an intercept, or gradient boosting."""
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=seed).fit(X_train, y_train).predict(X_test)
    Z = np.column_stack([np.ones(len(X_train)), X_train])
    coef = np.linalg.lstsq(Z, y_train, rcond=None)[0]
    return np.column_stack([np.ones(len(X_test)), X_test]) @ coef


def predict_propensity(X_train: np.ndarray, t_train: np.ndarray, X_test: np.ndarray, learner: str,
                       seed: int) -> tuple[np.ndarray, bool]:
    """Out-of-fold propensity scores and whether the logistic fit converged (always True for gbm)."""
    if learner == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(random_state=seed).fit(X_train, t_train)
        return model.predict_proba(X_test)[:, 1], True
    fit = fit_logit(X_train, t_train)
    eta = np.clip(np.column_stack([np.ones(len(X_test)), X_test]) @ fit.coef, -35, 35)
    return 1.0 / (1.0 + np.exp(-eta)), fit.converged


def crossfit_nuisances(prep: Prepared, n_folds: int, outcome_learner: str, propensity_learner: str,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Out-of-fold m1(X), m0(X), e(X) (Chernozhukov et al. 2018, Sec. 3 cross-fitting), and whether every
    fold's propensity fit converged."""
    X, y, t = prep.X, prep.y, prep.t
    folds = fold_ids(prep.n, n_folds, seed, prep.cluster)
    m1, m0, e = (np.empty(prep.n) for _ in range(3))
    converged = True
    for k in range(n_folds):
        test, train = folds == k, folds != k
        tr1, tr0 = train & (t == 1), train & (t == 0)
        if min(tr1.sum(), tr0.sum()) <= (X.shape[1] + 1 if outcome_learner == "linear" else 1):
            raise EstimationError(f"A cross-fitting fold leaves only {int(tr1.sum())} treated and {int(tr0.sum())} "
                                  "untreated training rows: too few to fit the outcome models.",
                                  "Lower n_folds, use fewer covariates, or use ipw / regression_adjustment.",
                                  code="E-EST-004")
        m1[test] = predict_outcome(X[tr1], y[tr1], X[test], outcome_learner, seed)
        m0[test] = predict_outcome(X[tr0], y[tr0], X[test], outcome_learner, seed)
        e[test], fold_converged = predict_propensity(X[train], t[train], X[test], propensity_learner, seed)
        converged = converged and fold_converged
    return m1, m0, e, converged


def aipw_scores(y: np.ndarray, t: np.ndarray, m1: np.ndarray, m0: np.ndarray, e: np.ndarray,
                estimand: str) -> tuple[float, np.ndarray]:
    """Doubly robust estimate and its influence function.

    ATE (Robins, Rotnitzky & Zhao 1994; Chernozhukov et al. 2018 Sec. 5.1):
        phi = m1 - m0 + T(Y-m1)/e - (1-T)(Y-m0)/(1-e) - tau
    ATT (Chernozhukov et al. 2018 Sec. 5.1, "ATTE"), p = P(T=1):
        phi = [T(Y-m0) - (1-T) e/(1-e) (Y-m0) - T tau] / p
    """
    if estimand == "att":
        p = t.mean()
        core = t * (y - m0) - (1 - t) * e / (1 - e) * (y - m0)
        tau = float(core.mean() / p)
        return tau, (core - t * tau) / p
    score = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
    tau = float(score.mean())
    return tau, score - tau


def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSR/SST of a prediction (out-of-fold when ``pred`` is cross-fitted)."""
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1 - float(np.sum((y - pred) ** 2)) / ss if ss > 0 else math.nan


def check_aipw_params(n_folds: int, outcome_learner: str, propensity_learner: str, trim: float | None) -> None:
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise MethodError(f"n_folds must be an integer of at least 2, got {n_folds!r}.", "Use e.g. n_folds=5.",
                          code="E-METHOD-005")
    if outcome_learner not in ("linear", "gbm"):
        raise MethodError(f"Unknown outcome_learner {outcome_learner!r}.", "Use 'linear' or 'gbm'.",
                          code="E-METHOD-005")
    if propensity_learner not in ("logit", "gbm"):
        raise MethodError(f"Unknown propensity_learner {propensity_learner!r}.", "Use 'logit' or 'gbm'.",
                          code="E-METHOD-005")
    check_fraction("trim", trim)


@register("aipw", family="selection_on_observables", estimands=("ate", "att"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Augmented IPW (doubly robust)",
          summary="Combines a model of the outcome with a model of who gets treated; the answer stays right if "
                  "either model is right. Models are fitted on other folds of the data than they are used on.",
          transparency=0.7, cost_exponent=1.0)
def aipw(data: Dataset, roles: Roles, *, estimand: Estimand = "ate", alpha: float = 0.05, seed: int = 0,
         n_folds: int = 5, outcome_learner: Learner = "linear", propensity_learner: PropensityLearner = "logit",
         trim: float | None = 0.01) -> EffectResult:
    """Cross-fitted augmented IPW (Robins, Rotnitzky & Zhao 1994; Chernozhukov et al. 2018).

    n_folds: cross-fitting folds (seeded; whole clusters kept together).
    outcome_learner: "linear" (least squares in each arm) or "gbm" (histogram gradient boosting).
    propensity_learner: "logit" (maximum-likelihood logistic) or "gbm".
    trim: out-of-fold propensities are clipped to [trim, 1 - trim]; the count is reported.
    """
    check_aipw_params(n_folds, outcome_learner, propensity_learner, trim)
    prep = prepare(data, roles)
    warnings = list(prep.warnings) + weight_role_note(prep, roles)
    key = cache_key(data, roles, "crossfit", roles.cluster, roles.weight, n_folds, outcome_learner,
                    propensity_learner, seed)
    m1, m0, e_raw, ps_converged = cached(key, lambda: crossfit_nuisances(prep, n_folds, outcome_learner,
                                                                         propensity_learner, seed))
    if not ps_converged:
        warnings.append("The propensity model did not converge in at least one cross-fitting fold; the groups may "
                        "be (nearly) separable.")
    e = np.clip(e_raw, trim, 1 - trim) if trim else e_raw
    n_clipped = int(np.sum(e != e_raw))
    if n_clipped:
        warnings.append(f"{n_clipped} of {prep.n} propensity scores lay outside [{trim:g}, {1 - trim:g}] and were "
                        "clipped to that range to keep the weights finite.")
    if np.any((e <= 0) | (e >= 1)):
        raise EstimationError("Some estimated propensity scores are exactly 0 or 1: those units have no "
                              "comparable counterpart.", "Keep trim > 0 (e.g. 0.01).", code="E-EST-003")
    est, phi = aipw_scores(prep.y, prep.t, m1, m0, e, estimand)
    se = influence_se(phi, prep.cluster)
    t = prep.t.astype(bool)
    diagnostics = standard_diagnostics(prep, ps=e, weights=balancing_weights(prep.t, e, estimand))
    diagnostics.update(clipped=n_clipped, n_folds=int(n_folds), outcome_learner=outcome_learner,
                       propensity_learner=propensity_learner, propensity_converged=bool(ps_converged),
                       outcome_r2_treated=r_squared(prep.y[t], m1[t]),
                       outcome_r2_control=r_squared(prep.y[~t], m0[~t]))
    kind = "cluster-robust " if prep.cluster is not None else ""
    return finish("aipw", estimand, est, se, alpha=alpha, n_obs=prep.n,
                  se_method=f"{kind}influence function (cross-fitted, {n_folds} folds)",
                  diagnostics=diagnostics, warnings=warnings)
