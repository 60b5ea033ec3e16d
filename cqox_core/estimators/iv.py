"""Instrumental variables: two-stage least squares with one endogenous treatment (``iv``).

Model (one endogenous regressor d, excluded instruments Z, exogenous covariates W
with an intercept, all included in both stages):

    first stage    d = Z pi_d + W g_d + v
    structural     y = beta d + W g + u,        E[Z u] = 0 (exclusion + exogeneity)
    reduced form   y = Z pi_y + W g_y + e

2SLS is beta_hat = (Xh'X)^-1 Xh'y with X = [d, W] and Xh = P_[Z,W] X (Wooldridge
2010, Econometric Analysis of Cross Section and Panel Data, Ch. 5). With one
instrument beta_hat = pi_y / pi_d (the Wald / indirect least squares ratio).

Interpretation. With a binary treatment and a binary instrument, under
independence, exclusion and monotonicity, 2SLS estimates the average effect for
compliers, the LATE (Imbens & Angrist 1994, Econometrica 62:467, Theorem 1);
with several or multi-valued instruments it is a weighted average of such
effects (Angrist & Imbens 1995, JASA 90:431). With a continuous treatment and a
constant effect the coefficient is the effect of one unit of treatment (the
"ate" estimand here); with heterogeneous effects it is a weighted average of
marginal effects (Angrist, Graddy & Imbens 2000, RES 67:499).

Inference:
* 2SLS sandwich with the projected regressors: classical s^2 (Xh'Xh)^-1,
  HC1 = HC0 * n/(n-p), HC3 with the leverage of Xh, or cluster-robust CR1
  (G/(G-1))((n-1)/(n-p)) (Cameron & Miller 2015, JHR 50:317).
* First-stage F: the Wald statistic of pi_d = 0 with the same covariance,
  divided by the number of instruments k (the "robust F").
* Effective F (Montiel Olea & Pflueger 2013, JBES 31:358): with instruments net of W
  orthonormalised (Z'Z/n = I), F_eff = d'P_Z d / tr(W2), W2 the robust covariance of
  Z'v/sqrt(n). Unnormalised, as written by Windmeijer (2023, arXiv:2309.01637):
      F_eff = pi_d' Q pi_d / tr(V_pi Q),   Q = Z~'Z~  (Z~: instruments net of W),
  V_pi the robust covariance of pi_d. With homoskedastic V_pi = s^2 Q^-1 it is the
  classical F; with k = 1 it equals the robust F.
* Anderson-Rubin set (Anderson & Rubin 1949, Ann Math Stat 20:46): the b0 for which
  the instruments' coefficients gamma(b0) = pi_y - b0 pi_d in the regression of
  y - b0 d on [Z, W] are jointly zero. Its covariance is the quadratic
  V(b0) = V_yy - b0 (V_yd + V_dy) + b0^2 V_dd of the joint reduced-form /
  first-stage covariance, so with k = 1 the set solves a quadratic inequality
  (closed form; Dufour 1997, Econometrica 65:1365, on unbounded sets); with k > 1
  it is found by inverting the test over a grid on the whole line.
* Over-identification (k > 1): Sargan (1958) n R^2 and Basmann (1960) under
  homoskedasticity; Hansen (1982) J at the two-step efficient GMM estimate and
  Wooldridge's (1995) robust score test otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..data import Dataset
from ..datasets import examples
from ..datasets.public import CARD_CONTROLS
from ..errors import EstimationError
from ..inference import covariance
from ..prep import prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish, is_binary_treatment

CovType = Literal["HC1", "HC3", "classical"]
Kind = Literal["HC1", "HC3", "classical", "cluster"]
#: Below this effective F the usual rule of thumb calls an instrument weak (Staiger & Stock 1997).
WEAK_F = 10.0
#: Points of the Anderson-Rubin grid on the whole line (b = centre + scale * tan(theta)).
AR_GRID_POINTS = 4001
EXCLUSION_WARNING = ("No test on the data can show that the instrument affects the outcome only through the "
                     "treatment (the exclusion restriction) or that it is as good as randomly assigned; both have "
                     "to be argued from how the instrument came about.")


# ---------------------------------------------------------------------------
# data preparation and the typed errors of bad instruments (E-EST-04x)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class IVData:
    """Complete-case arrays, already multiplied by sqrt(weight) when a weight role is set."""

    y: np.ndarray
    d: np.ndarray
    Z: np.ndarray                      # excluded instruments, n x k
    W: np.ndarray                      # intercept + covariates, n x (1 + q)
    z_names: tuple[str, ...]
    w_names: tuple[str, ...]
    cluster: np.ndarray | None
    binary_treatment: bool
    binary_instrument: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def k(self) -> int:
        return int(self.Z.shape[1])


def check_instrument_names(roles: Roles) -> None:
    """Name-level conflicts: an instrument that is also the treatment, the outcome or a covariate."""
    for z in roles.instrument:
        if z == roles.treatment:
            raise EstimationError(f"The instrument '{z}' is the treatment column itself.",
                                  "An instrument must be a different variable that shifts the treatment, e.g. a "
                                  "lottery, an assignment or a distance.", code="E-EST-042")
        if z == roles.outcome:
            raise EstimationError(f"The instrument '{z}' is the outcome column.",
                                  "Choose an instrument that shifts the treatment and affects the outcome only "
                                  "through it.", code="E-EST-046")
    both = [z for z in roles.instrument if z in roles.covariates]
    if both:
        raise EstimationError(f"{', '.join(both)} is listed both as an instrument and as a covariate.",
                              "An instrument is excluded from the outcome equation; a covariate is included. "
                              "Remove it from one of the two lists.", code="E-EST-043")


def instrument_matrix(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """Numeric instrument columns; constant or non-numeric ones are typed errors."""
    cols = []
    for z in names:
        s = frame[z]
        if not (pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)):
            raise EstimationError(f"The instrument '{z}' is not numeric (e.g. {s.astype(str).iloc[0]!r}).",
                                  "Recode it as numbers, e.g. one 0/1 column per category listed as separate "
                                  "instruments.", code="E-EST-045")
        values = s.astype(float).to_numpy()
        if np.ptp(values) == 0:
            raise EstimationError(f"The instrument '{z}' takes a single value ({values[0]:g}) in the rows used, "
                                  "so it cannot shift the treatment.",
                                  "Choose an instrument that varies across units.", code="E-EST-041")
        cols.append(values)
    return np.column_stack(cols)


def check_not_treatment(Z: np.ndarray, d: np.ndarray, names: tuple[str, ...]) -> None:
    """An instrument that is an exact affine copy of the treatment would just reproduce OLS."""
    for j, z in enumerate(names):
        r = np.corrcoef(Z[:, j], d)[0, 1]
        if abs(r) > 1 - 1e-10:
            raise EstimationError(f"The instrument '{z}' is identical to the treatment (correlation {r:.6f}).",
                                  "Using the treatment as its own instrument gives back the OLS estimate. Choose "
                                  "a variable that only shifts the treatment.", code="E-EST-042")


def check_instrument_rank(Z: np.ndarray, W: np.ndarray, names: tuple[str, ...]) -> None:
    """Instruments must be linearly independent of each other and of the covariates (rank condition)."""
    coef = np.linalg.lstsq(W, Z, rcond=None)[0]
    resid = Z - W @ coef
    centred = Z - Z.mean(axis=0)
    share = np.linalg.norm(resid, axis=0) / np.linalg.norm(centred, axis=0)
    explained = [names[j] for j in np.flatnonzero(share < 1e-7)]
    if explained:
        raise EstimationError(f"The instrument(s) {', '.join(explained)} are exact combinations of the covariates.",
                              "They add no variation beyond the covariates: drop them or the covariate that "
                              "reproduces them.", code="E-EST-044")
    if Z.shape[1] > 1:
        scaled = resid / np.linalg.norm(resid, axis=0)
        sv = np.linalg.svd(scaled, compute_uv=False)
        if sv[-1] / sv[0] < 1e-9:
            raise EstimationError(f"The instruments {', '.join(names)} are perfectly collinear (one is an exact "
                                  "combination of the others, given the covariates).",
                                  "Drop the redundant instrument(s).", code="E-EST-044")


def prepare_iv(data: Dataset, roles: Roles) -> IVData:
    """Validate the IV roles and return complete-case, weight-scaled arrays."""
    frame = data.frame
    roles.require("outcome", "treatment")
    roles.check_columns(frame)
    has_z = frame[list(roles.instrument)].notna().all(axis=1) if roles.instrument else pd.Series(True, frame.index)
    binary = is_binary_treatment(data, roles)
    # outcome / treatment problems are reported first, with the codes every method uses
    prep = prepare(Dataset(frame=frame.loc[has_z], sha256=data.sha256, source=data.source), roles,
                   need_covariates=False, binary_treatment=binary)
    roles.require("instrument")
    check_instrument_names(roles)
    Z = instrument_matrix(frame.loc[prep.index], roles.instrument)
    W = np.column_stack([np.ones(prep.n), prep.X])
    n_params = W.shape[1] + Z.shape[1]
    if prep.n <= n_params:
        raise EstimationError(f"{prep.n} usable rows for {n_params} first-stage parameters (intercept, "
                              f"{prep.X.shape[1]} covariate terms, {Z.shape[1]} instrument(s)): too few to fit.",
                              "Provide more rows or use fewer covariates.", code="E-EST-002")
    check_not_treatment(Z, prep.t, roles.instrument)
    check_instrument_rank(Z, W, roles.instrument)
    warnings = list(prep.warnings)
    n_missing_z = int((~has_z).sum())
    if n_missing_z:
        warnings.append(f"{n_missing_z} of {len(frame)} rows had a missing instrument value and were left out.")
    y, d = prep.y, prep.t
    binary_z = Z.shape[1] == 1 and np.unique(Z).size == 2
    if prep.weight is not None:
        if np.any(~np.isfinite(prep.weight)) or np.any(prep.weight < 0):
            raise EstimationError(f"The weight column '{roles.weight}' has negative or non-finite values.",
                                  "Weights must be non-negative numbers.", code="E-EST-028")
        sw = np.sqrt(prep.weight)
        y, d, Z, W = y * sw, d * sw, Z * sw[:, None], W * sw[:, None]
    return IVData(y=y, d=d, Z=Z, W=W, z_names=roles.instrument, w_names=("const", *prep.x_names),
                  cluster=prep.cluster, binary_treatment=binary, binary_instrument=bool(binary_z),
                  warnings=tuple(warnings))


# ---------------------------------------------------------------------------
# sandwich covariances
# ---------------------------------------------------------------------------

def joint_sandwich(R: np.ndarray, E: np.ndarray, bread: np.ndarray, kind: Kind, cluster: np.ndarray | None,
                   n_params: int) -> np.ndarray:
    """Joint covariance of the coefficient vectors of r regressions sharing the regressors' scores R.

    E holds the r residual series (n x r); the result is (r m) x (r m), ordered
    series by series. Bread is (X'X)^-1 for OLS or (Xh'Xh)^-1 for 2SLS, where R
    are the (projected) regressors. The pieces and small-sample factors are
    ``inference.covariance``'s: HC1 n/(n-p), HC3 residuals / (1 - h_i), CR1
    (G/(G-1))((n-1)/(n-p)).
    """
    n, m = R.shape
    r = E.shape[1]
    if kind == "classical":
        return np.kron(E.T @ E / max(n - n_params, 1), bread)
    if kind != "cluster":
        E = covariance.hc_residuals(R, E, bread, kind)
    scores = np.concatenate([R * E[:, [j]] for j in range(r)], axis=1)
    factor = covariance.hc_factor(kind, n, n_params)
    if kind == "cluster":
        assert cluster is not None, "resolve_kind gives 'cluster' only with a cluster role"
        codes, g = covariance.cluster_codes(cluster)
        scores = covariance.cluster_sums(scores, codes, g)
        factor = covariance.cr1_factor(g, n, n_params)
    return covariance.sandwich(np.kron(np.eye(r), bread), scores, factor)


def ols_fit(X: np.ndarray, Y: np.ndarray, kind: Kind, cluster: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares of each column of Y on X: (coef m x r, residuals n x r, joint covariance)."""
    bread = np.linalg.inv(X.T @ X)
    coef = bread @ (X.T @ Y)
    resid = Y - X @ coef
    return coef, resid, joint_sandwich(X, resid, bread, kind, cluster, X.shape[1])


