"""Transportability: the average effect in a target population the study did not sample (``transport``).

Setting (Dahabreh, Robertson, Steingrimsson, Stuart & Hernan 2020, "Extending inferences from a
randomized trial to a new target population", Stat Med 39:1999; Westreich et al. 2017, Am J
Epidemiol 186:1010). The ``site`` role marks each row: 0 = the study sample, with outcome Y,
treatment A and covariates X; 1 = the target population, with covariates X only. The estimand is
the target-population ATE, E[Y(1) - Y(0) | S = target]. It is identified when, given X, the
effect is the same in study and target (the covariates include every modifier of the effect
whose distribution differs), the treatment is unconfounded within the study given X (true by
design in a randomised trial), and every kind of target unit could have been in the study
(positivity: P(study | X) > 0 wherever the target has units).

Nuisance models (all parametric): the sampling model p(X) = P(target | X), a logistic
regression on all rows; the treatment model e(X) = P(A = 1 | X, study), logistic on the study
rows; the outcome models g_a(X) = E[Y | X, A = a, study], least squares on each arm of the study.
With the inverse-odds weights w_a = 1[study, A = a] * p(X) / (1 - p(X)) / P(A = a | X):

    outcome model   psi_a = (1 / n_T) sum_target g_a(X_i)
    IOSW            psi_a = sum w_a Y / sum w_a               (normalised; Dahabreh et al.'s IOW2)
    doubly robust   psi_a = (1 / n_T) sum_target g_a(X_i) + sum w_a (Y - g_a(X)) / sum w_a

(Dahabreh et al. 2020, Sec. 4; with ``normalize=False`` the weighted sums are divided by n_T
instead, their IOW1 and DR1, and zepid's AIPSW). The effect is psi_1 - psi_0. The doubly robust
estimate is consistent when either the sampling and treatment models or the outcome models are
right; it is the headline.

Inference. Each estimate is a smooth function psi(theta, P_n) of the nuisance coefficients
theta (both logistic fits and both least-squares fits) and sample means, so its influence
function is phi_i(theta) + grad_theta psi . IF_theta,i, the second term the delta method for the
estimated nuisances (Newey & McFadden 1994, Handbook of Econometrics 4, Sec. 6; Stefanski & Boos
2002, Am Stat 56:29: the stacked M-estimation sandwich, written as influence functions). The
nuisances' influence functions are the usual H^-1 score_i of each fit; the gradient is taken by
central finite differences of the closed-form estimates. Standard errors are sqrt(var(IF) / n),
summed within clusters with a cluster role.

Overlap (the ``site_overlap`` gate): the share of target rows whose sampling score p(X) lies
within the range of the study rows' scores. A target unit outside it has no comparable study
unit, and its contribution is extrapolated by the outcome model (or given an extreme weight).
Target rows the covariates separate from the study completely are a typed error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd

from ..data import Dataset
from ..datasets.advanced import transport_example
from ..diagnostics import effective_sample_size_ratio, max_weight_ratio, smd_table
from ..errors import EstimationError, RoleError
from ..inference import influence_se
from ..nuisance import fit_logit
from ..prep import binarize_treatment, check_arms, complete_rows, design_with_terms, numeric_outcome
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish

LABELS = ("iosw", "outcome_model", "dr")
#: Roles of the zEpid reference data (its S = 1 marks the study; the stored copy adds site = 1 - S).
ZEPID_ROLES = {"outcome": "Y", "treatment": "A", "covariates": ["L", "W"], "site": "site"}
#: Covariates drawn in the study-versus-target figure (the ones whose distributions differ most).
MAX_HISTOGRAMS = 6
ASSUMPTIONS = ("Transporting the effect assumes the covariates include everything that both changes the effect "
               "and differs between the study and the target population, that treatment in the study is as good "
               "as random given them, and that every kind of target unit also occurs in the study.")


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class TransportData:
    """Rows used: study rows (complete outcome, treatment, covariates) then target rows (complete covariates)."""

    y: np.ndarray                  # 0 on target rows (never used there)
    t: np.ndarray                  # 0 on target rows
    target: np.ndarray             # 1 = target population
    Z: np.ndarray                  # [1, covariate design]
    x_names: tuple[str, ...]
    cluster: np.ndarray | None
    warnings: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def study(self) -> np.ndarray:
        return self.target == 0


def site_flags(frame: pd.DataFrame, site: str) -> pd.Series:
    """The site column as 1 (target) / 0 (study) / NaN; anything else is a RoleError."""
    s = frame[site]
    values = s.dropna()
    ok = pd.api.types.is_bool_dtype(values) or (pd.api.types.is_numeric_dtype(values)
                                                and set(values.astype(float).unique()) <= {0.0, 1.0})
    if not ok:
        shown = ", ".join(map(str, pd.unique(values)[:6]))
        raise RoleError(f"The site column '{site}' must be 1 for rows of the target population and 0 for the study "
                        f"sample; it holds {shown}.",
                        "Recode it as 0/1: 1 where only covariates describe the population the effect should be "
                        "transported to, 0 where the study measured outcome and treatment.", code="E-ROLE-121")
    return s.astype(float)


def transport_arrays(data: Dataset, roles: Roles) -> TransportData:
    frame = data.frame
    roles.require("outcome", "treatment", "covariates", "site")
    roles.check_columns(frame)
    if roles.site in (roles.outcome, roles.treatment) or roles.site in roles.covariates:
        raise RoleError(f"The site column '{roles.site}' is also the outcome, the treatment or a covariate.",
                        "The site flag only says which rows describe the target population.", code="E-ROLE-124")
    if roles.outcome in roles.covariates or roles.treatment in roles.covariates:
        raise RoleError("The outcome or the treatment is also listed as a covariate.",
                        "Remove it from the covariates: adjusting for it would erase the effect.", code="E-ROLE-012")
    flags = site_flags(frame, roles.site)
    warnings: list[str] = []
    if flags.isna().any():
        warnings.append(f"{int(flags.isna().sum())} rows with no site value were left out.")
    study_rows, target_rows = frame.loc[flags == 0], frame.loc[flags == 1]
    if study_rows.empty:
        raise RoleError(f"No rows of the study sample ('{roles.site}' = 0): there is nothing to transport.",
                        "Mark the rows with measured outcomes and treatment with 0 in the site column.",
                        code="E-ROLE-122")
    if target_rows.empty:
        raise RoleError(f"No rows of the target population ('{roles.site}' = 1).",
                        "Add rows describing the target population (their covariates; outcome and treatment may be "
                        "empty) and mark them with 1 in the site column.", code="E-ROLE-123")
    y_study = numeric_outcome(study_rows, roles.outcome)
    if y_study.notna().sum() == 0:
        raise RoleError(f"The outcome '{roles.outcome}' is missing in every row of the study sample.",
                        "Choose an outcome column that has values in the study rows.", code="E-ROLE-004")
    if study_rows[roles.treatment].notna().sum() == 0:
        raise RoleError(f"The treatment '{roles.treatment}' is missing in every row of the study sample.",
                        "Choose a treatment column that has values in the study rows.", code="E-ROLE-003")
    extra = [roles.cluster] if roles.cluster else []
    keep_study = complete_rows(study_rows, y_study, [roles.treatment, *roles.covariates, *extra])
    keep_target = complete_rows(target_rows, pd.Series(1.0, index=target_rows.index), [*roles.covariates, *extra])
    dropped = int((~keep_study).sum() + (~keep_target).sum())
    if dropped:
        warnings.append(f"{dropped} rows had missing values in the roles used and were left out.")
    study, target = study_rows.loc[keep_study], target_rows.loc[keep_target]
    if target.empty:
        raise RoleError("Every row of the target population has a missing covariate.",
                        "The target rows need the covariates (and only them).", code="E-ROLE-123")
    t, note = binarize_treatment(study[roles.treatment], roles.treated_value, roles.treatment)
    if note:
        warnings.append(note)
    check_arms(len(study), t, True, roles.treatment)
    if target[roles.outcome].notna().any():
        warnings.append("Outcome values in the target rows are not used: the target population is described by its "
                        "covariates only.")
    both = pd.concat([study, target])
    lost: list[str] = []
    X, names, _ = design_with_terms(both, roles.covariates, lost)
    if lost:
        warnings.append(f"Covariate term(s) {', '.join(lost)} were left out: constant or an exact combination of "
                        "other covariates.")
    n_study = len(study)
    y = np.zeros(len(both))
    y[:n_study] = y_study.loc[study.index].to_numpy(dtype=float)
    t_all = np.zeros(len(both))
    t_all[:n_study] = t
    target_flag = np.r_[np.zeros(n_study), np.ones(len(target))]
    cluster = both[roles.cluster].to_numpy() if roles.cluster else None
    return TransportData(y=y, t=t_all, target=target_flag, Z=np.column_stack([np.ones(len(both)), X]),
                         x_names=names, cluster=cluster, warnings=tuple(warnings))


# --------------------------------------------------------------------------
# nuisance models and the estimates as functions of their coefficients
# --------------------------------------------------------------------------

def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35, 35)))


@dataclass(frozen=True)
class Nuisances:
    theta: np.ndarray              # [sampling logit, treatment logit, outcome arm 1, outcome arm 0]
    influence: np.ndarray          # n x len(theta): each fit's H^-1 score_i
    k: int
    sampling_converged: bool
    treatment_converged: bool


def logistic_influence(Z: np.ndarray, y: np.ndarray, p: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """H^-1 z_i (y_i - p_i) on ``rows`` (0 elsewhere), H = Z'diag(p(1-p))Z / n over those rows."""
    Zr = Z[rows]
    H = (Zr * (p[rows] * (1 - p[rows]))[:, None]).T @ Zr / n
    out = np.zeros((Z.shape[0], Z.shape[1]))
    out[rows] = (Zr * (y[rows] - p[rows])[:, None]) @ np.linalg.inv(H).T
    return out


