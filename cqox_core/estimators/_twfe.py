"""Two-way fixed-effects machinery shared by ``did`` and ``event_study``: tidy long
panel data, exact absorption of unit and period effects (Frisch-Waugh-Lovell),
cluster-robust (CR1) inference, design checks and descriptions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ..data import Dataset
from ..errors import EstimationError, RoleError
from ..inference import covariance
from ..panel import check_outcome_and_treatment, prepare_panel
from ..prep import design_matrix, independent_columns, level_codes, many_level_covariates, numeric_outcome
from ..roles import Roles
from ._common import period_label

#: Above this many levels in the smaller factor the dummy block is too large; use alternating projections.
MAX_DUMMY_LEVELS = 2000
#: Convergence tolerance of the alternating projections (max absolute change, relative to the column's scale).
MAP_TOLERANCE = 1e-13
#: Cap on leads and lags shown by default; the endpoints beyond are binned.
DEFAULT_WINDOW_CAP = 5
#: Share of (unit, period) cells with several rows above which the data are read as repeated cross-sections.
CROSS_SECTION_SHARE = 0.5
STAGGERED_HINT = ("Compare with staggered_did (Callaway-Sant'Anna), which only uses never-treated and "
                  "not-yet-treated units as comparisons.")


# --------------------------------------------------------------------------
# Absorbing unit and time fixed effects exactly
# --------------------------------------------------------------------------

def _weighted_group_mean(idx: np.ndarray, v: np.ndarray, w: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    return np.bincount(idx, weights=w * v, minlength=wsum.size) / wsum


@dataclass(frozen=True)
class TwoWayFixedEffects:
    """Residual maker M for unit + time fixed effects (weighted least squares metric).

    FWL in two steps: M_big sweeps out the factor with more levels by group
    means; the other factor's dummies Z (first level dropped) are then
    partialled out through their (S-1)x(S-1) normal equations
        Z'W M_big Z = diag(w_s) - C' diag(1/w_b) C,   C[b, s] = sum of weights in cell (b, s),
    so M v = M_big v - M_big Z g with g solving that system.
    """

    big: np.ndarray
    small: np.ndarray
    weights: np.ndarray
    big_wsum: np.ndarray
    small_levels: int
    zz_pinv: np.ndarray | None

    @classmethod
    def build(cls, unit: np.ndarray, time: np.ndarray, weights: np.ndarray | None = None) -> "TwoWayFixedEffects":
        # weights rescaled to mean 1: the fit is scale-free and the normal equations stay well scaled
        w = np.ones(unit.size) if weights is None else np.asarray(weights, dtype=float)
        w = w / w.mean()
        n_unit, n_time = int(unit.max()) + 1, int(time.max()) + 1
        big, small, nb, ns = (unit, time, n_unit, n_time) if n_unit >= n_time else (time, unit, n_time, n_unit)
        big_wsum = np.bincount(big, weights=w, minlength=nb)
        if ns > MAX_DUMMY_LEVELS:
            return cls(big, small, w, big_wsum, ns, None)
        cells = sparse.csr_matrix((w, (big, small)), shape=(nb, ns))
        cross = (cells.T @ sparse.diags(1.0 / big_wsum) @ cells).toarray()
        zz = np.diag(np.bincount(small, weights=w, minlength=ns)) - cross
        return cls(big, small, w, big_wsum, ns, _pinv_symmetric(zz[1:, 1:]))

    def residualise(self, v: np.ndarray) -> np.ndarray:
        """M v for a vector or each column of a matrix."""
        v = np.asarray(v, dtype=float)
        if v.ndim == 2:
            return np.column_stack([self.residualise(v[:, j]) for j in range(v.shape[1])]) if v.shape[1] \
                else v.copy()
        if self.zz_pinv is None:
            return self._alternating_projections(v)
        v1 = v - _weighted_group_mean(self.big, v, self.weights, self.big_wsum)[self.big]
        rhs = np.bincount(self.small, weights=self.weights * v1, minlength=self.small_levels)[1:]
        g = np.concatenate([[0.0], self.zz_pinv @ rhs])[self.small]
        return v1 - (g - _weighted_group_mean(self.big, g, self.weights, self.big_wsum)[self.big])

    def _alternating_projections(self, v: np.ndarray, max_iter: int = 100_000) -> np.ndarray:
        """Method of alternating projections (Gaure 2013, CSDA 66:8) when both factors are large."""
        small_wsum = np.bincount(self.small, weights=self.weights, minlength=self.small_levels)
        scale = max(float(np.max(np.abs(v))), 1.0)
        out = v.copy()
        for _ in range(max_iter):
            before = out.copy()
            out -= _weighted_group_mean(self.big, out, self.weights, self.big_wsum)[self.big]
            out -= _weighted_group_mean(self.small, out, self.weights, small_wsum)[self.small]
            if np.max(np.abs(out - before)) < MAP_TOLERANCE * scale:
                break
        return out


def _pinv_symmetric(a: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a symmetric PSD matrix (a disconnected design leaves it singular)."""
    if a.size == 0:
        return a
    vals, vecs = np.linalg.eigh(a)
    keep = vals > vals.max(initial=0.0) * 1e-12
    return (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


# --------------------------------------------------------------------------
# Least squares on the residualised data with CR1 / HC1 covariance
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class FixedEffectsFit:
    coef: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    n_clusters: int
    df_k: int
    small_sample_factor: float
    df: float

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))


