"""Regression discontinuity (``rd``): local polynomial estimate, robust bias-corrected inference.

Sharp design (no treatment role): the effect is the jump in the mean outcome
where the running variable crosses the cutoff, mu(c+) - mu(c-). Fuzzy design
(a treatment role, e.g. take-up): the local Wald ratio
[mu_Y(c+) - mu_Y(c-)] / [mu_T(c+) - mu_T(c-)], the average effect for
compliers at the cutoff (Hahn, Todd & van der Klaauw 2001, Econometrica 69:201).
A treatment column that follows the cutoff exactly is a sharp design written
as a ratio with denominator +-1, and is reported as sharp.

What this module computes, following rdrobust (Calonico, Cattaneo & Titiunik
2014, Econometrica 82:2295, "CCT"; Calonico, Cattaneo & Farrell 2020,
Econometrics J 23:192, "CCF"; software: Calonico, Cattaneo, Farrell & Titiunik
2017, Stata J 17:372), and replicating rdrobust 2.1.1's numbers (tests/test_rd.py):

* Point estimate: weighted least squares of order p (default 1) on each side
  with kernel weights K((x - c)/h)/h; the intercepts are the side limits.
* Bandwidth: the "mserd" selector, one MSE-optimal h common to both sides
  (CCT Sec. 4 and its supplement; CCF 2020; rdbwselect): a rule-of-thumb pilot
  c_bw = C_K * min(1, IQR/(1.349 sd)) * M^(-1/5) (on standardised data, M the
  number of distinct running values), a pilot d for the (q+1)-th derivative,
  then the bias bandwidth b (order q = p + 1) and h, each as
  (V / (B^2 + R))^(1/(2 o + 3)), where R = 3 BConst^2 Var(beta_(o+1)) is the
  regularisation that keeps a small estimated bias from sending the bandwidth
  to infinity (CCT Sec. 4, after Imbens & Kalyanaraman 2012, ReStud 79:933;
  rdbwselect's "scaleregul" = 1).
* Bias correction (CCT Sec. 3): the order-(p+1) derivative is estimated with
  bandwidth b, the implied leading bias is subtracted, and the robust variance
  includes the variability of that estimate (rdrobust's "Q_q" design:
  Q = R_p'W_h - h^(p+1) L e_(p+1)' G_q^-1 R_q'W_b).
* Variance: nearest-neighbour residuals with 3 matches (Abadie & Imbens 2006,
  Econometrica 74:235, as CCT use them), heteroskedasticity-robust; with a
  cluster role the cluster-robust CR1 form (rdrobust's default when clustered).
* Fuzzy: delta method on the ratio (CCT's fuzzy RD results), with its own
  bandwidth (the pilot fits weight the outcome and take-up residuals by the
  ratio's gradient).

The reported ``estimate`` is the conventional point estimate; ``std_error`` is
the robust SE; ``ci_lower``/``ci_upper`` and ``p_value`` are the robust
bias-corrected ones, centred on the bias-corrected estimate (CCT Sec. 3), so
the interval need not be symmetric around the headline. Both versions are in
the diagnostics.

Coarse running variables and mass points (rdrobust's default masspoints =
"adjust"): the rule-of-thumb pilot uses the number of distinct running values;
when at least 20% of the observations on a side repeat a value, the pilot
bandwidths c_bw and d are widened to span 10 distinct values on each side
(bwcheck = 10; h and b themselves are not floored), and the nearest-neighbour
variance takes every observation tied at the same value as a neighbour. As in
rdrobust, the variance is not clustered by mass point (Kolesar & Rothe 2018,
AER 108:2277, show that clustering by running value can undercover). The fit is
refused only when it is not identified: fewer than p + 1 distinct values within
h, or p + 2 within b, on a side (E-EST-051). A window that holds few cells (age
in months, one row per cell) is estimated; ``effective_points_left/right`` count
the distinct values within h and the ``effective_points`` gate warns below 10.

Deliberate differences from rdrobust: one bandwidth on both sides only
("mserd"), derivative order 0 only, no covariate adjustment (covariates feed
the balance table), and fewer than 10 observations on a side of the cutoff in
the whole sample is an error here (rdrobust would go on, and below 20
observations in all it would skip the bandwidth selector and use the whole
range).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import cho_factor, cho_solve

from ..data import Dataset
from ..datasets import examples
from ..diagnostics.density import density_test
from ..errors import CQOxError, EstimationError, RoleError
from ..inference.covariance import cr1_factor
from ..params import above, between
from ..prep import binarize_treatment, design_matrix, numeric_outcome
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import finish

Kernel = Literal["triangular", "epanechnikov", "uniform"]
Bins = Literal["es", "qs"]

NN_MATCHES = 3
#: Fewest observations on each side of the cutoff in the whole sample before we refuse to estimate
#: (within the bandwidth only identification is required, as in rdrobust).
MIN_PER_SIDE = 10
#: Share of repeated running values on a side from which rdrobust treats the score as having mass points.
MASS_POINT_SHARE = 0.2
#: Distinct running values the pilot bandwidths must span on each side with mass points (rdrobust's bwcheck).
MASS_POINT_PILOT_VALUES = 10
#: First-stage t below this (p >= 0.05): the treatment does not detectably jump; no ratio is reported.
MIN_FIRST_STAGE_T = 1.96
#: rdbwselect's rule-of-thumb kernel constants for the pilot bandwidth.
PILOT_CONSTANT = {"triangular": 2.576, "epanechnikov": 2.34, "uniform": 1.843}
_PAD = 1 + math.sqrt(np.finfo(float).eps)
MAX_PLOT_BINS = 200


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------

def kernel_weights(x: np.ndarray, c: float, h: float, kernel: Kernel) -> np.ndarray:
    """K((x - c)/h)/h with support |u| <= 1 (rdrobust's rdrobust_kweight)."""
    u = (x - c) / h
    inside = np.abs(u) <= 1
    if kernel == "epanechnikov":
        return 0.75 * (1 - u ** 2) * inside / h
    if kernel == "uniform":
        return 0.5 * inside / h
    return (1 - np.abs(u)) * inside / h


def vander(u: np.ndarray, order: int) -> np.ndarray:
    """Columns 1, u, ..., u^order."""
    return np.power.outer(np.asarray(u, dtype=float), np.arange(order + 1))


def sym_inverse(G: np.ndarray) -> np.ndarray:
    """Inverse of a positive-definite Gram matrix (Cholesky, pseudo-inverse if it fails)."""
    try:
        return cho_solve(cho_factor(G, lower=True), np.eye(G.shape[0]))
    except np.linalg.LinAlgError:
        return np.linalg.pinv(G)


def quantile_type2(x: np.ndarray, prob: float) -> float:
    """Hyndman-Fan type 2 quantile (R's quantile(type = 2)), as rdbwselect uses for the IQR."""
    xs = np.sort(x)
    h = xs.size * prob
    j = int(math.floor(h))
    return float(0.5 * (xs[j - 1] + xs[j])) if h == j else float(xs[j])


def nn_residuals(x: np.ndarray, D: np.ndarray, matches: int = NN_MATCHES) -> np.ndarray:
    """Nearest-neighbour residuals sqrt(J/(J+1)) (D_i - mean of its J neighbours).

    ``x`` is sorted. Neighbours are at least ``matches`` other observations
    closest in x; ties at the same x are all taken, and equidistant values on
    both sides are both taken (rdrobust's rdrobust_res, vce = "nn").
    Every member of a group of equal x shares the same neighbour set, so the
    search runs over distinct values, all groups at once.
    """
    ux, group, counts = np.unique(x, return_inverse=True, return_counts=True)
    m, n = ux.size, x.size
    cap = min(matches, n - 1)
    lo, hi, total = np.arange(m), np.arange(m), counts.copy()
    active = np.flatnonzero(total - 1 < cap)
    while active.size:
        left_ok, right_ok = lo[active] > 0, hi[active] < m - 1
        d_left = np.where(left_ok, ux[active] - ux[np.maximum(lo[active] - 1, 0)], np.inf)
        d_right = np.where(right_ok, ux[np.minimum(hi[active] + 1, m - 1)] - ux[active], np.inf)
        tol = np.maximum(np.where(left_ok, d_left, 0), np.where(right_ok, d_right, 0)) * np.sqrt(np.finfo(float).eps)
        go_right = ~left_ok | (right_ok & (d_left - d_right >= -tol))
        go_left = ~right_ok | (left_ok & (d_right - d_left >= -tol))
        go_left &= left_ok
        go_right &= right_ok
        lo[active] -= go_left
        hi[active] += go_right
        total[active] += np.where(go_left, counts[lo[active]], 0) + np.where(go_right, counts[hi[active]], 0)
        active = active[total[active] - 1 < cap]
    sums = np.zeros((m, D.shape[1]))
    np.add.at(sums, group, D)
    csum = np.vstack([np.zeros((1, D.shape[1])), np.cumsum(sums, axis=0)])
    J = (total - 1)[group].astype(float)
    neighbour_mean = (csum[hi + 1][group] - csum[lo][group] - D) / J[:, None]
    return np.sqrt(J / (J + 1))[:, None] * (D - neighbour_mean)


def functional_variance(a: np.ndarray, r: np.ndarray, cluster: np.ndarray | None, k: int) -> float:
    """Variance of sum_i a_i r_i: sum (a_i r_i)^2, or CR1 over clusters with factor
    (n-1)/(n-k) * G/(G-1) (rdrobust's rdrobust_vce)."""
    score = a * r
    if cluster is None:
        return float(np.sum(score ** 2))
    codes = np.unique(cluster, return_inverse=True)[1]
    sums = np.bincount(codes, weights=score)
    g, n = sums.size, a.size
    if g < 2 or n <= k:
        return math.nan
    return float(cr1_factor(g, n, k) * np.sum(sums ** 2))


def ratio_gradient(tau: np.ndarray) -> np.ndarray:
    """Weights s with s' (residuals) the linearised residual of the estimand:
    [1] for a jump, [1/tau_T, -tau_Y/tau_T^2] for the ratio tau_Y/tau_T (delta method)."""
    if tau.size == 1:
        return np.ones(1)
    return np.array([1 / tau[1], -tau[0] / tau[1] ** 2])


# ---------------------------------------------------------------------------
# one side of the cutoff
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """Observations on one side, sorted by the running variable."""

    x: np.ndarray                  # running variable
    D: np.ndarray                  # (n, k): outcome [, treatment]
    cluster: np.ndarray | None = None
    weight: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.x.size)

    def take(self, mask: np.ndarray) -> "Side":
        pick = (lambda a: None if a is None else a[mask])  # noqa: E731
        return Side(self.x[mask], self.D[mask], pick(self.cluster), pick(self.weight))

    def kernel(self, c: float, h: float, kernel: Kernel) -> np.ndarray:
        w = kernel_weights(self.x, c, h, kernel)
        return w if self.weight is None else w * self.weight