# ---------------------------------------------------------------------------
# the two stages, the reduced form and the strength of the instruments
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TwoSLS:
    coef: np.ndarray          # [beta, coefficients on W]
    cov: np.ndarray
    resid: np.ndarray
    xhat: np.ndarray


def two_sls(sample: IVData, kind: Kind) -> TwoSLS:
    """beta = (Xh'X)^-1 Xh'y with Xh = P_[Z,W] X (Wooldridge 2010, Ch. 5); sandwich on Xh."""
    X = np.column_stack([sample.d, sample.W])
    Zf = np.column_stack([sample.Z, sample.W])
    xhat = Zf @ np.linalg.lstsq(Zf, X, rcond=None)[0]
    bread = np.linalg.inv(xhat.T @ xhat)
    coef = bread @ (xhat.T @ sample.y)
    resid = sample.y - X @ coef
    cov = joint_sandwich(xhat, resid[:, None], bread, kind, sample.cluster, X.shape[1])
    return TwoSLS(coef=coef, cov=cov, resid=resid, xhat=xhat)


@dataclass(frozen=True)
class FirstStage:
    """Reduced form (y) and first stage (d) on [Z, W], with their joint covariance for the AR test."""

    pi_y: np.ndarray
    pi_d: np.ndarray
    V_yy: np.ndarray
    V_yd: np.ndarray
    V_dd: np.ndarray
    Q: np.ndarray              # Z~'Z~, instruments net of W
    resid_d: np.ndarray
    r_squared: float
    partial_r2: float
    n_params: int