def _nested(fe: np.ndarray, cluster: np.ndarray) -> bool:
    """Every level of ``fe`` lies inside a single cluster."""
    # integer codes: a level spanning two clusters has a row at least 1/2 away from its level's mean
    mean = np.bincount(fe, weights=cluster) / np.bincount(fe)
    return bool(np.max(np.abs(cluster - mean[fe])) < 0.25)


def _fe_parameter_count(unit: np.ndarray, time: np.ndarray, cluster: np.ndarray | None) -> int:
    """Fixed-effect parameters counted in K, as pyfixest's ssc(k_fixef="nonnested").

    All levels of both factors less one for the second factor; a factor nested in
    the clusters is dropped from K and counted once (its intercept).
    """
    levels = [int(unit.max()) + 1, int(time.max()) + 1]
    count = sum(levels) - 1
    if cluster is not None:
        for fe, n_levels in ((unit, levels[0]), (time, levels[1])):
            if _nested(fe, cluster):
                count += 1 - n_levels
    return count


def fit_residualised(yt: np.ndarray, Wt: np.ndarray, fe: TwoWayFixedEffects, unit: np.ndarray, time: np.ndarray,
                     cluster: np.ndarray | None, extra_fe: int = 0) -> FixedEffectsFit:
    """OLS on data already residualised by ``fe``; CR1 by ``cluster``, HC1 when it is None.

    ``extra_fe``: fixed-effect parameters absorbed beyond the unit and period effects (added to K).
    """
    w = fe.weights
    bread = np.linalg.inv((Wt * w[:, None]).T @ Wt)
    coef = bread @ ((Wt * w[:, None]).T @ yt)
    resid = yt - Wt @ coef
    n, k = Wt.shape
    # weighted scores x_i w_i e_i: the weight goes with the residual, the bread already holds W'wW
    if cluster is None:
        df_k = k + _fe_parameter_count(unit, time, None) + extra_fe
        cov = covariance.hc(Wt, w * resid, bread, "HC1", n_params=df_k)
        factor, g, df = covariance.hc_factor("HC1", n, df_k), n, float(n - df_k)
    else:
        codes, g = covariance.cluster_codes(cluster)
        df_k = k + _fe_parameter_count(unit, time, cluster) + extra_fe
        cov = covariance.cluster_robust(Wt, w * resid, bread, codes, n_params=df_k)
        factor, df = covariance.cr1_factor(g, n, df_k), float(g - 1)
    return FixedEffectsFit(coef=coef, cov=cov, resid=resid, n_clusters=g,
                           df_k=df_k, small_sample_factor=factor, df=df)


def fit_fixed_effects(y: np.ndarray, W: np.ndarray, unit: np.ndarray, time: np.ndarray, *,
                      cluster: np.ndarray | None, weights: np.ndarray | None = None) -> FixedEffectsFit:
    """OLS of y on W with unit and time effects absorbed; CR1 by ``cluster`` or HC1 when it is None."""
    fe = TwoWayFixedEffects.build(unit, time, weights)
    return fit_residualised(fe.residualise(y), fe.residualise(W), fe, unit, time, cluster)