@dataclass(frozen=True)
class LocalFit:
    """Weighted polynomial fit of order ``order`` on the observations with positive weight."""

    side: Side
    w: np.ndarray
    R: np.ndarray
    inv_gram: np.ndarray
    beta: np.ndarray               # (order+1, k)

    def linear_weights(self, j: int) -> np.ndarray:
        """a with beta[j] = a' D."""
        return (self.R * self.w[:, None]) @ self.inv_gram[:, j]

    def residuals(self, clustered: bool) -> np.ndarray:
        return self.side.D - self.R @ self.beta if clustered else nn_residuals(self.side.x, self.side.D)


def local_fit(side: Side, c: float, h: float, order: int, kernel: Kernel) -> LocalFit | None:
    """None when the window holds fewer distinct x than coefficients (the fit is not identified)."""
    w = side.kernel(c, h, kernel)
    inside = w > 0
    sub = side.take(inside)
    if np.unique(sub.x).size < order + 1:
        return None
    R = vander(sub.x - c, order)
    RW = R * w[inside][:, None]
    inv_gram = sym_inverse(R.T @ RW)
    return LocalFit(sub, w[inside], R, inv_gram, inv_gram @ (RW.T @ sub.D))


# ---------------------------------------------------------------------------
# bandwidth selection ("mserd")
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PilotConstants:
    """Variance, bias and regularisation constants of one side (rdrobust_bw)."""

    V: float
    B: float
    R: float


def pilot_constants(side: Side, c: float, o: int, nu: int, o_b: int, h_v: float, h_b: float, scale: float,
                    kernel: Kernel, clustered: bool) -> PilotConstants | None:
    """rdbwselect's building block (CCT Sec. 4 and supplement): the variance of the
    nu-th derivative of an order-o fit with bandwidth h_v, its leading bias from an
    order-o_b fit with bandwidth h_b, and the regularisation 3 BConst^2 Var(beta_(o+1))."""
    fit_v = local_fit(side, c, h_v, o, kernel)
    if fit_v is None or not (math.isfinite(h_b) and h_b > 0):
        return None
    s = ratio_gradient(math.factorial(nu) * fit_v.beta[nu])
    var_v = functional_variance(fit_v.linear_weights(nu), fit_v.residuals(clustered) @ s,
                                fit_v.side.cluster, o + 1)
    u = (fit_v.side.x - c) / h_v
    bconst = h_v ** nu * float((fit_v.inv_gram @ ((fit_v.R * fit_v.w[:, None]).T @ u ** (o + 1)))[nu])
    fit_b = local_fit(side, c, h_b, o_b, kernel)
    if fit_b is None:
        return None
    regul = 0.0
    if scale > 0:
        var_b = functional_variance(fit_b.linear_weights(o_b), fit_b.residuals(clustered) @ s,
                                    fit_b.side.cluster, o_b + 1)
        regul = 3 * bconst ** 2 * var_b
    bias = math.sqrt(2 * (o + 1 - nu)) * bconst * float(s @ fit_b.beta[-1])
    return PilotConstants(V=(2 * nu + 1) * h_v ** (2 * nu + 1) * var_v, B=bias,
                          R=scale * 2 * (o + 1 - nu) * regul)


