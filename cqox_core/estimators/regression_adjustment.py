"""Regression adjustment (OLS) with HC3 or cluster-robust standard errors.

For a binary treatment and the ATE we use Lin's (2013) fully interacted
estimator: regress Y on T, centred covariates Xc and T*Xc; the coefficient on T
is the ATE (Lin 2013, Ann. Appl. Stat. 7:295, Sec. 2). Centring at the treated
means instead gives the ATT. A continuous treatment gets the additive model
Y ~ T + X and the coefficient on T is the effect of one unit of treatment.

A text covariate with more than 50 values (a store, village or school) enters as
fixed effects, absorbed exactly (``_absorb``; the coefficients and residuals of
OLS with one dummy per value, without building the dummies). Interacting the
treatment with hundreds of dummies would estimate a separate effect per level,
mostly from a handful of rows, so the fixed effects enter additively and Lin's
interactions use the other covariates only:

    Y = a_store + tau T + Xc'b + (Xc T)'g + e,

tau being the ATE (ATT with Xc centred at the treated means) when the effect
varies with X but not with the store beyond it; otherwise tau averages the
store-specific effects with weights proportional to each store's treated-share
variance (Angrist 1998). Standard errors follow fixest / pyfixest with fixed
effects (see ``_absorb``: classical, HC1 and CR1 match pyfixest; HC3, which
pyfixest refuses with fixed effects, is exact and matches statsmodels with the
dummies). Rows alone in their level are left out, as fixest does.

Standard error of the ATT. The sandwich (HC3, HC1, classical or cluster) of the
coefficient on T treats the centre of the covariates as a known constant. For
the ATE that centre is the mean of all rows, fixed once the sample is drawn, and
Lin (2013) shows the HC sandwich is then valid (conservative) for the
sample ATE. For the ATT the centre is the mean over the treated, and who is
treated is random, so its sampling error is part of the estimate's. With
tau(c) = a1 - a0 + (b1 - b0)'c the delta method adds d' Var(xbar_T) d,
d = b1 - b0: the influence-function term (T/p)(tau(X) - ATT) of the population
ATT (Imbens & Wooldridge 2009, J. Econ. Lit. 47:5, on population versus sample
effects; Stata's teffects ra gets it by stacking the means into its M-estimation,
Negi & Wooldridge 2021, Econometric Rev. 40:504). Per unit
D_i = w_i T_i d'(X_i - xbar_T) / sum_T w, and the variance becomes
V_sandwich + n1/(n1 - 1) sum_i D_i^2 + 2 sum_i R_i D_i, R_i the regression's own
influence on the coefficient on T (the cross sum is exactly 0 without weights, by
the treated arm's normal equations); with clusters the sums are taken within
clusters and scaled like CR1. The interval then covers the population ATT; for
the ATT of the treated units at hand it is conservative.
"""
from __future__ import annotations

import math
from typing import Callable, Literal

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..datasets.public import CARD_CONTROLS, NSW_ROLES
from ..diagnostics import standard_diagnostics
from ..errors import EstimationError
from ..inference import OLSFit, least_squares, ols
from ..prep import Prepared, RowSampler, many_level_covariates, prepare, row_sampler
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._absorb import AbsorbedFit, absorbed_ols, fixed_effect_count
from ._common import finish, is_binary_treatment


def regression_design(prep: Prepared, *, binary: bool, estimand: str, interacted: bool) -> np.ndarray:
    """[1, T, Xc, Xc*T] (Lin 2013, Sec. 2) for a binary treatment, Xc centred at the (weighted) means of
    the target population; [1, T, X] otherwise. Refuses more terms than rows."""
    t, X = prep.t, prep.X
    n = prep.n
    if binary and interacted:
        w = prep.weight if prep.weight is not None else np.ones(n)
        target = t == 1 if estimand == "att" else np.ones(n, dtype=bool)
        center = np.average(X[target], axis=0, weights=w[target])
        Xc = X - center
        design = np.column_stack([np.ones(n), t, Xc, Xc * t[:, None]])
    else:
        design = np.column_stack([np.ones(n), t, X])
    if design.shape[1] >= n:
        raise EstimationError(f"{design.shape[1]} regression terms for {n} rows: the model cannot be fitted.",
                              "Use fewer covariates or set interacted=False.", code="E-EST-002")
    return design