def first_stage(sample: IVData, kind: Kind) -> FirstStage:
    k = sample.k
    Zf = np.column_stack([sample.Z, sample.W])
    coef, resid, cov = ols_fit(Zf, np.column_stack([sample.y, sample.d]), kind, sample.cluster)
    m = Zf.shape[1]
    # the Z block of (Zf'Zf)^-1 is (Z~'Z~)^-1 (Frisch-Waugh-Lovell)
    Q = np.linalg.inv(np.linalg.inv(Zf.T @ Zf)[:k, :k])
    d_net_w = sample.d - sample.W @ np.linalg.lstsq(sample.W, sample.d, rcond=None)[0]
    ssr_d = float(resid[:, 1] @ resid[:, 1])
    # centred about the (weighted) mean: the residual of d on the intercept column
    one = sample.W[:, 0]
    d_centred = sample.d - one * float(one @ sample.d) / float(one @ one)
    return FirstStage(pi_y=coef[:k, 0], pi_d=coef[:k, 1], V_yy=cov[:k, :k], V_yd=cov[:k, m:m + k],
                      V_dd=cov[m:m + k, m:m + k], Q=Q, resid_d=resid[:, 1],
                      r_squared=1 - ssr_d / float(d_centred @ d_centred),
                      partial_r2=1 - ssr_d / float(d_net_w @ d_net_w), n_params=m)