def _combine(left: PilotConstants | None, right: PilotConstants | None, rate: float, regularise: bool) -> float:
    """Common bandwidth for the difference of the two sides: ((V- + V+) / ((B+ - B-)^2 + R))^rate."""
    if left is None or right is None:
        return math.nan
    denom = (right.B - left.B) ** 2 + ((right.R + left.R) if regularise else 0.0)
    return ((left.V + right.V) / denom) ** rate if denom > 0 and left.V + right.V >= 0 else math.nan


def _standardise(left: Side, right: Side, c: float) -> tuple[Side, Side, float, float]:
    """x and the outcome divided by their SDs (rdrobust stdvars = TRUE); returns the sides, c and x_sd."""
    x_sd = float(np.std(np.concatenate([left.x, right.x]), ddof=1))
    y_sd = float(np.std(np.concatenate([left.D[:, 0], right.D[:, 0]]), ddof=1)) or 1.0
    scale_d = np.ones(left.D.shape[1])
    scale_d[0] = y_sd

    def rescale(side: Side) -> Side:
        return replace(side, x=side.x / x_sd, D=side.D / scale_d)

    return rescale(left), rescale(right), c / x_sd, x_sd


def has_mass_points(left_x: np.ndarray, right_x: np.ndarray) -> bool:
    """rdrobust's test: at least 20% of the observations on a side repeat a running value
    already seen (1 - distinct/n >= 0.2)."""
    return max(1 - np.unique(left_x).size / left_x.size,
               1 - np.unique(right_x).size / right_x.size) >= MASS_POINT_SHARE


def _bandwidth_floor(left: Side, right: Side, c: float, warnings: list[str]) -> float:
    """With mass points, the pilots must span 10 distinct values per side
    (rdrobust masspoints = "adjust", bwcheck = 10); the final h and b are not floored."""
    if not has_mass_points(left.x, right.x):
        return 0.0
    ul, ur = np.unique(left.x), np.unique(right.x)
    warnings.append("The running variable has many repeated values (mass points); the pilot bandwidths were "
                    f"widened to cover at least {MASS_POINT_PILOT_VALUES} distinct values on each side, as "
                    "rdrobust does.")
    near_l = np.sort(np.abs(ul - c))[min(MASS_POINT_PILOT_VALUES, ul.size) - 1]
    near_r = np.sort(np.abs(ur - c))[min(MASS_POINT_PILOT_VALUES, ur.size) - 1]
    return float(max(near_l, near_r) * _PAD)


def mserd_bandwidths(left: Side, right: Side, c: float, p: int, kernel: Kernel, clustered: bool,
                     warnings: list[str]) -> tuple[float, float]:
    """MSE-optimal common bandwidths (h, b) for the RD effect (rdbwselect "mserd")."""
    q = p + 1
    x_all = np.concatenate([left.x, right.x])
    iqr = quantile_type2(x_all, 0.75) - quantile_type2(x_all, 0.25)
    floor = _bandwidth_floor(left, right, c, warnings)
    left, right, c, x_sd = _standardise(left, right, c)
    floor /= x_sd
    m = np.unique(left.x).size + np.unique(right.x).size
    bw_max = max(c - left.x[0], right.x[-1] - c)
    c_bw = PILOT_CONSTANT[kernel] * min(1.0, iqr / x_sd / 1.349) * m ** (-1 / 5)
    c_bw = max(min(c_bw, bw_max), floor)

    def both(o: int, nu: int, o_b: int, h_l: float, h_r: float, scale: float):
        return (pilot_constants(left, c, o, nu, o_b, c_bw, h_l, scale, kernel, clustered),
                pilot_constants(right, c, o, nu, o_b, c_bw, h_r, scale, kernel, clustered))

    d = _combine(*both(q + 1, q + 1, q + 2, (c - left.x[0]) * _PAD, (right.x[-1] - c) * _PAD, 0.0),
                 1 / (2 * q + 5), regularise=False)
    d = max(min(d, bw_max), floor)
    b = min(_combine(*both(q, p + 1, q + 1, d, d, 1.0), 1 / (2 * q + 3), regularise=True), bw_max)
    h = min(_combine(*both(p, 0, q, b, b, 1.0), 1 / (2 * p + 3), regularise=True), bw_max)
    if not (math.isfinite(h) and math.isfinite(b) and h > 0 and b > 0):
        raise EstimationError(
            "The data-driven bandwidth could not be computed (the outcome may be constant, or too few distinct "
            "values of the running variable lie near the cutoff).",
            "Set a bandwidth by hand with --param h=VALUE, or check the outcome and running variable.",
            code="E-EST-054")
    return h * x_sd, b * x_sd


# ---------------------------------------------------------------------------
# estimation at given bandwidths
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SideEstimate:
    """Linear weights and residuals of one side's conventional and bias-corrected limits."""

    a_conventional: np.ndarray
    a_bias_corrected: np.ndarray
    res_h: np.ndarray
    res_b: np.ndarray
    cluster: np.ndarray | None
    D: np.ndarray
    beta_p: np.ndarray             # (p+1, k) conventional polynomial coefficients
    n_h: int
    n_b: int
    points_h: int                  # distinct running values with positive weight within h

    def limit(self, conventional: bool = True) -> np.ndarray:
        a = self.a_conventional if conventional else self.a_bias_corrected
        return a @ self.D