# --------------------------------------------------------------------------
# Data: long panel or repeated cross-sections -> integer-coded arrays
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class DidData:
    """Complete-case long data coded for the fixed-effects fit."""

    y: np.ndarray
    d: np.ndarray
    X: np.ndarray
    x_names: tuple[str, ...]
    unit: np.ndarray            # codes 0..U-1
    time: np.ndarray            # period positions 0..T-1
    periods: np.ndarray         # period values
    unit_labels: np.ndarray
    first: np.ndarray           # per unit: position of the first treated period, -1 never treated
    cluster: np.ndarray | None  # codes, None means heteroskedasticity-robust (repeated cross-sections)
    cluster_name: str
    weights: np.ndarray | None
    cross_section: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)
    absorbed: tuple[str, ...] = ()         # many-level text covariates entering as further fixed effects
    absorbed_codes: np.ndarray | None = None   # rows x len(absorbed) level codes

    @property
    def n_units(self) -> int:
        return int(self.first.size)

    @property
    def balanced(self) -> bool:
        counts = np.bincount(self.unit * self.periods.size + self.time, minlength=self.n_units * self.periods.size)
        return bool(np.all(counts == 1))

    @property
    def cohorts(self) -> np.ndarray:
        return np.unique(self.first[self.first >= 0])

    @property
    def staggered(self) -> bool:
        return self.cohorts.size > 1


def _precheck(data: Dataset, roles: Roles) -> None:
    """The contract's codes for a constant treatment and an all-missing outcome, before panel checks."""
    check_outcome_and_treatment(data, roles, ("outcome", "treatment"))
    roles.require("unit", "time")


def _is_repeated_cross_section(data: Dataset, roles: Roles) -> bool:
    """Most (unit, period) cells hold several rows: individuals sampled each period within groups."""
    keys = data.frame[[roles.unit, roles.time]].dropna()
    if keys.empty:
        return False
    sizes = keys.groupby([roles.unit, roles.time], sort=False).size()
    return bool((sizes > 1).mean() >= CROSS_SECTION_SHARE)


def _panel_roles(roles: Roles) -> Roles:
    """Carry the cluster and weight columns through prepare_panel (it keeps covariates only)."""
    extra = tuple(c for c in (roles.cluster, roles.weight) if c and c not in roles.covariates)
    return roles.replace(covariates=roles.covariates + extra)


def _cross_section_frame(data: Dataset, roles: Roles) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Row-level frame for repeated cross-sections; the treatment must be constant within group-period."""
    src = data.frame
    d = pd.to_numeric(src[roles.treatment], errors="coerce")
    if not d.dropna().isin([0, 1]).all():
        raise RoleError(f"The treatment '{roles.treatment}' must be 0/1.",
                        "Code treated group-periods as 1 and the others as 0.", code="E-ROLE-014")
    time = src[roles.time]
    time = time.astype(float) if pd.api.types.is_numeric_dtype(time) else pd.to_datetime(time, errors="coerce")
    frame = pd.DataFrame({"y": numeric_outcome(src, roles.outcome), "d": d, "unit": src[roles.unit],
                          "time": time})
    for c in dict.fromkeys(roles.covariates + tuple(c for c in (roles.cluster, roles.weight) if c)):
        frame[c] = src[c]
    if roles.cohort:
        frame["cohort"] = pd.to_numeric(src[roles.cohort], errors="coerce")
    complete = frame.notna().all(axis=1)
    frame = frame.loc[complete].reset_index(drop=True)
    warnings = [f"{int((~complete).sum())} rows with missing values were left out."] if (~complete).any() else []
    if frame.groupby(["unit", "time"])["d"].nunique().max() > 1:
        raise RoleError("Within some group and period the treatment is 1 for some rows and 0 for others.",
                        "With repeated cross-sections --unit must name the group whose members are all treated "
                        "together (e.g. state), not an individual.", code="E-ROLE-017")
    if frame["time"].nunique() < 2:
        raise RoleError("The data have a single period: a difference-in-differences needs before and after.",
                        "Choose the right time column.", code="E-ROLE-016")
    warnings.append("Several rows per group and period: read as repeated cross-sections, so the fixed effects "
                    "are group effects (--unit names the group).")
    return frame, np.sort(frame["time"].unique()), warnings


def _first_treated(frame: pd.DataFrame, unit: np.ndarray, time: np.ndarray, periods: np.ndarray,
                   n_units: int) -> np.ndarray:
    """Position of each unit's first treated period (-1 never): from --cohort (0 = never) or the treatment."""
    first = np.full(n_units, -1, dtype=int)
    if "cohort" in frame:
        cohort = frame.groupby(unit)["cohort"].first().reindex(range(n_units)).to_numpy()
        treated = cohort != 0
        pos = np.searchsorted(periods, cohort[treated])
        first[treated] = np.where(pos < periods.size, pos, -1)  # adopting after the sample: untreated here
        return first
    on = frame["d"].to_numpy() == 1
    earliest = np.full(n_units, periods.size)
    np.minimum.at(earliest, unit[on], time[on])
    return np.where(earliest < periods.size, earliest, -1)