def robust_f(fs: FirstStage) -> float:
    """Wald statistic of pi_d = 0 with the chosen covariance, divided by k."""
    pi = fs.pi_d
    return float(pi @ np.linalg.solve(fs.V_dd, pi)) / pi.size


def effective_f(fs: FirstStage) -> float:
    """Montiel Olea & Pflueger (2013) effective F: pi' Q pi / tr(V_pi Q) (see the module docstring)."""
    pi = fs.pi_d
    return float(pi @ fs.Q @ pi) / float(np.trace(fs.V_dd @ fs.Q))


def f_reference(kind: Kind, k: int, n: int, n_params: int, n_clusters: int | None
                ) -> tuple[Callable[[float], float], Callable[[float], float], str]:
    """Survival function and quantile of the Wald/k statistic, and a label.

    Classical: F(k, n - p) (exact under normal errors). Robust: chi2(k)/k.
    Cluster: F(k, G - 1), the few-clusters reference Cameron & Miller (2015) recommend.
    """
    if kind == "classical":
        dist = stats.f(k, n - n_params)
        return dist.sf, dist.ppf, f"F({k}, {n - n_params})"
    if kind == "cluster" and n_clusters:
        dist = stats.f(k, n_clusters - 1)
        return dist.sf, dist.ppf, f"F({k}, {n_clusters - 1})"
    dist = stats.chi2(k)
    return (lambda v: float(dist.sf(v * k))), (lambda q: float(dist.ppf(q)) / k), f"chi2({k})/{k}"


# ---------------------------------------------------------------------------
# Anderson-Rubin confidence set
# ---------------------------------------------------------------------------

Interval = tuple[float, float]


@dataclass(frozen=True)
class ARInputs:
    """gamma(b) = pi_y - b pi_d and V(b) = V_yy - b (V_yd + V_dy) + b^2 V_dd; reject when AR(b) > critical."""

    pi_y: np.ndarray
    pi_d: np.ndarray
    V_yy: np.ndarray
    V_yd: np.ndarray
    V_dd: np.ndarray
    critical: float            # on the Wald (not Wald/k) scale

    def statistic(self, b: np.ndarray | float) -> np.ndarray:
        """AR(b) = gamma(b)' V(b)^-1 gamma(b), vectorised over b."""
        b = np.atleast_1d(np.asarray(b, dtype=float))
        gamma = self.pi_y[None, :] - b[:, None] * self.pi_d[None, :]
        cross = self.V_yd + self.V_yd.T
        V = self.V_yy[None] - b[:, None, None] * cross[None] + (b ** 2)[:, None, None] * self.V_dd[None]
        return np.einsum("bi,bi->b", gamma, np.linalg.solve(V, gamma[..., None])[..., 0])

    @property
    def limit(self) -> float:
        """AR(b) as |b| -> infinity: the first-stage Wald statistic pi_d' V_dd^-1 pi_d."""
        return float(self.pi_d @ np.linalg.solve(self.V_dd, self.pi_d))


def ar_quadratic_set(ar: ARInputs) -> list[Interval]:
    """Closed form for one instrument: {b : A b^2 + B b + C <= 0}.

    (a - b p)^2 <= c (V_yy - 2 b V_yd + b^2 V_dd) with a = pi_y, p = pi_d gives
    A = p^2 - c V_dd, B = -2 (a p - c V_yd), C = a^2 - c V_yy. A > 0 (first-stage
    t^2 above the critical value): a bounded interval; A < 0: the union of two
    rays, or the whole line when the quadratic has no real root (Dufour 1997).
    """
    if ar.pi_d.size != 1:
        raise ValueError("the closed form needs exactly one instrument")
    a, p, c = float(ar.pi_y[0]), float(ar.pi_d[0]), ar.critical
    A = p * p - c * float(ar.V_dd[0, 0])
    B = -2.0 * (a * p - c * float(ar.V_yd[0, 0]))
    C = a * a - c * float(ar.V_yy[0, 0])
    if A == 0.0:
        root = -C / B
        return [(-math.inf, root)] if B > 0 else [(root, math.inf)]
    disc = B * B - 4 * A * C
    if disc <= 0:
        return [(-math.inf, math.inf)] if A < 0 else []
    q = -0.5 * (B + math.copysign(math.sqrt(disc), B))
    lo, hi = sorted((q / A, C / q))
    return [(lo, hi)] if A > 0 else [(-math.inf, lo), (hi, math.inf)]