def treated_centring_variance(prep: Prepared, design: np.ndarray, fit: OLSFit, *,
                               cluster: np.ndarray | None) -> float:
    """Delta-method variance of the ATT due to the estimated treated covariate means (module docstring).

    ``design`` is the interacted [1, T, Xc, Xc*T] with Xc centred at the treated (weighted) means and
    ``fit`` its least-squares fit, so coef[2+k:] = d, the treated minus untreated slopes. With fixed
    effects absorbed (an ``AbsorbedFit``) the regression's influence on T uses the residualised design its
    (X'WX)^-1 belongs to (FWL: the same row as in the model with the dummies), and the CR1 factor counts
    the fixed effects as that fit does.
    """
    coef = fit.coef
    k = prep.X.shape[1]
    if k == 0:
        return 0.0
    t = prep.t.astype(float)
    w = prep.weight if prep.weight is not None else np.ones(prep.n)
    xc = design[:, 2:2 + k]
    d = coef[2 + k:2 + 2 * k]
    total = float(np.sum(w * t))
    own = w * t * (xc @ d) / total                       # D_i, zero for the untreated
    # R_i, the regression's influence on the coefficient on T: row 1 of (X'WX)^-1 x_i w_i e_i
    absorbed = isinstance(fit, AbsorbedFit)
    regression = ((fit.regressors if absorbed else design) @ fit.xtx_inv[1]) * w * fit.resid
    if cluster is None:
        n1 = int(t.sum())
        return float(n1 / max(n1 - 1, 1) * own @ own + 2.0 * regression @ own)
    _, idx = np.unique(cluster, return_inverse=True)
    g = int(idx.max()) + 1
    own_g, regression_g = np.bincount(idx, own, g), np.bincount(idx, regression, g)
    n_params = fit.n_params if absorbed else design.shape[1]
    factor = (g / max(g - 1, 1)) * ((prep.n - 1) / max(prep.n - n_params, 1))   # as CR1 in ols()
    return float(factor * (own_g @ own_g + 2.0 * regression_g @ own_g))


def treatment_coefficient(prep: Prepared, *, binary: bool, estimand: str, interacted: bool) -> float:
    """The point estimate alone (no standard error, no diagnostics): all a bootstrap replicate needs.

    The same least-squares solve as ``regression_adjustment``, so the number is the same.
    """
    design = regression_design(prep, binary=binary, estimand=estimand, interacted=interacted)
    return float(least_squares(design, prep.y, weights=prep.weight).coef[1])


def replicate_estimator(data: Dataset, roles: Roles, *, estimand: str = "ate", interacted: bool = True,
                        cov_type: str = "HC3") -> tuple[RowSampler, Callable[[Prepared, int], float]] | None:
    """For the bootstrap: the full data's prepared rows and the point estimate as a function of
    resampled ones (``cov_type`` changes only the standard error). None, so resamples go through
    the frame, for a continuous treatment: a resample that kept two of its values would be
    analysed as binary."""
    if not is_binary_treatment(data, roles):
        return None
    if many_level_covariates(data.frame, tuple(c for c in roles.covariates if c in data.frame.columns)):
        return None        # absorbed fixed effects: each resample is prepared (and absorbed) from the frame
    sampler = row_sampler(data, roles, binary_treatment=True)
    if sampler is None:
        return None
    return sampler, lambda sample, seed: treatment_coefficient(sample, binary=True, estimand=estimand,
                                                               interacted=interacted)