def tidy_did_data(data: Dataset, roles: Roles, *, absorb: bool = False) -> DidData:
    """Validate the roles and code units, periods, first treated periods and clusters.

    With ``absorb`` a text covariate with more than 50 values is kept out of X and coded in
    ``absorbed_codes``, for the caller to absorb as fixed effects; without it, it is refused (E-ROLE-011).
    """
    _precheck(data, roles)
    cross_section = _is_repeated_cross_section(data, roles)
    if cross_section:
        frame, periods, warnings = _cross_section_frame(data, roles)
    else:
        panel = prepare_panel(data, _panel_roles(roles))
        frame, periods, warnings = panel.frame, panel.periods, list(panel.warnings)
    unit, unit_labels = pd.factorize(frame["unit"])
    time = np.searchsorted(periods, frame["time"].to_numpy())
    dropped: list[str] = []
    absorbed = many_level_covariates(frame, roles.covariates) if absorb else ()
    X, x_names = design_matrix(frame, tuple(c for c in roles.covariates if c not in absorbed), dropped)
    if dropped:
        warnings.append(f"Covariate term(s) {', '.join(dropped)} were left out: constant, or an exact combination "
                        "of other covariates.")
    cluster_col = roles.cluster or "unit"
    cluster = None if cross_section and not roles.cluster else pd.factorize(frame[cluster_col])[0]
    weights = frame[roles.weight].to_numpy(dtype=float) if roles.weight else None
    if weights is not None and ((weights < 0).any() or weights.sum() <= 0):
        raise EstimationError(f"The weight '{roles.weight}' has negative values or sums to zero.",
                              "Use non-negative weights with some positive ones.", code="E-EST-028")
    return DidData(y=frame["y"].to_numpy(dtype=float), d=frame["d"].to_numpy(dtype=float), X=X, x_names=x_names,
                   unit=unit, time=time, periods=periods, unit_labels=np.asarray(unit_labels),
                   first=_first_treated(frame, unit, time, periods, unit_labels.size),
                   cluster=cluster, cluster_name=roles.cluster or roles.unit, weights=weights,
                   cross_section=cross_section, warnings=tuple(warnings), absorbed=absorbed,
                   absorbed_codes=level_codes(frame, absorbed) if absorbed else None)


# --------------------------------------------------------------------------
# Design checks: what the comparison needs, with typed errors
# --------------------------------------------------------------------------

def _subset(dd: DidData, rows: np.ndarray, note: str) -> DidData:
    """Keep ``rows``; recode units, periods and clusters; append ``note`` to the warnings."""
    kept_units, unit = np.unique(dd.unit[rows], return_inverse=True)
    kept_times, time = np.unique(dd.time[rows], return_inverse=True)
    old_first = dd.first[kept_units]
    first = np.where(old_first >= 0, np.searchsorted(kept_times, old_first), -1)
    first = np.where(first < kept_times.size, first, -1)
    cluster = None if dd.cluster is None else np.unique(dd.cluster[rows], return_inverse=True)[1]
    codes = None if dd.absorbed_codes is None else np.column_stack(
        [np.unique(c, return_inverse=True)[1] for c in dd.absorbed_codes[rows].T])
    return replace(dd, y=dd.y[rows], d=dd.d[rows], X=dd.X[rows], unit=unit, time=time,
                   periods=dd.periods[kept_times], unit_labels=dd.unit_labels[kept_units], first=first,
                   cluster=cluster, weights=None if dd.weights is None else dd.weights[rows],
                   warnings=dd.warnings + (note,), absorbed_codes=codes)


