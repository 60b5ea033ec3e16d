"""Proximal causal inference: proximal two-stage least squares (``proximal``).

The problem. Treatment A and outcome Y share a cause U that nobody measured, so adjusting for
the measured covariates X is not enough. Proximal inference (Miao, Geng & Tchetgen Tchetgen
2018, Biometrika 105:987; Tchetgen Tchetgen, Ying, Cui, Shi & Miao 2020, "An introduction to
proximal causal learning", arXiv:2009.10982) uses two kinds of imperfect measurements of U:

* negative-control exposures Z (treatment-confounding proxies): related to U, with no effect of
  their own on Y (Z may affect A). Formally Y(a, z) = Y(a) and Z independent of Y given (U, A, X).
* negative-control outcomes W (outcome-confounding proxies): caused by U, but not affected by
  A or Z. Formally W independent of (A, Z) given (U, X).

If, in addition, Z is rich enough to tell apart the values of U that matter for W (a
"completeness" condition, the analogue of a relevant instrument), there is an outcome bridge
h(W, A, X) with E[Y - h(W, A, X) | Z, A, X] = 0, and the effect of A is E[h(W, 1, X) -
h(W, 0, X)] (Miao et al. 2018, Theorem 1; Tchetgen Tchetgen et al. 2020, Sec. 3).

The estimator. With a linear bridge h = b0 + beta A + W'b_w + X'b_x the effect is beta, and
the bridge's moment condition E[(1, A, Z, X)' (Y - h)] = 0 is a linear instrumental-variable
problem (Tchetgen Tchetgen et al. 2020, Sec. 4.1, "P2SLS"):

    stage 1   regress each W on (1, A, Z, X) and keep the fitted values W^
    stage 2   regress Y on (1, A, W^, X); the coefficient on A is the effect

which is exactly two-stage least squares of Y on (1, A, W, X) with W endogenous, instrumented
by Z, and A and X exogenous (their own instruments). The equivalence used in the tests:
``linearmodels.iv.IV2SLS(y, exog=[1, A, X], endog=W, instruments=Z)`` gives the same
coefficient on A and the same covariance. With as many NCEs as NCOs this is the exactly
identified method-of-moments estimator of the bridge; with more it is GMM with the 2SLS
weight (Z'Z)^-1. At least as many NCEs as NCOs are needed.

The standard error. The stacked estimating equations are the bridge's moments alone (the
first stage is part of the 2SLS projection, not a separate estimated nuisance), so the GMM
sandwich is the 2SLS sandwich (Wooldridge 2010, Econometric Analysis of Cross Section and
Panel Data, Sec. 5.2.3; Hansen 2022, Econometrics, Sec. 12.16):

    V = (X^'X^)^-1 [sum_i x^_i x^_i' u_i^2] (X^'X^)^-1 * n / (n - p),   u = Y - X beta

with X = (A, W, 1, X), X^ its projection on the instruments (A, Z, 1, X), and residuals u
computed with the observed W, not W^: the point where a naive "regress Y on W^" second stage
goes wrong (its residuals Y - X^ beta include the first-stage error, and its OLS standard
errors are invalid). HC1 by default; classical s^2 (X^'X^)^-1; CR1 with a cluster role.

Diagnostics: OLS of Y on (A, X) (biased when U confounds), OLS adjusting also for the proxies
(still biased: a proxy is not the confounder), the strength of Z for each W (first-stage robust
F of Z given A and X: the data's check on the completeness condition, weak below 10, like an
instrument), and the bridge's coefficients.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..data import Dataset
from ..datasets.advanced import proximal_example
from ..errors import EstimationError, RoleError
from ..prep import is_numeric_column, prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish, is_binary_treatment

CovType = Literal["HC1", "classical"]
#: Below this first-stage F of the NCEs for an NCO, the proxies are weak (Staiger & Stock 1997's rule).
WEAK_F = 10.0
NCE_MEANING = ("a negative-control exposure: a variable caused by the unmeasured confounder (or sharing its "
               "causes) but not affecting the outcome, e.g. a measurement taken before treatment that tracks the "
               "hidden factor")
NCO_MEANING = ("a negative-control outcome: a variable caused by the unmeasured confounder that the treatment "
               "cannot affect, e.g. an outcome measured before treatment or one the treatment has no way to change")
ASSUMPTIONS = ("Proximal inference trusts two things no test can show: the negative-control exposure has no effect "
               "of its own on the outcome, and the negative-control outcome is not affected by the treatment or the "
               "negative-control exposure. Both must be related to the hidden confounder, and the exposure proxy "
               "must carry enough information about it (checked by the first-stage F).")


@dataclass(frozen=True)
class ProximalData:
    """Complete-case arrays (multiplied by sqrt(weight) with a weight role)."""

    y: np.ndarray
    a: np.ndarray
    Z: np.ndarray                  # negative-control exposures, n x k
    W: np.ndarray                  # negative-control outcomes, n x q
    X: np.ndarray                  # intercept + covariates
    z_names: tuple[str, ...]
    w_names: tuple[str, ...]
    x_names: tuple[str, ...]
    cluster: np.ndarray | None
    binary_treatment: bool
    n_treated: int
    warnings: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.y.size)


def column_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def check_proxies(roles: Roles, frame: pd.DataFrame, nce: tuple[str, ...], nco: tuple[str, ...]) -> None:
    """Both kinds named, present, numeric and distinct from every other role."""
    if not nce:
        raise RoleError(f"Proximal inference needs {NCE_MEANING}; none is set.",
                        "Name it with --param nce=COLUMN (several: nce=A,B), or Python nce='COLUMN'. Without "
                        "negative controls the unmeasured confounder cannot be corrected for.", code="E-ROLE-111")
    if not nco:
        raise RoleError(f"Proximal inference needs {NCO_MEANING}; none is set.",
                        "Name it with --param nco=COLUMN (several: nco=A,B), or Python nco='COLUMN'.",
                        code="E-ROLE-112")
    others = {roles.outcome: "the outcome", roles.treatment: "the treatment",
              **{c: "a covariate" for c in roles.covariates}}
    for kind, names in (("negative-control exposure", nce), ("negative-control outcome", nco)):
        for name in names:
            if name in others:
                raise RoleError(f"The {kind} '{name}' is {others[name]}.",
                                "Negative controls are separate columns: proxies of the unmeasured confounder that are "
                                "neither the treatment, the outcome nor an adjusted-for covariate.", code="E-ROLE-113")
    both = sorted(set(nce) & set(nco))
    if both:
        raise RoleError(f"{', '.join(both)} is named both as a negative-control exposure and outcome.",
                        "Each proxy plays one part: the exposure kind must not affect the outcome, the outcome kind "
                        "must not be affected by the treatment.", code="E-ROLE-113")
    missing = [c for c in (*nce, *nco) if c not in frame.columns]
    if missing:
        sample = ", ".join(map(str, list(frame.columns)[:12]))
        raise RoleError(f"Negative-control column(s) not found in the data: {', '.join(missing)}.",
                        f"Available columns include: {sample}. Column names are case-sensitive.", code="E-ROLE-002")
    text = [c for c in (*nce, *nco) if not is_numeric_column(frame[c])]
    if text:
        raise RoleError(f"The negative control(s) {', '.join(text)} are not numeric.",
                        "The bridge is linear in the proxies: recode them as numbers (one 0/1 column per category).",
                        code="E-ROLE-114")
    if len(nce) < len(nco):
        raise EstimationError(f"{len(nce)} negative-control exposure(s) for {len(nco)} negative-control outcome(s): "
                              "the bridge is not identified.",
                              "Give at least as many negative-control exposures as outcomes (or drop outcomes).",
                              code="E-EST-120")


def proximal_arrays(data: Dataset, roles: Roles, nce: tuple[str, ...], nco: tuple[str, ...]) -> ProximalData:
    frame = data.frame
    roles.check_columns(frame)
    check_proxies(roles, frame, nce, nco)
    binary = is_binary_treatment(data, roles)
    # the proxies enter as trailing "covariates", so their missing rows are dropped with the others'
    prep = prepare(data, roles.replace(covariates=(*roles.covariates, *nce, *nco)), need_covariates=False,
                   binary_treatment=binary)
    lost = [c for c in (*nce, *nco) if c not in prep.x_names]
    if lost:
        raise EstimationError(f"The negative control(s) {', '.join(lost)} are constant, or exact combinations of the "
                              "covariates and the other proxies, in the rows used.",
                              "Each proxy must vary beyond what the covariates explain.", code="E-EST-122")
    names = list(prep.x_names)
    col = {n: names.index(n) for n in (*nce, *nco)}
    keep = [j for j, n in enumerate(names) if n not in col]
    Xc = np.asarray(prep.X)
    y, a = np.asarray(prep.y, dtype=float), np.asarray(prep.t, dtype=float)
    Z, W = Xc[:, [col[c] for c in nce]], Xc[:, [col[c] for c in nco]]
    X = np.column_stack([np.ones(prep.n), Xc[:, keep]])
    if prep.weight is not None:
        w = np.asarray(prep.weight, dtype=float)
        if np.any(~np.isfinite(w)) or np.any(w < 0):
            raise EstimationError(f"The weight column '{roles.weight}' has negative or non-finite values.",
                                  "Weights must be non-negative numbers.", code="E-EST-028")
        sw = np.sqrt(w)
        y, a, Z, W, X = y * sw, a * sw, Z * sw[:, None], W * sw[:, None], X * sw[:, None]
    p = 1 + len(nco) + X.shape[1]
    if prep.n <= p + len(nce):
        raise EstimationError(f"{prep.n} usable rows for {p + len(nce)} first-stage parameters: too few to fit.",
                              "Provide more rows or use fewer covariates.", code="E-EST-002")
    return ProximalData(y=y, a=a, Z=Z, W=W, X=X, z_names=nce, w_names=nco,
                        x_names=("const", *[names[j] for j in keep]),
                        cluster=None if prep.cluster is None else np.asarray(prep.cluster), binary_treatment=binary,
                        n_treated=int(np.sum(prep.t == 1)) if binary else 0, warnings=tuple(prep.warnings))


# --------------------------------------------------------------------------
# the two stages and their sandwich
# --------------------------------------------------------------------------

def sandwich(R: np.ndarray, u: np.ndarray, bread: np.ndarray, kind: str, cluster: np.ndarray | None) -> np.ndarray:
    """bread [sum r_i r_i' u_i^2] bread with HC1 n/(n-p), classical s^2 bread, or CR1 by cluster."""
    n, p = R.shape
    dof = max(n - p, 1)
    if kind == "classical":
        return float(u @ u) / dof * bread
    scores = R * u[:, None]
    factor = n / dof
    if kind == "cluster":
        _, idx = np.unique(cluster, return_inverse=True)
        g = int(idx.max()) + 1
        summed = np.zeros((g, p))
        np.add.at(summed, idx, scores)
        scores, factor = summed, (g / max(g - 1, 1)) * ((n - 1) / dof)
    return factor * bread @ (scores.T @ scores) @ bread


@dataclass(frozen=True)
class P2SLS:
    coef: np.ndarray        # [beta (treatment), b_w (one per NCO), b_x (intercept first)]
    cov: np.ndarray
    resid: np.ndarray


def p2sls(d: ProximalData, kind: str) -> P2SLS:
    """Two-stage least squares of y on (A, W, X), W instrumented by Z (module docstring)."""
    regressors = np.column_stack([d.a, d.W, d.X])
    instruments = np.column_stack([d.a, d.Z, d.X])
    projected = instruments @ np.linalg.lstsq(instruments, regressors, rcond=None)[0]
    bread = np.linalg.inv(projected.T @ projected)
    coef = bread @ (projected.T @ d.y)
    resid = d.y - regressors @ coef     # observed W, not its projection
    return P2SLS(coef=coef, cov=sandwich(projected, resid, bread, kind, d.cluster), resid=resid)


def ols_effect(y: np.ndarray, R: np.ndarray, kind: str, cluster: np.ndarray | None) -> tuple[float, float]:
    """Coefficient on the first column of R and its sandwich SE."""
    bread = np.linalg.inv(R.T @ R)
    coef = bread @ (R.T @ y)
    cov = sandwich(R, y - R @ coef, bread, kind, cluster)
    return float(coef[0]), float(math.sqrt(cov[0, 0]))


def proxy_strength(d: ProximalData, kind: str) -> dict[str, dict[str, float]]:
    """Per NCO: robust first-stage F of the NCEs given (A, X) and their partial R^2."""
    base = np.column_stack([d.a, d.X])
    full = np.column_stack([d.Z, base])
    bread = np.linalg.inv(full.T @ full)
    k = d.Z.shape[1]
    out = {}
    for j, name in enumerate(d.w_names):
        w = d.W[:, j]
        coef = bread @ (full.T @ w)
        resid = w - full @ coef
        V = sandwich(full, resid, bread, kind, d.cluster)[:k, :k]
        pi = coef[:k]
        f = float(pi @ np.linalg.solve(V, pi)) / k
        base_resid = w - base @ np.linalg.lstsq(base, w, rcond=None)[0]
        partial_r2 = 1.0 - float(resid @ resid) / float(base_resid @ base_resid)
        out[name] = {"first_stage_f": f, "partial_r2": partial_r2,
                     "first_stage_p": float(stats.f.sf(f, k, max(d.n - full.shape[1], 1)))}
    return out


def check_relevance(strength: dict[str, dict[str, float]]) -> None:
    dead = [n for n, s in strength.items() if not s["partial_r2"] > 1e-10]
    if dead:
        raise EstimationError(f"The negative-control exposure(s) do not predict the negative-control outcome(s) "
                              f"{', '.join(dead)} at all once treatment and covariates are accounted for, so the "
                              "unmeasured confounder cannot be recovered from them.",
                              "Both proxies must track the same hidden factor: choose a negative-control exposure that "
                              "is related to the negative-control outcome.", code="E-EST-121")


def proximal_warnings(d: ProximalData, strength: dict[str, dict[str, float]]) -> list[str]:
    out = list(d.warnings) + [ASSUMPTIONS]
    weak = {n: s["first_stage_f"] for n, s in strength.items() if s["first_stage_f"] < WEAK_F}
    if weak:
        shown = ", ".join(f"{n} (F = {f:.1f})" for n, f in weak.items())
        out.append(f"The negative-control exposure(s) barely predict the negative-control outcome {shown}, below 10: "
                   "like a weak instrument, the proximal estimate is then pulled toward the confounded OLS estimate "
                   "and its interval is too narrow.")
    return out


@register("proximal", family="proximal", design="cross_section", estimands=("ate",),
          requires=Requirements(roles=("outcome", "treatment"), recommended=("covariates",), treatment="any"),
          title="Proximal causal inference (P2SLS)",
          summary="Corrects for a confounder nobody measured, using two columns that act as its imperfect "
                  "measurements: a negative-control exposure (related to the hidden confounder, no effect of its own "
                  "on the outcome) and a negative-control outcome (caused by the hidden confounder, not affected by "
                  "the treatment). Needs both, given as parameters nce= and nco=; estimated by proximal two-stage "
                  "least squares (Tchetgen Tchetgen et al. 2020).",
          inference="2SLS / GMM sandwich of the outcome bridge (HC1, or CR1 with a cluster role)",
          params={
              "nce": f"Column(s), comma-separated, of {NCE_MEANING}.",
              "nco": f"Column(s), comma-separated, of {NCO_MEANING}. At most as many as negative-control exposures.",
              "cov_type": "Standard-error formula: HC1 (robust to unequal variances, the default) or classical; a "
                          "cluster role gives cluster-robust errors instead.",
          },
          headline_rank=None, battery=False, example=proximal_example, transparency=0.7, cost_exponent=1.0,
          references=(
              Reference(quantity="estimate", value=2.0775838505850404, tolerance=1e-9, relative=True,
                        source="linearmodels 7.1 IV2SLS(y, exog=[1, a, x], endog=w, instruments=z) on the registry "
                               "example (seed 0): P2SLS is this IV regression "
                               "(tests/estimators/references/proximal_linearmodels.json)",
                        script="tests/estimators/references/scripts/proximal_linearmodels.py",
                        data="example:0", roles={"outcome": "y", "treatment": "a", "covariates": ["x"]},
                        params={"nce": "z", "nco": "w"},
                        why_tolerance="the equivalence is exact: only floating-point rounding differs"),
              Reference(quantity="std_error", value=0.11371869108492885, tolerance=1e-9, relative=True,
                        source="the same fit's robust covariance (cov_type='robust', debiased=True: HC0 x n/(n-p))",
                        script="tests/estimators/references/scripts/proximal_linearmodels.py",
                        data="example:0", roles={"outcome": "y", "treatment": "a", "covariates": ["x"]},
                        params={"nce": "z", "nco": "w"},
                        why_tolerance="the same sandwich: only floating-point rounding differs"),
          ))
def proximal(data: Dataset, roles: Roles, *, estimand: Literal["ate"] = "ate", alpha: float = 0.05, seed: int = 0,
             nce: str | None = None, nco: str | None = None, cov_type: CovType = "HC1") -> EffectResult:
    """Proximal two-stage least squares (see the module docstring for the assumptions and sources).

    ``seed`` is accepted for the common signature; the method is deterministic.
    """
    d = proximal_arrays(data, roles, column_list(nce), column_list(nco))
    kind = "cluster" if d.cluster is not None else cov_type
    strength = proxy_strength(d, kind)
    check_relevance(strength)
    fit = p2sls(d, kind)
    est, se = float(fit.coef[0]), float(math.sqrt(fit.cov[0, 0]))
    ols, ols_se = ols_effect(d.y, np.column_stack([d.a, d.X]), kind, d.cluster)
    adjusted, adjusted_se = ols_effect(d.y, np.column_stack([d.a, d.Z, d.W, d.X]), kind, d.cluster)
    q = len(d.w_names)
    diagnostics: dict[str, Any] = {
        "negative_control_exposures": list(d.z_names), "negative_control_outcomes": list(d.w_names),
        "proxy_strength": strength, "min_proxy_first_stage_f": min(s["first_stage_f"] for s in strength.values()),
        "ols_estimate": ols, "ols_std_error": ols_se,
        "proxy_adjusted_ols_estimate": adjusted, "proxy_adjusted_ols_std_error": adjusted_se,
        "bridge_coefficients": {name: float(fit.coef[1 + j]) for j, name in enumerate(d.w_names)}
        | {name: float(fit.coef[1 + q + j]) for j, name in enumerate(d.x_names)},
        "n": d.n, "cov_type": kind, "treatment_kind": "binary" if d.binary_treatment else "continuous",
        "assumptions": ASSUMPTIONS,
    }
    if d.binary_treatment:
        diagnostics.update(n_treated=d.n_treated, n_control=d.n - d.n_treated)
    n_clusters = int(np.unique(d.cluster).size) if kind == "cluster" else None
    se_method = {"HC1": "2SLS/GMM sandwich of the outcome bridge, HC1",
                 "classical": "2SLS/GMM sandwich of the outcome bridge, classical (homoskedastic)",
                 "cluster": "2SLS/GMM sandwich of the outcome bridge, cluster-robust (CR1)"}[kind]
    label = ("ATE: average effect of the treatment, corrected for the unmeasured confounder the negative "
             "controls stand in for" if d.binary_treatment else
             "effect of one unit of treatment, corrected for the unmeasured confounder")
    return finish("proximal", "ate", est, se, alpha=alpha, n_obs=d.n, se_method=se_method, diagnostics=diagnostics,
                  warnings=proximal_warnings(d, strength), df=n_clusters - 1 if n_clusters else None,
                  estimand_label=label)