def least_squares_influence(Z: np.ndarray, y: np.ndarray, coef: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    Zr = Z[rows]
    H = Zr.T @ Zr / n
    out = np.zeros((Z.shape[0], Z.shape[1]))
    out[rows] = (Zr * (y[rows] - Zr @ coef)[:, None]) @ np.linalg.inv(H).T
    return out


def fit_nuisances(d: TransportData) -> Nuisances:
    n, k = d.Z.shape
    X = d.Z[:, 1:]
    study = d.study
    sampling = fit_logit(X, d.target)
    treatment = fit_logit(X[study], d.t[study])
    outcome = []
    for arm in (1, 0):
        rows = study & (d.t == arm)
        if rows.sum() <= k:
            raise EstimationError(f"The study's {'treated' if arm else 'untreated'} arm has {int(rows.sum())} rows for "
                                  f"an outcome model with {k} coefficients.",
                                  "Use fewer covariates or a larger study sample.", code="E-EST-002")
        outcome.append(np.linalg.lstsq(d.Z[rows], d.y[rows], rcond=None)[0])
    gamma, eta = sampling.coef, treatment.coef
    p = expit(d.Z @ gamma)
    e = expit(d.Z @ eta)
    influence = np.column_stack([
        logistic_influence(d.Z, d.target, p, np.ones(n, dtype=bool), n),
        logistic_influence(d.Z, d.t, e, study, n),
        least_squares_influence(d.Z, d.y, outcome[0], study & (d.t == 1), n),
        least_squares_influence(d.Z, d.y, outcome[1], study & (d.t == 0), n)])
    return Nuisances(theta=np.concatenate([gamma, eta, *outcome]), influence=influence, k=k,
                     sampling_converged=bool(sampling.converged), treatment_converged=bool(treatment.converged))


@dataclass(frozen=True)
class Estimates:
    """The four contrasts (iosw, outcome_model, dr, source outcome model) and their nuisance-fixed
    influence values (n x 4)."""

    values: np.ndarray
    phi: np.ndarray
    weights: np.ndarray            # IOSW x IPTW weights of the study rows (0 on target rows)
    odds: np.ndarray               # p / (1 - p): the sampling odds alone


def estimates(theta: np.ndarray, d: TransportData, k: int, normalize: bool) -> Estimates:
    """Closed-form estimates at nuisance coefficients ``theta`` (module docstring)."""
    gamma, eta, b1, b0 = (theta[i * k:(i + 1) * k] for i in range(4))
    p, e = expit(d.Z @ gamma), expit(d.Z @ eta)
    odds = p / (1 - p)
    S, R = d.target, 1.0 - d.target
    mean_s, mean_r = S.mean(), R.mean()
    weights = np.zeros(d.n)
    parts = {}
    for arm, g, share in ((1, d.Z @ b1, e), (0, d.Z @ b0, 1 - e)):
        w = R * (d.t == arm) * odds / share
        weights += w
        om = float(np.sum(S * g) / S.sum())
        phi_om = S * (g - om) / mean_s
        norm = w.mean() if normalize else mean_s
        base = w if normalize else S
        iosw = float(np.sum(w * d.y) / (w.sum() if normalize else S.sum()))
        phi_iosw = (w * d.y - iosw * base) / norm
        aug = float(np.sum(w * (d.y - g)) / (w.sum() if normalize else S.sum()))
        phi_dr = phi_om + (w * (d.y - g) - aug * base) / norm
        src = float(np.sum(R * g) / R.sum())
        phi_src = R * (g - src) / mean_r
        parts[arm] = (np.array([iosw, om, om + aug, src]), np.column_stack([phi_iosw, phi_om, phi_dr, phi_src]))
    values = parts[1][0] - parts[0][0]
    phis = parts[1][1] - parts[0][1]
    return Estimates(values=values, phi=phis, weights=weights, odds=odds)


def gradient(f: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> np.ndarray:
    """Central finite differences of a vector function (m outputs) -> m x len(theta)."""
    cols = []
    for j in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        cols.append((f(up) - f(down)) / (2 * h))
    return np.column_stack(cols)


def influence_values(d: TransportData, nuis: Nuisances, normalize: bool) -> tuple[Estimates, np.ndarray]:
    """The estimates and their full influence values (n x 4): phi + IF_theta grad'."""
    est = estimates(nuis.theta, d, nuis.k, normalize)
    grad = gradient(lambda th: estimates(th, d, nuis.k, normalize).values, nuis.theta)
    return est, est.phi + nuis.influence @ grad.T


# --------------------------------------------------------------------------
# overlap between study and target, and the refusal when there is none
# --------------------------------------------------------------------------

def outside_study_range(d: TransportData) -> dict[str, float]:
    """Per covariate column: the share of target rows outside the study rows' range."""
    out = {}
    for j, name in enumerate(d.x_names):
        col = d.Z[:, 1 + j]
        lo, hi = col[d.study].min(), col[d.study].max()
        tgt = col[d.target == 1]
        out[name] = float(np.mean((tgt < lo) | (tgt > hi)))
    return out


def refuse_no_overlap(d: TransportData) -> None:
    outside = outside_study_range(d)
    name, share = max(outside.items(), key=lambda kv: kv[1]) if outside else ("", 0.0)
    example = f" (e.g. {share:.0%} of the target rows have '{name}' outside the study's range)" if share > 0 else ""
    raise EstimationError("The target population does not overlap the study sample: the covariates tell the two "
                          f"apart (almost) perfectly{example}, so the study has no comparable units for them.",
                          "The study cannot speak for people unlike anyone in it. Restrict the target population to "
                          "the covariate range the study covers, drop the covariate that separates them if it does "
                          "not modify the effect, or collect study data that covers the target.", code="E-EST-130")


def overlap_share(d: TransportData, gamma: np.ndarray) -> float:
    score = d.Z @ gamma
    lo, hi = score[d.study].min(), score[d.study].max()
    tgt = score[d.target == 1]
    return float(np.mean((tgt >= lo) & (tgt <= hi)))


def histograms(d: TransportData, smd_before: dict[str, float], bins: int = 25) -> dict[str, dict[str, Any]]:
    """Study and target distributions of the covariates that differ most (for the figure)."""
    order = sorted(smd_before, key=lambda k: -abs(smd_before[k] if math.isfinite(smd_before[k]) else 0))
    out = {}
    for name in order[:MAX_HISTOGRAMS]:
        col = d.Z[:, 1 + d.x_names.index(name)]
        lo, hi = float(col.min()), float(col.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        out[name] = {"edges": edges.tolist(), "first": np.histogram(col[d.study], edges)[0].tolist(),
                     "second": np.histogram(col[d.target == 1], edges)[0].tolist(),
                     "first_name": "study sample", "second_name": "target population"}
    return out


# --------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------

def transport_diagnostics(d: TransportData, nuis: Nuisances, est: Estimates, ses: np.ndarray) -> dict[str, Any]:
    study = d.study
    X, names = d.Z[:, 1:], d.x_names
    smd_before = smd_table(X, d.target, names)
    smd_after = smd_table(X, d.target, names, weights=np.where(study, est.odds, 1.0))
    gamma = nuis.theta[:nuis.k]
    w = est.weights[study]
    return {
        "n_study": int(study.sum()), "n_target": int(d.n - study.sum()),
        "n_treated": int(d.t[study].sum()), "n_control": int(study.sum() - d.t[study].sum()),
        "site_overlap_share": overlap_share(d, gamma),
        "share_outside_study_range": outside_study_range(d),
        "site_smd_before": smd_before, "site_smd_after": smd_after,
        "effective_sample_size_ratio": effective_sample_size_ratio(w, d.t[study]),
        "max_weight_ratio": max_weight_ratio(w, d.t[study]),
        "source_ate": float(est.values[3]), "source_ate_std_error": float(ses[3]),
        "estimates": {label: {"estimate": float(est.values[i]), "std_error": float(ses[i])}
                      for i, label in enumerate(LABELS)},
        "site_covariate_histograms": histograms(d, smd_before),
        "sampling_model_converged": nuis.sampling_converged, "treatment_kind": "binary",
        "assumptions": ASSUMPTIONS,
    }


def transport_warnings(d: TransportData, diag: dict[str, Any], nuis: Nuisances) -> list[str]:
    out = list(d.warnings) + [ASSUMPTIONS]
    if not nuis.treatment_converged:
        out.append("The treatment model in the study did not converge: some covariate (almost) decides treatment "
                   "there, so the weighting estimates are unreliable.")
    share = diag["site_overlap_share"]
    if share < 0.9:
        out.append(f"Only {share:.0%} of the target population looks like someone in the study (by the estimated "
                   "chance of being in the target); for the rest the estimate is extrapolated by the outcome model.")
    return out


@register("transport", family="transportability", design="cross_section", estimands=("ate",),
          requires=Requirements(roles=("outcome", "treatment", "covariates", "site"), treatment="binary"),
          title="Transport the effect to a target population",
          summary="Carries the effect measured in a study over to another population described only by its "
                  "covariates (rows with site = 1): reweights the study to look like the target (inverse odds of "
                  "sampling), predicts each target unit's outcomes from the study's outcome models, and combines "
                  "both into a doubly robust estimate of the target population's average effect (Dahabreh et al. "
                  "2020), the headline.",
          inference="influence functions of the three estimators, including the estimated nuisance models",
          params={
              "normalize": "Divide the weighted sums by the sum of the weights (True, recommended: stable with "
                           "extreme weights) or by the target sample size (False; Dahabreh et al.'s IOW1/DR1).",
          },
          headline_rank=None, battery=False, example=transport_example, transparency=0.75, cost_exponent=1.0,
          references=(
              Reference(quantity="estimate", value=0.02887, tolerance=0.1433, relative=False,
                        source="zEpid's documented true transported risk difference of its simulated data "
                               "(zepid.load_generalize_data, 'Transportability RD: 0.02887')",
                        script="tests/estimators/references/scripts/transport_zepid.py",
                        data="file:tests/estimators/references/data/zepid_generalize_conf.csv",
                        roles=ZEPID_ROLES,
                        why_tolerance="a population truth against one sample of 486 study rows: 2 standard errors "
                                      "(SE 0.072) of the doubly robust estimate"),
              Reference(quantity="by.iosw", value=0.024697192512592336, tolerance=1e-6, relative=False,
                        source="zepid 0.9.1 IPSW(generalize=False), sampling and treatment logits on L + W "
                               "(tests/estimators/references/transport_zepid.json)",
                        script="tests/estimators/references/scripts/transport_zepid.py",
                        data="file:tests/estimators/references/data/zepid_generalize_conf.csv",
                        roles=ZEPID_ROLES,
                        why_tolerance="the same formula; the two logistic fits stop at slightly different "
                                      "tolerances (observed difference 7e-9)"),
              Reference(quantity="by.outcome_model", value=0.0308157181339897, tolerance=1e-9, relative=False,
                        source="zepid 0.9.1 GTransportFormula(outcome_type='normal'), Y ~ A * (L + W)",
                        script="tests/estimators/references/scripts/transport_zepid.py",
                        data="file:tests/estimators/references/data/zepid_generalize_conf.csv",
                        roles=ZEPID_ROLES,
                        why_tolerance="the same least-squares fits: only rounding differs"),
              Reference(quantity="by.dr", value=0.028332089173492947, tolerance=1e-6, relative=False,
                        source="zepid 0.9.1 AIPSW(generalize=False), the same three models",
                        script="tests/estimators/references/scripts/transport_zepid.py",
                        data="file:tests/estimators/references/data/zepid_generalize_conf.csv",
                        roles=ZEPID_ROLES, params={"normalize": False},
                        why_tolerance="the same formula with unnormalised weights; logistic fit tolerances differ "
                                      "(observed difference 1e-9)"),
          ))
def transport(data: Dataset, roles: Roles, *, estimand: Literal["ate"] = "ate", alpha: float = 0.05, seed: int = 0,
              normalize: bool = True) -> EffectResult:
    """Target-population ATE by IOSW, outcome-model transport and their doubly robust combination.

    ``seed`` is accepted for the common signature; the method is deterministic.
    """
    if roles.weight:
        raise EstimationError("transport does not take sampling weights yet.",
                              "Remove the weight role, or describe the target population by unweighted rows.",
                              code="E-EST-131")
    d = transport_arrays(data, roles)
    nuis = fit_nuisances(d)
    gamma = nuis.theta[:nuis.k]
    if not nuis.sampling_converged or overlap_share(d, gamma) == 0.0:
        refuse_no_overlap(d)
    est, influence = influence_values(d, nuis, normalize)
    ses = np.array([influence_se(influence[:, j], d.cluster) for j in range(influence.shape[1])])
    diagnostics = transport_diagnostics(d, nuis, est, ses)
    diagnostics["normalize"] = bool(normalize)
    by = []
    for i, label in enumerate(LABELS):
        sub = finish("transport", "ate", float(est.values[i]), float(ses[i]), alpha=alpha, n_obs=d.n,
                     se_method="", diagnostics={})
        by.append(SubEstimate(label=label, estimate=sub.estimate, std_error=sub.std_error, ci_lower=sub.ci_lower,
                              ci_upper=sub.ci_upper, p_value=sub.p_value, n_obs=d.n))
    se_method = ("influence function of the doubly robust estimator, including the estimated sampling, treatment "
                 "and outcome models" + (" (cluster-robust)" if d.cluster is not None else ""))
    return finish("transport", "ate", float(est.values[2]), float(ses[2]), alpha=alpha, n_obs=d.n,
                  se_method=se_method, diagnostics=diagnostics, warnings=transport_warnings(d, diagnostics, nuis),
                  by=tuple(by), estimand_label="ATE in the target population (site = 1)")