def ar_grid_set(ar: ARInputs, centre: float, scale: float, points: int = AR_GRID_POINTS) -> list[Interval]:
    """Test inversion over a grid covering the whole line, b = centre + scale tan(theta).

    Endpoints theta = +-pi/2 stand for b = +-infinity, where AR(b) tends to the
    first-stage Wald statistic; boundaries are refined with Brent's method in theta.
    """
    scale = scale if math.isfinite(scale) and scale > 0 else max(abs(centre), 1.0)
    theta = np.linspace(-np.pi / 2, np.pi / 2, points)

    def excess(th: np.ndarray) -> np.ndarray:
        th = np.atleast_1d(th)
        out = np.full(th.shape, ar.limit - ar.critical)
        inner = np.abs(th) < np.pi / 2
        out[inner] = ar.statistic(centre + scale * np.tan(th[inner])) - ar.critical
        return out

    def to_b(th: float) -> float:
        return -math.inf if th <= -np.pi / 2 else math.inf if th >= np.pi / 2 else centre + scale * math.tan(th)

    accept = excess(theta) <= 0
    edges: list[float] = []
    for j in np.flatnonzero(accept[1:] != accept[:-1]):
        root = optimize.brentq(lambda t: float(excess(np.array([t]))[0]), theta[j], theta[j + 1], xtol=1e-14)
        edges.append(to_b(root))
    bounds = ([-math.inf] if accept[0] else []) + edges + ([math.inf] if accept[-1] else [])
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def describe_ar_set(intervals: list[Interval], level: int) -> tuple[str, str]:
    """(kind, plain-language description) of an Anderson-Rubin set."""
    def fmt(v: float) -> str:
        return f"{v:.4g}"

    if not intervals:
        return "empty", (f"The {level}% Anderson-Rubin set is empty: no single effect size is consistent with all "
                         "instruments at once, which suggests at least one of them is not valid.")
    if len(intervals) == 1 and math.isinf(intervals[0][0]) and math.isinf(intervals[0][1]):
        return "whole_line", (f"The {level}% Anderson-Rubin set is the whole real line: the instrument moves the "
                              "treatment too little for the data to rule out any effect size.")
    if len(intervals) == 1 and all(map(math.isfinite, intervals[0])):
        lo, hi = intervals[0]
        return "bounded", (f"The {level}% Anderson-Rubin set runs from {fmt(lo)} to {fmt(hi)}; it stays valid "
                           "however weak the instrument is.")
    if len(intervals) == 1:
        lo, hi = intervals[0]
        side = f"at most {fmt(hi)}" if math.isinf(lo) else f"at least {fmt(lo)}"
        return "ray", f"The {level}% Anderson-Rubin set is every effect {side}; it is unbounded on one side."
    if len(intervals) == 2 and math.isinf(intervals[0][0]) and math.isinf(intervals[1][1]):
        lo, hi = intervals[0][1], intervals[1][0]
        return "two_rays", (f"The {level}% Anderson-Rubin set is every effect below {fmt(lo)} or above {fmt(hi)}: "
                            "only the values in between are ruled out. This happens when the instrument is weak, "
                            "so very large effects of either sign cannot be excluded.")
    parts = ", ".join(f"[{fmt(lo)}, {fmt(hi)}]" for lo, hi in intervals)
    return "union", f"The {level}% Anderson-Rubin set is made of several pieces: {parts}."


# ---------------------------------------------------------------------------
# over-identification tests (k > 1)
# ---------------------------------------------------------------------------

def overid_tests(sample: IVData, fit: TwoSLS, kind: Kind) -> dict[str, Any]:
    """Sargan, Basmann, Hansen J and Wooldridge's score test, each chi2(k - 1)."""
    k, n = sample.k, sample.n
    Zf = np.column_stack([sample.Z, sample.W])
    u = fit.resid
    u_net = u - Zf @ np.linalg.lstsq(Zf, u, rcond=None)[0]
    # Sargan (1958): n R^2 of the 2SLS residuals on all instruments (uncentred, as linearmodels)
    sargan = n * (1 - float(u_net @ u_net) / float(u @ u))
    basmann = sargan * (n - Zf.shape[1]) / (n - sargan)   # Basmann (1960)
    out: dict[str, Any] = {"overid_df": k - 1, "sargan": sargan, "basmann": basmann}
    out["hansen_j"] = hansen_j(sample, Zf, u, sample.cluster if kind == "cluster" else None)
    out["wooldridge_score"] = wooldridge_score(sample, Zf, u) if kind != "cluster" else math.nan
    dist = stats.chi2(k - 1)
    for key in ("sargan", "basmann", "hansen_j", "wooldridge_score"):
        out[f"{key}_p"] = float(dist.sf(out[key])) if math.isfinite(out[key]) else math.nan
    out["overid_test"] = "sargan" if kind == "classical" else "hansen_j"
    out["overid_p"] = out[f"{out['overid_test']}_p"]
    return out