def fit_design(prep: Prepared, design: np.ndarray, *, cov_type: str, cluster: np.ndarray | None,
               weights: np.ndarray | None) -> tuple[OLSFit, list[str]]:
    """``ols``, or ``absorbed_ols`` when many-level covariates enter as fixed effects (then the
    intercept's coefficient is NaN: the fixed effects absorb it)."""
    if prep.fixed_effects is None:
        return ols(design, prep.y, cov_type=cov_type, cluster=cluster, weights=weights), []
    return absorbed_ols(design, prep.y, prep.fixed_effects, cov_type=cov_type, cluster=cluster, weights=weights,
                        names=["treatment", *(f"{c}{suffix}" for suffix in ("", " x treatment")
                                              for c in prep.x_names)][:design.shape[1] - 1])


@register("regression_adjustment", family="selection_on_observables", design="cross_section", estimands=("ate", "att"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="any"),
          title="Regression adjustment",
          summary="Compares treated and untreated after modelling the outcome on the covariates with least "
                  "squares (Lin's fully interacted form for a binary treatment).",
          inference="HC3, or cluster-robust (CR1) with a cluster role",
          params={
              "interacted": "Lin's estimator: lets the covariates' effect differ between groups (recommended).",
              "cov_type": "Standard-error formula; HC3 is robust to unequal variances and safe in small samples.",
          },
          headline_rank=40, resampling=replicate_estimator, example=examples.confounded, transparency=1.0, cost_exponent=1.0,
          references=(
              # Lin's interacted regression in statsmodels on the NSW experiment (ATE: full-sample centring;
              # ATT: centred at the treated means)
              *(Reference(quantity, value, tolerance, relative=relative, data="causaldata:nsw_mixtape",
                          roles=NSW_ROLES, params={"estimand": estimand},
                          source="statsmodels 0.15 OLS of re78 on [1, treat, Xc, treat*Xc], HC3 (Lin 2013), on "
                                 "the NSW experimental sample",
                          script="tests/estimators/references/scripts/nsw_statsmodels_lin.py",
                          why_tolerance="same estimator, both solve the same normal equations: 1e-8 "
                                        "(test_agrees_with_statsmodels_hc3_on_lalonde)")
                for estimand, quantity, value, tolerance, relative in (
                    ("ate", "estimate", 1621.5830818958075, 1e-8, False),
                    ("ate", "std_error", 716.872745623501, 1e-8, True),
                    ("att", "estimate", 1787.7606219777722, 1e-8, False))),
              Reference("std_error", 707.9611233991278, 1e-8, relative=True, data="causaldata:nsw_mixtape",
                        roles=NSW_ROLES, params={"estimand": "att"},
                        source="statsmodels 0.15 HC3 of Lin's regression centred at the treated means plus the "
                               "delta-method term d' Cov(X | T=1) d / n1 for the estimated centre, on the NSW sample",
                        script="tests/estimators/references/scripts/regression_att_se_nsw.py",
                        why_tolerance="the formula regression_adjustment implements, independent code: 1e-8, as "
                                      "test_att_se_matches_statsmodels_hc3_plus_delta_term_on_lalonde"),
              Reference("estimate", 1794.34, 716.0, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                        source="LaLonde (1986); Dehejia & Wahba (1999): NSW experimental benchmark, treated minus "
                               "control mean 1978 earnings ($1794; 1794.34 on causaldata.nsw_mixtape)",
                        script="printed in the source",
                        why_tolerance="1 SE of this estimate (HC3 SE 716.87, rounded down): covariate "
                                      "adjustment in a randomised sample stays near the difference in means"),
              # Wooldridge Example 15.4: OLS return to schooling on Card (1995), continuous treatment
              Reference("estimate", 0.075, 5e-4, data="woo:card",
                        roles={"outcome": "lwage", "treatment": "educ", "covariates": CARD_CONTROLS},
                        params={"cov_type": "classical"},
                        source="Wooldridge, Introductory Econometrics, Example 15.4: OLS of log wage on educ "
                               "with Card's (1995) controls gives .075",
                        script="printed in the source",
                        why_tolerance="the text prints 3 decimals: half a unit in the last digit"),
              Reference("std_error", 0.0035, 5e-4, data="woo:card",
                        roles={"outcome": "lwage", "treatment": "educ", "covariates": CARD_CONTROLS},
                        params={"cov_type": "classical"},
                        source="Wooldridge, Introductory Econometrics, Example 15.4: the OLS standard error "
                               "(printed .003-.004 across editions)",
                        script="printed in the source",
                        why_tolerance="the band [.003, .004] of test_published_card_ols_return_to_schooling"),
          ))