def _always_treated(dd: DidData) -> np.ndarray:
    """Units treated in every period they are observed (no pre-period to compare with)."""
    return np.bincount(dd.unit, weights=1.0 - dd.d, minlength=dd.n_units) == 0


def _switches_off(dd: DidData) -> np.ndarray:
    """Units whose treatment goes from 1 back to 0 (non-absorbing treatment)."""
    order = np.lexsort((dd.time, dd.unit))
    u, d = dd.unit[order], dd.d[order]
    drops = (u[1:] == u[:-1]) & (d[1:] < d[:-1])
    out = np.zeros(dd.n_units, dtype=bool)
    out[u[1:][drops]] = True
    return out


def _drop_singletons(dd: DidData) -> DidData:
    """Drop units (or periods) with a single row, repeatedly, as fixest and pyfixest do by default.

    A singleton's row is fitted exactly by its own fixed effect: it adds nothing to
    the slope but would inflate N in the small-sample factor (Correia 2015).
    """
    rows = np.ones(dd.y.size, dtype=bool)
    while True:
        u_count = np.bincount(dd.unit[rows], minlength=dd.n_units)
        t_count = np.bincount(dd.time[rows], minlength=dd.periods.size)
        single = rows & ((u_count[dd.unit] == 1) | (t_count[dd.time] == 1))
        if not single.any():
            break
        rows &= ~single
    if rows.all():
        return dd
    return _subset(dd, rows, f"{int((~rows).sum())} row(s) of units or periods observed only once were left "
                             "out: their own fixed effect fits them exactly (as fixest/pyfixest do).")


def validate_design(dd: DidData, *, method: str) -> DidData:
    """Typed errors for designs with no comparison; drops always-treated units and singletons."""
    if dd.weights is not None and (dd.weights == 0).any():
        dd = _subset(dd, dd.weights > 0, f"{int((dd.weights == 0).sum())} row(s) with weight 0 were left out.")
    if not (dd.d == 1).any():
        raise EstimationError("No unit-period is treated: there is no effect to estimate.",
                              "Check the treatment column: it should be 1 in treated unit-periods.",
                              code="E-EST-021")
    always = _always_treated(dd)
    if always.any():
        treated_units = np.bincount(dd.unit, weights=dd.d, minlength=dd.n_units) > 0
        if always[treated_units].all():
            raise EstimationError("Every treated unit is treated in every period observed, so there is no "
                                  "before-and-after comparison for any of them.",
                                  "Include periods before treatment started, or use a cross-sectional method.",
                                  code="E-EST-022")
        dd = _subset(dd, ~always[dd.unit], f"{int(always.sum())} unit(s) treated in every period they are observed "
                                           "were left out: they have no pre-treatment period.")
    if method == "event_study" and _switches_off(dd).any():
        raise EstimationError(f"The treatment turns off again for {int(_switches_off(dd).sum())} unit(s); the event "
                              "study assumes that once treated, a unit stays treated.",
                              "Units whose treatment turns off are not supported here: use did (which allows it), "
                              "or code treatment as 'ever started' if that is the question.", code="E-EST-025")
    dd = _drop_singletons(dd) if not dd.cross_section else dd
    if not (dd.first < 0).any() and not dd.staggered:
        raise EstimationError("All treated units start treatment in the same period and no unit is untreated, so "
                              "nothing shows what would have happened without treatment.",
                              "Add never-treated units (or units treated later) as a comparison group.",
                              code="E-EST-023")
    if method == "event_study" and not (dd.first < 0).any():
        raise EstimationError("The event study uses never-treated units as its reference, and every unit is "
                              "treated at some point.",
                              "Use staggered_did, which can compare with not-yet-treated units, or add "
                              "never-treated units.", code="E-EST-024")
    return dd