def hansen_j(sample: IVData, Zf: np.ndarray, u0: np.ndarray, cluster: np.ndarray | None) -> float:
    """Hansen (1982) J at the two-step efficient GMM estimate.

    S = (1/n) sum g_i g_i' (or cluster sums of g) with g_i = z_i u_i from the 2SLS
    residuals; beta_gmm minimises g_bar' S^-1 g_bar; J = n g_bar(beta_gmm)' S^-1 g_bar(beta_gmm).
    """
    n = sample.n
    g = Zf * u0[:, None]
    if cluster is not None:
        codes, n_clusters = covariance.cluster_codes(cluster)
        if n_clusters <= Zf.shape[1]:
            return math.nan          # S has rank at most G: not invertible with this few clusters
        g = covariance.cluster_sums(g, codes, n_clusters)
    S_inv = np.linalg.inv(g.T @ g / n)
    X = np.column_stack([sample.d, sample.W])
    ZX, Zy = Zf.T @ X / n, Zf.T @ sample.y / n
    beta = np.linalg.solve(ZX.T @ S_inv @ ZX, ZX.T @ S_inv @ Zy)
    g_bar = Zf.T @ (sample.y - X @ beta) / n
    return float(n * g_bar @ S_inv @ g_bar)


def wooldridge_score(sample: IVData, Zf: np.ndarray, u: np.ndarray) -> float:
    """Wooldridge (1995) heteroskedasticity-robust score test: n - SSR of 1 on q~ u.

    q~ are the first k - 1 instruments net of W and the first-stage fitted treatment.
    """
    dhat = Zf @ np.linalg.lstsq(Zf, sample.d, rcond=None)[0]
    R = np.column_stack([sample.W, dhat])
    q = sample.Z[:, : sample.k - 1]
    q_net = q - R @ np.linalg.lstsq(R, q, rcond=None)[0]
    F = q_net * u[:, None]
    ones = np.ones(sample.n)
    fitted = F @ np.linalg.lstsq(F, ones, rcond=None)[0]
    return float(sample.n - (ones - fitted) @ (ones - fitted))


# ---------------------------------------------------------------------------
# assembling the result
# ---------------------------------------------------------------------------

SE_METHOD = {"classical": "classical 2SLS (homoskedastic errors)", "HC1": "HC1 sandwich (2SLS)",
             "HC3": "HC3 sandwich (2SLS, leverage of the projected regressors)",
             "cluster": "cluster-robust CR1 sandwich (2SLS)"}
F_TYPE = {"classical": "classical (homoskedastic) F of the excluded instruments in the first stage",
          "HC1": "heteroskedasticity-robust (HC1) Wald F = Wald/k of the excluded instruments in the first stage",
          "HC3": "heteroskedasticity-robust (HC3) Wald F = Wald/k of the excluded instruments in the first stage",
          "cluster": "cluster-robust (CR1) Wald F = Wald/k of the excluded instruments in the first stage"}


def resolve_kind(cov_type: str, sample: IVData) -> Kind:
    """The covariance used: cov_type (one of CovType, checked by params.check_values), or CR1 with a cluster."""
    if sample.cluster is None:
        return cov_type  # type: ignore[return-value]
    if np.unique(sample.cluster).size < 2:
        raise EstimationError("The cluster column has a single value, so cluster-robust errors are not defined.",
                              "Remove the cluster role or choose a column with several groups.", code="E-EST-048")
    return "cluster"


def coefficient_table(names: tuple[str, ...], coef: np.ndarray, cov: np.ndarray) -> dict[str, dict[str, float]]:
    """{"coef": {name: value}, "std_error": {name: value}} for the instruments."""
    return {"coef": {n: float(v) for n, v in zip(names, coef)},
            "std_error": {n: float(v) for n, v in zip(names, np.sqrt(np.diag(cov)))}}


def strength_part(sample: IVData, fs: FirstStage, kind: Kind,
                  n_clusters: int | None) -> tuple[dict[str, Any], SubEstimate]:
    """First-stage coefficients, robust and effective F, partial R^2, reduced form."""
    sf, _, ref = f_reference(kind, sample.k, sample.n, fs.n_params, n_clusters)
    f_stat, f_eff = robust_f(fs), effective_f(fs)
    f_p = float(sf(f_stat))
    diag = {
        "first_stage": coefficient_table(sample.z_names, fs.pi_d, fs.V_dd),
        "first_stage_r2": fs.r_squared, "partial_r2": fs.partial_r2,
        "first_stage_f": f_stat, "first_stage_f_type": F_TYPE[kind], "first_stage_f_p": f_p,
        "first_stage_f_reference": ref, "effective_f": f_eff,
        "effective_f_type": "Montiel Olea & Pflueger (2013) effective F, same covariance as first_stage_f "
                            "(equals it with one instrument)",
        "reduced_form": coefficient_table(sample.z_names, fs.pi_y, fs.V_yy),
    }
    sub = SubEstimate("first_stage_f", f_stat, p_value=f_p, n_obs=sample.n,
                      extra={"statistic": F_TYPE[kind], "reference": ref, "effective_f": f_eff,
                             "partial_r2": fs.partial_r2})
    return diag, sub