def side_estimate(side: Side, c: float, h: float, b: float, p: int, kernel: Kernel,
                  clustered: bool) -> SideEstimate:
    """One side (CCT Sec. 3): conventional weights e_0'G_p^-1 R_p'W_h and bias-corrected
    weights e_0'G_p^-1 Q', Q = R_p'W_h - h^(p+1) L e_(p+1)' G_q^-1 R_q'W_b, with
    L = R_p'W_h ((x - c)/h)^(p+1) the leading-bias design."""
    q = p + 1
    w_h, w_b = side.kernel(c, h, kernel), side.kernel(c, b, kernel)
    inside = (w_h > 0) if h > b else (w_b > 0)
    sub = side.take(inside)
    w_h, w_b = w_h[inside], w_b[inside]
    R_q = vander(sub.x - c, q)
    R_p = R_q[:, :p + 1]
    RW_p = R_p * w_h[:, None]
    inv_p = sym_inverse(R_p.T @ RW_p)
    inv_q = sym_inverse(R_q.T @ (R_q * w_b[:, None]))
    L = RW_p.T @ ((sub.x - c) / h) ** (p + 1)
    m = (R_q @ inv_q[p + 1]) * w_b
    Q = RW_p - h ** (p + 1) * np.outer(m, L)
    beta_p = inv_p @ (RW_p.T @ sub.D)
    if clustered:
        beta_q = inv_q @ ((R_q * w_b[:, None]).T @ sub.D)
        res_h, res_b = sub.D - R_p @ beta_p, sub.D - R_q @ beta_q
    else:
        res_h = res_b = nn_residuals(sub.x, sub.D)
    return SideEstimate(RW_p @ inv_p[:, 0], Q @ inv_p[:, 0], res_h, res_b, sub.cluster, sub.D, beta_p,
                        int(np.sum(w_h > 0)), int(np.sum(w_b > 0)), int(np.unique(sub.x[w_h > 0]).size))


@dataclass(frozen=True)
class RDFit:
    """Everything one RD fit produces (numbers in the units of the data)."""

    h: float
    b: float
    estimate: float                # conventional
    estimate_bc: float             # bias-corrected
    se_conventional: float
    se_robust: float
    left: SideEstimate
    right: SideEstimate
    p: int
    first_stage: tuple[float, float, float] | None = None   # (jump, conventional se, robust se)
    reduced_form: float | None = None
    limits: tuple[float, float] = (math.nan, math.nan)
    extra: dict[str, Any] = field(default_factory=dict)

    def robust_ci(self, alpha: float) -> tuple[float, float, float]:
        z = float(stats.norm.ppf(1 - alpha / 2))
        lo, hi = self.estimate_bc - z * self.se_robust, self.estimate_bc + z * self.se_robust
        p = float(2 * stats.norm.sf(abs(self.estimate_bc / self.se_robust))) if self.se_robust > 0 else math.nan
        return lo, hi, p


def _variance(sides: tuple[SideEstimate, SideEstimate], s: np.ndarray, p: int) -> tuple[float, float]:
    """Conventional and robust variances (CCT Sec. 3): sums over sides, k = p+1 and q+1 for CR1."""
    conv = sum(functional_variance(e.a_conventional, e.res_h @ s, e.cluster, p + 1) for e in sides)
    robust = sum(functional_variance(e.a_bias_corrected, e.res_b @ s, e.cluster, p + 2) for e in sides)
    return conv, robust


def estimate_at(left: Side, right: Side, c: float, h: float, b: float, p: int, kernel: Kernel,
                clustered: bool) -> RDFit:
    """Sharp jump (one column in D) or local Wald ratio (outcome, take-up) at bandwidths h, b."""
    sides = tuple(side_estimate(s, c, h, b, p, kernel, clustered) for s in (left, right))
    jump_cl = sides[1].limit() - sides[0].limit()
    jump_bc = sides[1].limit(False) - sides[0].limit(False)
    s = ratio_gradient(jump_cl)
    var_cl, var_rb = _variance(sides, s, p)
    limits = (float(sides[0].limit()[0]), float(sides[1].limit()[0]))
    if jump_cl.size == 1:
        return RDFit(h, b, float(jump_cl[0]), float(jump_bc[0]), math.sqrt(var_cl), math.sqrt(var_rb),
                     sides[0], sides[1], p, limits=limits)
    tau = jump_cl[0] / jump_cl[1]
    tau_bc = tau - float(s @ (jump_cl - jump_bc))           # bias of the ratio, linearised (delta method)
    fs_cl, fs_rb = _variance(sides, np.array([0.0, 1.0]), p)
    return RDFit(h, b, float(tau), tau_bc, math.sqrt(var_cl), math.sqrt(var_rb), sides[0], sides[1], p,
                 first_stage=(float(jump_cl[1]), math.sqrt(fs_cl), math.sqrt(fs_rb)),
                 reduced_form=float(jump_cl[0]), limits=limits)


def check_window(left: Side, right: Side, c: float, h: float, b: float, p: int, kernel: Kernel) -> None:
    """E-EST-051 when the local fits are not identified: each side needs p + 1 distinct running
    values with positive weight within h and p + 2 within b (rdrobust's rule). A window with
    few distinct values is estimated and reported (diagnostics ``effective_points_*``, gate
    ``effective_points``), as rdrobust does, instead of refused."""
    def distinct(bw: float) -> list[int]:
        return [int(np.unique(s.x[s.kernel(c, bw, kernel) > 0]).size) for s in (left, right)]

    distinct_h, distinct_b = distinct(h), distinct(b)
    if min(distinct_h) >= p + 1 and min(distinct_b) >= p + 2:
        return
    need, got, bw, name = ((p + 1, distinct_h, h, "h") if min(distinct_h) < p + 1 else (p + 2, distinct_b, b, "b"))
    raise EstimationError(
        f"Within the bandwidth {name} = {bw:.4g} the running variable takes {got[0]} distinct value(s) below the "
        f"cutoff and {got[1]} above it; a local polynomial of order {need - 1} needs at least {need} on each side.",
        "Widen the bandwidth (--param h=VALUE), lower the polynomial order, or collect more data near "
        "the cutoff.", code="E-EST-051")


def rd_fit(left: Side, right: Side, c: float, *, p: int = 1, kernel: Kernel = "triangular",
           h: float | None = None, b: float | None = None, warnings: list[str] | None = None) -> RDFit:
    """Bandwidths (given or mserd), then the estimate. b defaults to h when h is given (rdrobust rho = 1)."""
    warnings = [] if warnings is None else warnings
    clustered = left.cluster is not None
    fuzzy_bw = left.D.shape[1] > 1 and min(np.var(left.D[:, 1]), np.var(right.D[:, 1])) > 0
    if h is None:
        # perfect compliance on a side: rdrobust selects the bandwidth for the outcome alone ("sharpbw")
        bw_l, bw_r = (left, right) if fuzzy_bw else (replace(left, D=left.D[:, :1]), replace(right, D=right.D[:, :1]))
        h_sel, b_sel = mserd_bandwidths(bw_l, bw_r, c, p, kernel, clustered, warnings)
        h, b = h_sel, (b_sel if b is None else b)
        method = "mserd"
    else:
        b = h if b is None else b
        method = "manual"
    check_window(left, right, c, h, b, p, kernel)
    fit = estimate_at(left, right, c, h, b, p, kernel, clustered)
    return replace(fit, extra={"bandwidth_method": method})