# --------------------------------------------------------------------------
# Regressors after absorbing the fixed effects
# --------------------------------------------------------------------------

def _absorbed_regressors(fe: TwoWayFixedEffects, main: np.ndarray, main_names: list[str], X: np.ndarray,
                         x_names: tuple[str, ...]) -> tuple[np.ndarray, list[str], list[str]]:
    """Residualised [main | covariates]; covariates absorbed by the fixed effects or collinear are left out."""
    main_t = fe.residualise(main)
    scale = np.sqrt(np.sum(main ** 2, axis=0)) + 1e-300
    if np.any(np.sqrt(np.sum(main_t ** 2, axis=0)) <= 1e-9 * scale):
        raise EstimationError("After removing unit and period effects the treatment timing has no variation left, "
                              "so its effect cannot be separated from them.",
                              "Check that treated and comparison units are observed both before and after "
                              "treatment starts.", code="E-EST-026")
    if not x_names:
        return main_t, list(main_names), []
    Xt = fe.residualise(X)
    centred = np.sqrt(np.sum((X - X.mean(axis=0)) ** 2, axis=0)) + 1e-300
    varying = np.sqrt(np.sum(Xt ** 2, axis=0)) > 1e-9 * centred
    notes = []
    if not varying.all():
        gone = [n for n, v in zip(x_names, varying) if not v]
        notes.append(f"Covariate(s) {', '.join(gone)} do not change within units over time (or are common to all "
                     "units in a period), so the fixed effects already account for them; they were left out.")
    W = np.column_stack([main_t, Xt[:, varying]])
    names = list(main_names) + [n for n, v in zip(x_names, varying) if v]
    keep = independent_columns(W)
    if len(keep) < W.shape[1]:
        if any(j not in keep for j in range(main_t.shape[1])):
            raise EstimationError("The treatment terms are an exact combination of the covariates after removing "
                                  "unit and period effects.", "Remove covariates that encode treatment.",
                                  code="E-EST-026")
        notes.append(f"Covariate(s) {', '.join(n for j, n in enumerate(names) if j not in keep)} were left out: "
                     "exact combinations of the other terms within units over time.")
        W, names = W[:, keep], [names[j] for j in keep]
    return W, names, notes


def _design_description(dd: DidData) -> dict[str, Any]:
    treated_units = dd.first >= 0
    cohorts = {period_label(dd.periods[c]): int(np.sum(dd.first == c)) for c in dd.cohorts}
    return {"n_units": dd.n_units, "n_periods": int(dd.periods.size), "n_treated_units": int(treated_units.sum()),
            "n_never_treated_units": int((~treated_units).sum()), "n_treated_obs": int(dd.d.sum()),
            "cohorts": cohorts, "staggered": dd.staggered, "balanced": dd.balanced,
            "repeated_cross_section": dd.cross_section, "covariates_used": list(dd.x_names),
            "outcome_sd": float(np.std(dd.y, ddof=1)) if dd.y.size > 1 else math.nan}


def _inference_diagnostics(fit: FixedEffectsFit, dd: DidData) -> dict[str, Any]:
    clustered = dd.cluster is not None
    return {"se_type": "CR1" if clustered else "HC1", "cluster": dd.cluster_name if clustered else None,
            "n_clusters": fit.n_clusters if clustered else None, "ssc_k": fit.df_k,
            "small_sample_factor": fit.small_sample_factor, "t_df": fit.df}


def _se_method(dd: DidData) -> str:
    if dd.cluster is None:
        return ("heteroskedasticity-robust (HC1) sandwich on the individual rows (repeated cross-sections; pass "
                "--cluster to cluster)")
    return (f"cluster-robust by {dd.cluster_name} (CR1, small-sample factor G/(G-1)(N-1)/(N-K) as "
            "fixest/pyfixest)")


def _outcome_warnings(dd: DidData) -> list[str]:
    if np.ptp(dd.y) == 0:
        return ["The outcome takes a single value in every row, so the estimate is 0 by construction and says "
                "nothing about the treatment."]
    return []