def ar_part(sample: IVData, fs: FirstStage, kind: Kind, n_clusters: int | None, alpha: float, centre: float,
            scale: float) -> dict[str, Any]:
    """Anderson-Rubin set (closed form with one instrument, grid otherwise) and the AR test of no effect."""
    sf, ppf, ref = f_reference(kind, sample.k, sample.n, fs.n_params, n_clusters)
    ar = ARInputs(fs.pi_y, fs.pi_d, fs.V_yy, fs.V_yd, fs.V_dd, critical=sample.k * float(ppf(1 - alpha)))
    if sample.k == 1:
        intervals, method = ar_quadratic_set(ar), "closed-form quadratic (one instrument)"
    else:
        intervals, method = ar_grid_set(ar, centre, scale), f"test inversion on a {AR_GRID_POINTS}-point grid"
    level = int(round(100 * (1 - alpha)))
    kind_name, text = describe_ar_set(intervals, level)
    return {"ar_confidence_set": [list(iv_) for iv_ in intervals], "ar_set_kind": kind_name,
            "ar_description": text, "ar_method": method, "ar_reference": ref,
            "ar_critical_value": ar.critical / sample.k,
            "ar_p_value_zero": float(sf(float(ar.statistic(0.0)[0]) / sample.k))}


#: (binary treatment, binary instrument) -> what 2SLS estimates, in words (see estimand_part).
IV_LABEL = {(True, True): "LATE: compliers (units whose treatment the instrument changes)",
            (True, False): "LATE: weighted average over units whose treatment the instruments change",
            (False, True): "effect of one more unit of treatment (instrumented)",
            (False, False): "effect of one more unit of treatment (instrumented)"}


def estimand_part(sample: IVData, requested: str) -> tuple[str, str, list[str]]:
    """(reported estimand, interpretation note, warnings)."""
    if not sample.binary_treatment:
        note = ("Continuous treatment: the estimate is the effect of one unit of treatment ('ate'), assuming it is "
                "the same at every level; otherwise 2SLS gives a weighted average of marginal effects "
                "(Angrist, Graddy & Imbens 2000).")
        return "ate", note, []
    if sample.binary_instrument:
        note = ("Binary treatment and instrument: the estimate is the average effect for compliers, the units whose "
                "treatment the instrument changes (LATE; Imbens & Angrist 1994), assuming no one does the opposite "
                "of what the instrument encourages (monotonicity).")
    else:
        note = ("Binary treatment with a multi-valued or several instruments: the estimate is a weighted average of "
                "effects for units whose treatment the instruments change (Angrist & Imbens 1995), not the ATE.")
    warnings = []
    if requested == "ate":
        warnings.append("You asked for the ATE, but with a binary treatment 2SLS identifies the effect for compliers "
                        "(LATE); it equals the ATE only if the effect is the same for everyone. It is reported as "
                        "the LATE.")
    return "late", note, warnings


def strength_warnings(diag: dict[str, Any]) -> list[str]:
    out = [EXCLUSION_WARNING]
    if diag["effective_f"] < WEAK_F:
        which = "instrument is" if diag["n_instruments"] == 1 else "instruments are"
        out.append(f"The {which} weak (effective first-stage F = {diag['effective_f']:.2f}, below 10): the 2SLS "
                   "estimate is pulled toward the OLS estimate and its usual interval is too narrow. "
                   "Rely on the Anderson-Rubin set instead.")
    if diag["ar_set_kind"] in ("two_rays", "whole_line", "ray", "empty"):
        out.append(diag["ar_description"])
    if diag.get("overid_p", 1.0) < 0.05:
        out.append(f"The instruments disagree about the effect (over-identification test {diag['overid_test']} "
                   f"p = {diag['overid_p']:.3g}): at least one of them may affect the outcome other than through "
                   "the treatment, or the effect differs between the groups each instrument moves.")
    return out