# ---------------------------------------------------------------------------
# data preparation
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RDData:
    """Complete-case arrays sorted by the running variable."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray | None
    cluster: np.ndarray | None
    weight: np.ndarray | None
    rows: np.ndarray               # positions in the frame, in running-variable order
    cutoff: float
    n_dropped: int
    warnings: tuple[str, ...] = ()

    def sides(self, columns: np.ndarray | None = None) -> tuple[Side, Side]:
        """Left (x < c) and right (x >= c) sides; D is the outcome [, take-up] unless ``columns`` given."""
        D = columns if columns is not None else (
            self.y[:, None] if self.t is None else np.column_stack([self.y, self.t]))
        below = self.x < self.cutoff
        whole = Side(self.x, D, self.cluster, self.weight)
        return whole.take(below), whole.take(~below)


def _require_rd_roles(roles: Roles, frame: pd.DataFrame) -> None:
    roles.require("outcome", "running")
    if roles.cutoff is None:
        raise RoleError("A regression discontinuity needs the cutoff: the value of the running variable at which "
                        "treatment switches on.",
                        "Give it with --cutoff VALUE (CLI) or cutoff=VALUE (Python), e.g. --cutoff 0.",
                        code="E-ROLE-001")
    roles.check_columns(frame)


def _running_values(frame: pd.DataFrame, name: str) -> pd.Series:
    s = frame[name]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        converted = pd.to_numeric(s, errors="coerce")
        if converted.notna().sum() < 0.9 * s.notna().sum() or pd.api.types.is_bool_dtype(s):
            raise RoleError(f"The running variable '{name}' is not numeric.",
                            "Choose the numeric score whose threshold decides treatment.", code="E-ROLE-006")
        return converted.astype(float)
    return s.astype(float)


def _take_up(frame: pd.DataFrame, roles: Roles) -> tuple[pd.Series, str | None]:
    """Treatment take-up: numbers as they are, two labels as 0/1."""
    col = frame[roles.treatment]
    if col.notna().sum() == 0:
        raise RoleError(f"The treatment '{roles.treatment}' is missing in every row.",
                        "Choose a treatment column that has values.", code="E-ROLE-003")
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) and roles.treated_value is None:
        return col.astype(float), None
    values, note = binarize_treatment(col, roles.treated_value, roles.treatment)
    return pd.Series(values, index=col.index), note


def prepare_rd(data: Dataset, roles: Roles) -> RDData:
    """Validate the roles and return sorted complete cases, or a typed error."""
    frame = data.frame
    _require_rd_roles(roles, frame)
    y = numeric_outcome(frame, roles.outcome)
    if y.notna().sum() == 0:
        raise RoleError(f"The outcome '{roles.outcome}' is missing in every row.",
                        "Choose an outcome column that has values.", code="E-ROLE-004")
    x = _running_values(frame, roles.running)
    warnings: list[str] = []
    t = None
    if roles.treatment:
        t, note = _take_up(frame, roles)
        warnings += [note] if note else []
    mask = y.notna() & x.notna() & np.isfinite(x) & (t.notna() if t is not None else True)
    for extra in (roles.cluster, roles.weight):
        if extra:
            mask &= frame[extra].notna()
    n_dropped = int((~mask).sum())
    if n_dropped:
        warnings.append(f"{n_dropped} of {len(frame)} rows had missing values in the roles used and were left out "
                        "(complete-case analysis).")
    kept = np.flatnonzero(mask.to_numpy())
    rows = kept[np.argsort(x.to_numpy()[kept], kind="stable")]
    pick = (lambda s: s.to_numpy()[rows])  # noqa: E731
    cluster = pd.factorize(pick(frame[roles.cluster]))[0] if roles.cluster else None
    weight = pd.to_numeric(frame[roles.weight], errors="coerce").to_numpy(dtype=float)[rows] if roles.weight else None
    out = RDData(x=pick(x), y=pick(y), t=pick(t) if t is not None else None, cluster=cluster, weight=weight,
                 rows=rows, cutoff=float(roles.cutoff), n_dropped=n_dropped, warnings=tuple(warnings))
    _check_rd_data(out, roles)
    return out


def _check_rd_data(d: RDData, roles: Roles) -> None:
    """Typed errors for data no RD can use (E-ROLE-003/005, E-EST-050/051/052)."""
    n = d.x.size
    if n < 4:
        raise RoleError(f"Only {n} usable row(s): too few to estimate an effect.",
                        "Provide more rows, or fewer roles with missing values.", code="E-ROLE-005")
    if d.t is not None and np.nanstd(d.t) == 0:
        raise RoleError(f"The treatment '{roles.treatment}' takes a single value, so take-up cannot jump at the "
                        "cutoff.", "Drop the treatment role for a sharp design, or choose the take-up column.",
                        code="E-ROLE-003")
    if d.weight is not None and not (np.all(d.weight >= 0) and np.any(d.weight > 0)):
        raise EstimationError(f"The weight column '{roles.weight}' has negative or non-numeric values, or no "
                              "positive one.", "Weights must be non-negative numbers, some of them positive.",
                              code="E-EST-028")
    if d.x[0] == d.x[-1]:
        raise EstimationError(f"The running variable '{roles.running}' takes a single value ({d.x[0]:g}).",
                              "Choose the score whose threshold decides treatment; it must vary.", code="E-EST-052")
    c = d.cutoff
    if not d.x[0] < c < d.x[-1]:
        raise EstimationError(f"The cutoff {c:g} lies outside the range of '{roles.running}' "
                              f"({d.x[0]:g} to {d.x[-1]:g}): there is no one on one side of it.",
                              "Check the cutoff value and its units.", code="E-EST-050")
    below = d.x < c
    n_left, n_right = int(below.sum()), int((~below).sum())
    if min(n_left, n_right) < MIN_PER_SIDE:
        raise EstimationError(f"Only {n_left} observation(s) below and {n_right} at or above the cutoff {c:g}; "
                              f"each side needs at least {MIN_PER_SIDE}.",
                              "Check the cutoff, or collect more data on the thin side.", code="E-EST-051")
    distinct = min(np.unique(d.x[below]).size, np.unique(d.x[~below]).size)
    if distinct < 3:
        raise EstimationError(f"The running variable has only {distinct} distinct value(s) on one side of the "
                              "cutoff; a local polynomial needs at least 3.",
                              "RD needs a score that varies on both sides of the cutoff.", code="E-EST-052")


# ---------------------------------------------------------------------------
# diagnostics: covariate balance, density test, plot data
# ---------------------------------------------------------------------------

def covariate_balance(data: Dataset, roles: Roles, d: RDData, *, p: int, kernel: Kernel,
                      alpha: float) -> dict[str, dict[str, Any]]:
    """The same sharp RD on each pre-treatment covariate as the outcome: a jump at the
    cutoff in a covariate signals sorting or a compound treatment (Lee & Lemieux 2010,
    J Econ Lit 48:281, Sec. 4.4). Each covariate gets its own mserd bandwidth."""
    if not roles.covariates:
        return {}
    out: dict[str, dict[str, Any]] = {}
    frame = data.frame.iloc[d.rows]
    for covariate in roles.covariates:
        ok = frame[covariate].notna().to_numpy()
        X, names = design_matrix(frame.loc[ok], (covariate,))      # a categorical one becomes dummies
        for j, name in enumerate(names):
            sub = replace(d, x=d.x[ok], y=X[:, j], t=None,
                          cluster=None if d.cluster is None else d.cluster[ok],
                          weight=None if d.weight is None else d.weight[ok])
            out[name] = _balance_row(sub, p, kernel, alpha)
    return out


def _balance_row(sub: RDData, p: int, kernel: Kernel, alpha: float) -> dict[str, Any]:
    try:
        fit = rd_fit(*sub.sides(), sub.cutoff, p=p, kernel=kernel)
    except CQOxError as exc:
        return {"error": exc.message}
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:   # one covariate must not cost the estimate
        return {"error": f"could not be estimated: {exc}"}
    lo, hi, pv = fit.robust_ci(alpha)
    return {"estimate": fit.estimate, "p_value": pv, "ci_lower": lo, "ci_upper": hi, "h": fit.h,
            "n_effective_left": fit.left.n_h, "n_effective_right": fit.right.n_h,
            "effective_points_left": fit.left.points_h, "effective_points_right": fit.right.points_h}


def density_diagnostics(data: Dataset, roles: Roles, warnings: list[str]) -> dict[str, Any]:
    """CJM (2020) test on every observed value of the running variable (a unit whose
    outcome is missing still tells where people sit relative to the cutoff)."""
    running = _running_values(data.frame, roles.running).to_numpy(dtype=float)
    try:
        test = density_test(running, float(roles.cutoff))
    except (CQOxError, ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        reason = exc.message if isinstance(exc, CQOxError) else f"the local fit failed ({exc})"
        warnings.append(f"No manipulation (density) test: {reason}")
        return {"density_test_p": math.nan, "density_test_method": "not computed: " + reason}
    return {"density_test_p": test.p_value, "density_test_method": test.method, "density_test": test.to_dict()}


def _imse_bins(x: np.ndarray, y: np.ndarray, c: float, n_total: int, method: Bins, mass_points: bool) -> int:
    """IMSE-optimal number of bins on one side (Calonico, Cattaneo & Titiunik 2015, JASA
    110:1753, Sec. 4, as rdplot's "es"/"qs"): J = ceil((2B/V * n)^(1/3)), with the bias
    from a global quartic and the variance from spacings, or, when the running variable has
    mass points, from the quartic fits of y and y^2 (rdplot's "espr"/"qspr")."""
    if x.size < 3 or np.var(y) == 0:
        return 1
    u = x - c
    order = min(4, np.unique(u).size - 1)
    design = vander(u, order)
    fit_y, fit_y2 = np.linalg.lstsq(design, np.column_stack([y, y ** 2]), rcond=None)[0].T
    mean, second = np.polynomial.Polynomial(fit_y), np.polynomial.Polynomial(fit_y2)
    slope = mean.deriv()
    dx, dy, mid = np.diff(u), np.diff(y), (u[1:] + u[:-1]) / 2
    span = float(np.max(np.abs(u)))

    def variance(at: np.ndarray) -> np.ndarray:
        v = second(at) - mean(at) ** 2
        return np.where(v < 0, np.var(y, ddof=1), v)

    if method == "qs":
        bias = x.size ** 2 / (24 * n_total) * np.sum(dx ** 2 * slope(mid) ** 2)
        var = np.mean(variance(u)) if mass_points else np.sum(dy ** 2) / (2 * x.size)
    else:
        bias = span ** 2 / (12 * n_total) * np.sum(slope(u) ** 2)
        var = (np.sum(dx * variance(mid)) if mass_points else 0.5 * np.sum(dx * dy ** 2)) / span
    if not (var > 0 and bias > 0):
        return 1
    return int(min(MAX_PLOT_BINS, max(1, math.ceil((2 * bias / var * n_total) ** (1 / 3)))))


def _binned_means(x: np.ndarray, y: np.ndarray, edges: np.ndarray, side: str) -> list[dict[str, Any]]:
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    rows = []
    for k in np.unique(idx):
        members = idx == k
        rows.append({"x": float(np.mean(x[members])), "y": float(np.mean(y[members])), "n": int(members.sum()),
                     "side": side, "x_low": float(edges[k]), "x_high": float(edges[k + 1])})
    return rows


def rd_plot_data(d: RDData, fit: RDFit, method: Bins = "es", points: int = 50) -> dict[str, Any]:
    """Binned outcome means on each side plus the fitted local polynomials within h."""
    below = d.x < d.cutoff
    mass_points = has_mass_points(d.x[below], d.x[~below])
    out: dict[str, Any] = {"bins": [], "cutoff": d.cutoff, "h": fit.h, "p": fit.p,
                           "binning": "IMSE-optimal " + ("quantile-spaced" if method == "qs" else "evenly spaced")
                                      + " bins (Calonico, Cattaneo & Titiunik 2015; rdplot's "
                                      + ("polynomial-regression variance, as with mass points" if mass_points
                                         else "spacings variance") + f"), at most {MAX_PLOT_BINS} per side"}
    for name, mask, est in (("left", below, fit.left), ("right", ~below, fit.right)):
        x, y = d.x[mask], d.y[mask]
        j = _imse_bins(x, y, d.cutoff, d.x.size, method, mass_points)
        lo, hi = (float(x.min()), d.cutoff) if name == "left" else (d.cutoff, float(x.max()))
        edges = np.quantile(x, np.linspace(0, 1, j + 1)) if method == "qs" else np.linspace(lo, hi, j + 1)
        out["bins"] += _binned_means(x, y, np.unique(edges) if edges.size > 2 else np.array([lo, hi]), name)
        out[f"n_bins_{name}"] = j
        a, b = (max(lo, d.cutoff - fit.h), d.cutoff) if name == "left" else (d.cutoff, min(hi, d.cutoff + fit.h))
        grid = np.linspace(a, b, points)
        yhat = vander(grid - d.cutoff, fit.p) @ est.beta_p[:, 0]
        out[f"fit_{name}"] = [[float(g), float(v)] for g, v in zip(grid, yhat)]
    return out


# ---------------------------------------------------------------------------
# the registered method
# ---------------------------------------------------------------------------

def _first_stage_checks(fit: RDFit, warnings: list[str]) -> dict[str, float]:
    """Weak first stage: error when take-up does not detectably jump, warning when F = t^2 < 10."""
    jump, se, se_rb = fit.first_stage
    t = jump / se if se > 0 else math.inf
    if not abs(t) >= MIN_FIRST_STAGE_T or abs(jump) < 1e-10:
        raise EstimationError(
            f"Treatment take-up does not jump detectably at the cutoff (first-stage jump {jump:.4g}, t = {t:.2f}), "
            "so the local Wald ratio is not identified.",
            "Check the cutoff and the treatment column; without a jump in take-up there is no fuzzy RD. For the "
            "effect of crossing the cutoff itself, drop the treatment role (sharp design).", code="E-EST-053")
    if t ** 2 < 10:
        warnings.append(f"Weak first stage: take-up jumps by {jump:.3g} at the cutoff (t = {t:.2f}, F = {t * t:.1f} "
                        "< 10), so the ratio and its interval are unreliable.")
    return {"first_stage_jump": jump, "first_stage_se": se, "first_stage_se_robust": se_rb, "first_stage_t": t,
            "first_stage_f": t * t, "reduced_form_jump": fit.reduced_form}


def _design(d: RDData) -> str:
    """'sharp' without take-up or when take-up is 0/1 and follows the cutoff exactly; else 'fuzzy'."""
    if d.t is None:
        return "sharp"
    above = (d.x >= d.cutoff).astype(float)
    return "sharp" if np.array_equal(d.t, above) or np.array_equal(d.t, 1 - above) else "fuzzy"


def _fit_diagnostics(fit: RDFit, d: RDData, design: str, alpha: float, kernel: str) -> dict[str, Any]:
    z = float(stats.norm.ppf(1 - alpha / 2))
    lo, hi, p_rb = fit.robust_ci(alpha)
    below = d.x < d.cutoff
    return {
        "design": design, "cutoff": d.cutoff, "kernel": kernel, "p": fit.p, "q": fit.p + 1,
        "bandwidth_method": fit.extra.get("bandwidth_method"), "h_left": fit.h, "h_right": fit.h,
        "b_left": fit.b, "b_right": fit.b, "n_left": int(below.sum()), "n_right": int((~below).sum()),
        "n_effective_left": fit.left.n_h, "n_effective_right": fit.right.n_h,
        "n_bias_left": fit.left.n_b, "n_bias_right": fit.right.n_b,
        "effective_points_left": fit.left.points_h, "effective_points_right": fit.right.points_h,
        "distinct_values_left": int(np.unique(d.x[below]).size),
        "distinct_values_right": int(np.unique(d.x[~below]).size),
        "mass_points": has_mass_points(d.x[below], d.x[~below]),
        "estimate_conventional": fit.estimate, "std_error_conventional": fit.se_conventional,
        "ci_conventional": [fit.estimate - z * fit.se_conventional, fit.estimate + z * fit.se_conventional],
        "p_value_conventional": float(2 * stats.norm.sf(abs(fit.estimate / fit.se_conventional)))
        if fit.se_conventional > 0 else math.nan,
        "estimate_bias_corrected": fit.estimate_bc, "std_error_robust": fit.se_robust, "ci_robust": [lo, hi],
        "p_value_robust": p_rb, "outcome_limit_left": fit.limits[0], "outcome_limit_right": fit.limits[1],
        "rows_dropped_missing": d.n_dropped,
    }


#: What the number is the effect on: local to the cutoff, whatever the short estimand code says.
RD_LABEL = {"sharp": "effect at the cutoff", "fuzzy": "LATE at the cutoff: compliers at the cutoff"}
ESTIMAND_NOTE = {
    "sharp": "Sharp design: the average effect of crossing the cutoff for units at the cutoff, "
             "mu(c+) - mu(c-) (labelled 'ate'; it is local to the cutoff, not a population average).",
    "fuzzy": "Fuzzy design: the local Wald ratio (jump in the outcome / jump in take-up), the average effect "
             "of treatment for compliers at the cutoff (labelled 'late').",
}


@register("rd", family="regression_discontinuity", design="threshold", estimands=("late", "ate"),
          requires=Requirements(roles=("outcome", "running", "cutoff"), recommended=("treatment", "covariates"),
                                treatment="any", min_rows=2 * MIN_PER_SIDE),
          title="Regression discontinuity",
          summary="Compares units just below and just above a cutoff of a score, with local linear fits, a "
                  "data-driven bandwidth and robust bias-corrected intervals (sharp, or fuzzy with take-up).",
          inference="robust bias-corrected (nearest-neighbour variance)",
          params={
              "p": "Degree of the local polynomial on each side of the cutoff (1 = local linear, the standard).",
              "kernel": "How the weight of a unit falls with its distance from the cutoff inside the bandwidth.",
              "h": "Bandwidth around the cutoff; empty = chosen from the data (MSE-optimal, CCT 2014).",
              "b": "Bandwidth of the bias correction; empty = chosen from the data.",
              "bins": "How the RD plot groups the running variable: evenly spaced (es) or quantile-spaced (qs).",
          },
          headline_rank=10, example=examples.threshold, transparency=0.8, cost_exponent=1.1,
          references=(
              # rdrobust / rddensity (the reference implementation) on public elections data and stored draws
              *(Reference(quantity, value, 1e-6, relative=True, data=data, roles=roles,
                          source=source, script=script,
                          why_tolerance="the same formulas: 1e-6 relative absorbs BLAS summation order (observed "
                                        "~1e-10), PEER_RTOL of tests/estimators/test_rd.py")
                for data, roles, source, script, pairs in (
                    ("cqox:rdrobust_senate_frame", {"outcome": "vote", "running": "margin", "cutoff": 0.0},
                     ("rdrobust 2.1.1 rdrobust(vote, margin) and rddensity 3.0 rddensity(margin), defaults, on the "
                     "U.S. Senate data (Cattaneo, Frandsen & Titiunik 2015)"),
                     "tests/estimators/references/scripts/rd_rdrobust.py",
                     (("estimate", 7.414130749110065), ("std_error", 1.7412583753231818),
                      ("ci_lower", 4.093698661453887), ("ci_upper", 10.919306068278216),
                      ("diagnostics.h_left", 17.75439819269227), ("diagnostics.b_left", 28.028088587710084),
                      ("diagnostics.estimate_bias_corrected", 7.506502364866051),
                      ("diagnostics.std_error_conventional", 1.4587159889059338),
                      ("diagnostics.density_test.statistic", -0.8752730140825867),
                      ("diagnostics.density_test_p", 0.38142537375718155))),
                    ("cqox:lmb_frame", {"outcome": "score", "running": "lagdemvoteshare", "cutoff": 0.5},
                     ("rdrobust 2.1.1 rdrobust(score, lagdemvoteshare, c=0.5) and rddensity 3.0, on close House "
                     "elections (Lee, Moretti & Butler 2004)"),
                     "tests/estimators/references/scripts/rd_rdrobust.py",
                     (("estimate", 18.665947057941203), ("std_error", 2.0378659553499467),
                      ("diagnostics.h_left", 0.08630821697429221),
                      ("diagnostics.density_test_p", 0.4943846473169038))),
                    ("cqox:lmb_frame", {"outcome": "score", "running": "lagdemvoteshare", "cutoff": 0.5,
                                        "treatment": "take_up"},
                     "rdrobust 2.1.1 rdrobust(score, lagdemvoteshare, c=0.5, fuzzy=take_up), close House elections",
                     "tests/estimators/references/scripts/rd_rdrobust.py",
                     (("estimate", 32.902796975345034), ("std_error", 3.4087331508472927),
                      ("diagnostics.h_left", 0.1253437679248675))),
                    ("cqox:lmb_frame", {"outcome": "score", "running": "lagdemvoteshare", "cutoff": 0.5,
                                        "cluster": "state_name"},
                     "rdrobust 2.1.1 rdrobust(score, lagdemvoteshare, c=0.5, cluster=state), close House elections",
                     "tests/estimators/references/scripts/rd_rdrobust.py",
                     (("estimate", 18.268331323438566), ("std_error", 4.173175012293646),
                      ("diagnostics.h_left", 0.1108951606612424))),
                    ("file:tests/estimators/references/rd_coarse_running.json#cells",
                     {"outcome": "y", "running": "x", "cutoff": 0.0},
                     "rdrobust 2.1.1 rdrobust(y, x, c=0) with masspoints='adjust', on 40 monthly cells",
                     "tests/estimators/references/scripts/rd_coarse_running.py",
                     (("estimate", 0.6269884721536998), ("std_error", 0.1349078380505262),
                      ("diagnostics.h_left", 6.683372337523214))),
                    ("file:tests/estimators/references/rd_coarse_running.json#individuals",
                     {"outcome": "y", "running": "x", "cutoff": 0.0},
                     ("rdrobust 2.1.1 rdrobust(y, x, c=0) with masspoints='adjust', on 1,500 children in 40 "
                     "month cells"),
                     "tests/estimators/references/scripts/rd_coarse_running.py",
                     (("estimate", 0.6206666533516486), ("std_error", 0.26530340779092465),
                      ("diagnostics.h_left", 4.320324231160845))))
                for quantity, value in pairs),
              # the published Senate illustrations, at half a unit in their last printed digit
              *(Reference(quantity, value, tolerance, data="cqox:rdrobust_senate_frame",
                          roles={"outcome": "vote", "running": "margin", "cutoff": 0.0},
                          source=source, script="printed in the source",
                          why_tolerance="printed digits: half a unit in the last one")
                for source, quantity, value, tolerance in (
                    ("Calonico, Cattaneo, Farrell & Titiunik (2017), Stata J 17:372, rdrobust Senate illustration",
                     "diagnostics.h_left", 17.754, 5e-4),
                    ("Calonico, Cattaneo, Farrell & Titiunik (2017), Stata J 17:372, rdrobust Senate illustration",
                     "diagnostics.b_left", 28.028, 5e-4),
                    ("Calonico, Cattaneo, Farrell & Titiunik (2017), Stata J 17:372, rdrobust Senate illustration",
                     "estimate", 7.4141, 5e-5),
                    ("Calonico, Cattaneo, Farrell & Titiunik (2017), Stata J 17:372, rdrobust Senate illustration",
                     "diagnostics.std_error_conventional", 1.4587, 5e-5),
                    ("Calonico, Cattaneo, Farrell & Titiunik (2017), Stata J 17:372, rdrobust Senate illustration",
                     "ci_lower", 4.0937, 5e-5),
                    ("Calonico, Cattaneo, Farrell & Titiunik (2017), Stata J 17:372, rdrobust Senate illustration",
                     "ci_upper", 10.9193, 5e-5),
                    ("Cattaneo, Jansson & Ma (2018), Stata J 18:234, rddensity Senate illustration (T_jk)",
                     "diagnostics.density_test.statistic", -0.8753, 5e-5),
                    ("Cattaneo, Jansson & Ma (2018), Stata J 18:234, rddensity Senate illustration (p)",
                     "diagnostics.density_test_p", 0.3814, 5e-5))),
          ))
def rd(data: Dataset, roles: Roles, *, estimand: Literal["late", "ate"] = "late", alpha: float = 0.05,
       seed: int = 0, p: Annotated[int, between(0, 4)] = 1, kernel: Kernel = "triangular",
       h: Annotated[float | None, above(0)] = None, b: Annotated[float | None, above(0)] = None,
       bins: Bins = "es") -> EffectResult:
    """Local polynomial RD (CCT 2014; rdrobust). The estimand follows the design, whatever
    ``estimand`` says: sharp -> "ate" (the effect at the cutoff), fuzzy -> "late"."""
    d = prepare_rd(data, roles)
    warnings = list(d.warnings)
    design = _design(d)
    fit = rd_fit(*d.sides(), d.cutoff, p=p, kernel=kernel, h=h, b=b, warnings=warnings)
    diagnostics = _fit_diagnostics(fit, d, design, alpha, kernel)
    if fit.first_stage is not None:
        diagnostics.update(_first_stage_checks(fit, warnings) if design == "fuzzy" else
                           {"first_stage_jump": fit.first_stage[0]})
    clustered = d.cluster is not None
    diagnostics.update(n_clusters=int(np.unique(d.cluster).size) if clustered else None,
                       estimand_note=ESTIMAND_NOTE[design])
    diagnostics.update(density_diagnostics(data, roles, warnings))
    diagnostics["covariate_balance"] = covariate_balance(data, roles, d, p=p, kernel=kernel, alpha=alpha)
    diagnostics["rd_plot"] = rd_plot_data(d, fit, bins)
    vce = f"cluster-robust CR1 by '{roles.cluster}'" if clustered else f"NN variance ({NN_MATCHES} neighbours)"
    result = finish("rd", "ate" if design == "sharp" else "late", fit.estimate, fit.se_robust, alpha=alpha,
                    estimand_label=RD_LABEL[design],
                    n_obs=d.x.size, se_method=f"robust bias-corrected (CCT 2014), {vce}",
                    diagnostics=diagnostics, warnings=warnings)
    lo, hi, p_value = fit.robust_ci(alpha)
    if math.isfinite(lo) and not lo <= fit.estimate <= hi:
        result = result.replace(warnings=result.warnings + (
            "The conventional estimate lies outside the robust bias-corrected interval, which is centred on the "
            f"bias-corrected estimate ({fit.estimate_bc:.4g}): the estimated curvature near the cutoff is large "
            "relative to the noise; compare a smaller bandwidth or p=2.",))
    return result.replace(ci_lower=lo, ci_upper=hi, p_value=p_value)