def regression_adjustment(data: Dataset, roles: Roles, *, estimand: Literal["ate", "att"] = "ate",
                          alpha: float = 0.05, seed: int = 0, interacted: bool = True,
                          cov_type: Literal["HC3", "HC1", "classical"] = "HC3") -> EffectResult:
    binary = is_binary_treatment(data, roles)
    prep = prepare(data, roles, binary_treatment=binary, absorb=True)
    y, t, X = prep.y, prep.t, prep.X
    n = prep.n
    cluster = prep.cluster
    kind = "cluster" if cluster is not None else cov_type
    warnings = list(prep.warnings)
    if not binary and estimand == "att":
        warnings.append("With a continuous treatment the coefficient is the effect of one unit of treatment; "
                        "ATT is not defined and the ATE-style slope is reported.")
    design = regression_design(prep, binary=binary, estimand=estimand, interacted=interacted)
    # a weight role gives weighted least squares (e.g. survey or frequency weights)
    fit, notes = fit_design(prep, design, cov_type=kind, cluster=cluster, weights=prep.weight)
    warnings.extend(notes)
    if cluster is not None and len(np.unique(cluster)) <= design.shape[1]:
        warnings.append(f"Only {len(np.unique(cluster))} clusters for {design.shape[1]} regression terms: "
                        "cluster-robust standard errors are unreliable (too small) in this setting. Use fewer "
                        "covariates, set interacted=False, or compare with the bootstrap (of=regression_adjustment).")
    est, variance = float(fit.coef[1]), float(fit.cov[1, 1])
    centring = binary and interacted and estimand == "att"
    if centring:
        variance += treated_centring_variance(prep, design, fit, cluster=cluster)
    se = math.sqrt(variance) if variance >= 0 else math.nan
    diagnostics = standard_diagnostics(prep) if binary else {"n": n}
    if not binary and X.shape[1]:
        from ..diagnostics import variance_inflation
        vif = variance_inflation(X, prep.x_names)
        diagnostics.update(vif=vif, max_vif=max(vif.values()))
    # The additive model's t statistic feeds the Cinelli-Hazlett robustness value.
    additive, _ = fit_design(prep, np.column_stack([np.ones(n), t, X]), cov_type="classical", cluster=None,
                             weights=None)
    diagnostics.update(
        r_squared=float(1 - np.sum(fit.resid ** 2) / np.sum((y - y.mean()) ** 2)) if np.var(y) > 0 else float("nan"),
        additive_coef=float(additive.coef[1]), additive_t=float(additive.coef[1] / additive.se[1]),
        additive_dof=int(additive.df_resid), treatment_kind="binary" if binary else "continuous",
    )
    se_method = {"cluster": "cluster-robust (CR1) sandwich", "HC3": "HC3 sandwich", "HC1": "HC1 sandwich",
                 "classical": "classical OLS"}[kind]
    if prep.fixed_effects is not None:
        diagnostics.update(absorbed_fixed_effects={c: int(prep.fixed_effects[:, j].max()) + 1
                                                   for j, c in enumerate(prep.absorbed)},
                           fixed_effect_count=fixed_effect_count(prep.fixed_effects, cluster))
        se_method += (f", with the fixed effects of {', '.join(prep.absorbed)} absorbed (small-sample factor as "
                      "fixest/pyfixest)")
    if centring:
        se_method += " plus the delta-method term for the estimated treated covariate means"
    return finish("regression_adjustment", estimand if binary else "ate", est, se, alpha=alpha, n_obs=n,
                  estimand_label="" if binary else "effect of one more unit of treatment",
                  se_method=se_method, diagnostics=diagnostics, warnings=warnings,
                  df=fit.df_resid if kind == "cluster" else None)