@register("iv", family="instrumental_variables", design="instrument", estimands=("late", "ate"),
          requires=Requirements(roles=("outcome", "treatment", "instrument"), recommended=("covariates",),
                                treatment="any"),
          title="Instrumental variables (2SLS)",
          summary="Uses a variable that shifts the treatment but affects the outcome only through it (the "
                  "instrument) to remove hidden confounding, by two-stage least squares. With a binary treatment "
                  "the estimate is the effect for those whose treatment the instrument changes (LATE); with a "
                  "continuous treatment it is the effect of one unit of treatment ('ate').",
          inference="HC1 / HC3 / cluster",
          params={
              "cov_type": "Standard-error formula: HC1 (robust to unequal variances, the default), HC3 or "
                          "classical; a cluster role gives cluster-robust errors instead.",
          },
          headline_rank=10, example=examples.instrumented, transparency=0.8, cost_exponent=1.0,
          references=(
              # Wooldridge, Example 15.4 (Card 1995): printed values, half a unit in the last printed digit
              *(Reference(quantity, value, tolerance, data="woo:card",
                          source="Wooldridge, Introductory Econometrics (4th ed. on), Example 15.4: Card (1995) "
                                 "college proximity, log wage on educ instrumented by nearc4, classical SEs",
                          script="printed in the source",
                          roles={"outcome": "lwage", "treatment": "educ", "instrument": ["nearc4"],
                                 "covariates": CARD_CONTROLS},
                          params={"cov_type": "classical"},
                          why_tolerance="the text rounds: half a unit in the last printed digit")
                for quantity, value, tolerance in (
                    ("estimate", 0.1315, 5e-5), ("std_error", 0.0550, 5e-5),
                    ("diagnostics.first_stage.coef.nearc4", 0.320, 5e-4),
                    ("diagnostics.first_stage.std_error.nearc4", 0.088, 5e-4),
                    ("diagnostics.ols_estimate", 0.075, 5e-4))),
              # linearmodels on the same data, classical and HC1 covariance (debiased: the same factors as ours)
              *(Reference(quantity, value, tolerance, relative=True, data="woo:card",
                          source=f"linearmodels 7.1 IV2SLS(...).fit(cov_type={theirs!r}, debiased=True) on Card "
                                 "(1995), Wooldridge Example 15.4's specification",
                          script="tests/estimators/references/scripts/iv_card_linearmodels.py",
                          roles={"outcome": "lwage", "treatment": "educ", "instrument": ["nearc4"],
                                 "covariates": CARD_CONTROLS},
                          params={"cov_type": ours},
                          why_tolerance="same estimator, independent code: coefficients to 1e-8, SEs and F to "
                                        "1e-6 relative, as test_agrees_with_linearmodels")
                for ours, theirs, quantity, value, tolerance in (
                    ("classical", "unadjusted", "estimate", 0.13150383624542883, 1e-8),
                    ("classical", "unadjusted", "std_error", 0.05496367260141932, 1e-6),
                    ("classical", "unadjusted", "diagnostics.first_stage_f", 13.255785330576703, 1e-6),
                    ("classical", "unadjusted", "diagnostics.partial_r2", 0.004407934102325872, 1e-8),
                    ("HC1", "robust", "std_error", 0.054143623584915285, 1e-6),
                    ("HC1", "robust", "diagnostics.first_stage_f", 14.138670079757631, 1e-6))),
          ))
def iv(data: Dataset, roles: Roles, *, estimand: Literal["late", "ate"] = "late", alpha: float = 0.05,
       seed: int = 0, cov_type: CovType = "HC1") -> EffectResult:
    """Two-stage least squares with one endogenous treatment (see the module docstring for sources).

    cov_type: "HC1" (default), "HC3" or "classical"; a cluster role gives CR1
    cluster-robust errors instead. ``seed`` is accepted for the common
    signature; the method is deterministic.
    """
    data_iv = prepare_iv(data, roles)
    kind = resolve_kind(cov_type, data_iv)
    n_clusters = int(np.unique(data_iv.cluster).size) if kind == "cluster" else None
    fs = first_stage(data_iv, kind)
    if fs.partial_r2 < 1e-12:
        raise EstimationError("The instruments do not move the treatment at all once the covariates are "
                              "accounted for, so the effect is not identified.",
                              "Choose an instrument that is related to the treatment.", code="E-EST-047")
    fit = two_sls(data_iv, kind)
    est, se = float(fit.coef[0]), float(math.sqrt(fit.cov[0, 0]))
    diagnostics, by = strength_part(data_iv, fs, kind, n_clusters)
    diagnostics.update(ar_part(data_iv, fs, kind, n_clusters, alpha, est, se))
    if data_iv.k > 1:
        diagnostics.update(overid_tests(data_iv, fit, kind))
    ols_coef, _, ols_cov = ols_fit(np.column_stack([data_iv.d, data_iv.W]), data_iv.y[:, None], kind,
                                   data_iv.cluster)
    reported, note, estimand_warnings = estimand_part(data_iv, estimand)
    diagnostics.update(ols_estimate=float(ols_coef[0, 0]), ols_std_error=float(math.sqrt(ols_cov[0, 0])),
                       n=data_iv.n, n_instruments=data_iv.k, instruments=list(data_iv.z_names),
                       covariate_terms=list(data_iv.w_names[1:]), cov_type=kind, n_clusters=n_clusters,
                       treatment_kind="binary" if data_iv.binary_treatment else "continuous",
                       estimand_note=note)
    warnings = list(data_iv.warnings) + estimand_warnings + strength_warnings(diagnostics)
    return finish("iv", reported, est, se, alpha=alpha, n_obs=data_iv.n, se_method=SE_METHOD[kind],
                  estimand_label=IV_LABEL[(data_iv.binary_treatment, data_iv.binary_instrument)],
                  diagnostics=diagnostics, warnings=warnings, df=n_clusters - 1 if n_clusters else None,
                  by=(by,))
