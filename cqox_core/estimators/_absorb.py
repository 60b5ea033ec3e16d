"""Fixed effects of many-level covariates absorbed exactly, and least squares on the absorbed design.

A text covariate with hundreds of values (a store, village or school) enters a
published specification as fixed effects: one intercept per value. Rather than
an n x L dummy matrix, the fixed effects are partialled out (Frisch-Waugh-Lovell):
the coefficients of y on [X, D] equal those of M y on M X, with M the
(weighted) residual maker of the dummies D, and the residuals are the same.

``AbsorbedEffects`` builds M for one or more factors on top of a base residual
maker (group means of the largest factor for regression adjustment; the unit
and period effects for did). Further factors, with stacked dummies E, are
partialled out through their normal equations

    G = E' W M_base E,    M v = M_base v - M_base E g,    g = G^+ E' W M_base v,

with G (L x L) built once, column by column, so memory stays O(n + L^2); the
pseudo-inverse takes care of levels redundant with the base (a factor nested in
another).

``absorbed_ols`` is ``inference.ols`` on such a design. The covariance follows
the fixed-effect conventions of fixest / pyfixest (Berge 2018, "On
standard-errors"; pyfixest ssc default), whose numbers the tests match:

    K_fe = sum of the factors' levels - (number of factors - 1)
    classical  s^2 (X~'WX~)^-1,            s^2 = sum w e^2 / (n - k - K_fe)       (pyfixest "iid")
    HC1        n / (n - k - K_fe) x sandwich                                      (pyfixest "hetero")
    HC3        sandwich with e_i / (1 - h_i), h_i = w_i / W_g(i) + leverage in X~ (statsmodels, dummies)
    cluster    G/(G-1) (n-1)/(n - k - K_fe') x sandwich, t(G-1),                  (pyfixest "CRV1")
               K_fe' = K_fe without the levels of factors nested in the clusters (+1 for each)

pyfixest refuses HC2/HC3 with fixed effects; with one absorbed factor the
fixed-effect part of each leverage is w_i / W_g (its level's share of the
weight), so HC3 is computed exactly and equals statsmodels' OLS with the
dummies. With two or more absorbed factors the leverage has no such closed form
and HC3 is refused (typed error; HC1 or a cluster works).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import EstimationError, MethodError
from ..inference import LeastSquares, OLSFit, least_squares


@dataclass(frozen=True)
class AbsorbedFit(OLSFit):
    """An ``OLSFit`` with fixed effects absorbed: ``xtx_inv`` belongs to ``regressors``, the residualised
    design (0 in the rows and columns of the intercept and of absorbed terms); ``n_params`` is K of the
    small-sample factors (slopes + fixed effects as counted for this covariance)."""

    regressors: np.ndarray | None = None
    n_params: int = 0


#: Stacked levels of the extra factors above which G (L x L) and its L residualisations get too costly.
MAX_EXTRA_LEVELS = 5_000


def group_demeaner(codes: np.ndarray, weights: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """v minus its weighted mean within each level of ``codes`` (the residual maker of one factor)."""
    n_levels = int(codes.max()) + 1
    wsum = np.bincount(codes, weights=weights, minlength=n_levels)

    def demean(v: np.ndarray) -> np.ndarray:
        return v - (np.bincount(codes, weights=weights * v, minlength=n_levels) / wsum)[codes]

    return demean


@dataclass(frozen=True)
class AbsorbedEffects:
    """Residual maker M of a base set of fixed effects plus ``extra`` factors (weighted metric)."""

    weights: np.ndarray                      # normalised to mean 1
    base: Callable[[np.ndarray], np.ndarray]
    extra: np.ndarray                        # n x m level codes of the extra factors (m may be 0)
    offsets: np.ndarray                      # first stacked column of each extra factor
    g_pinv: np.ndarray                       # pseudo-inverse of G = E'W M_base E

    @classmethod
    def build(cls, base: Callable[[np.ndarray], np.ndarray], extra: np.ndarray,
              weights: np.ndarray) -> "AbsorbedEffects":
        extra = np.asarray(extra, dtype=np.int64).reshape(weights.size, -1)
        levels = extra.max(axis=0) + 1 if extra.shape[1] else np.zeros(0, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(levels)]).astype(np.int64)
        if offsets[-1] > MAX_EXTRA_LEVELS:
            raise EstimationError(f"{int(offsets[-1])} levels of additional fixed effects are more than CQOx absorbs "
                                  f"exactly ({MAX_EXTRA_LEVELS}).",
                                  "Absorb fewer many-level covariates, or aggregate them.", code="E-EST-071")
        made = cls(weights, base, extra, offsets, np.zeros((0, 0)))
        if not offsets[-1]:
            return made
        gram = np.empty((int(offsets[-1]),) * 2)
        for j in range(extra.shape[1]):
            for level in range(int(levels[j])):
                # one column of G: E'W M_base e for the dummy e of this level
                gram[:, offsets[j] + level] = made.cross(base((extra[:, j] == level).astype(float)))
        gram = (gram + gram.T) / 2.0
        # eigenvalues are on the scale of the levels' weight sums (the diagonal of E'WE); a level redundant
        # with the base (e.g. a covariate constant within units) leaves only rounding noise far below it
        scale = max(float(np.bincount(extra[:, j], weights=weights).max()) for j in range(extra.shape[1]))
        return cls(weights, base, extra, offsets, _pinv_psd(gram, scale))

    def cross(self, v: np.ndarray) -> np.ndarray:
        """E' W v for the stacked dummies E of the extra factors."""
        return np.concatenate([np.bincount(self.extra[:, j], weights=self.weights * v,
                                           minlength=int(self.offsets[j + 1] - self.offsets[j]))
                               for j in range(self.extra.shape[1])])

    def expand(self, g: np.ndarray) -> np.ndarray:
        """E g: each row's sum of its levels' entries of g."""
        out = np.zeros(self.weights.size)
        for j in range(self.extra.shape[1]):
            out += g[self.offsets[j] + self.extra[:, j]]
        return out

    def residualise(self, v: np.ndarray) -> np.ndarray:
        """M v for a vector or each column of a matrix."""
        v = np.asarray(v, dtype=float)
        if v.ndim == 2:
            return np.column_stack([self.residualise(v[:, j]) for j in range(v.shape[1])]) if v.shape[1] \
                else v.copy()
        out = self.base(v)
        if self.g_pinv.size:
            out = out - self.base(self.expand(self.g_pinv @ self.cross(out)))
        return out


def _pinv_psd(a: np.ndarray, scale: float) -> np.ndarray:
    """Pseudo-inverse of a symmetric PSD matrix whose entries are of order ``scale``; levels redundant with
    the base leave it singular (eigenvalues at rounding level are treated as zero)."""
    vals, vecs = np.linalg.eigh(a)
    keep = vals > scale * 1e-10
    return (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


def factor_absorber(codes: np.ndarray, weights: np.ndarray | None) -> AbsorbedEffects:
    """M for the fixed effects of the factors in ``codes`` (n x k): the one with most levels by group
    means, the others through their normal equations."""
    codes = np.asarray(codes, dtype=np.int64).reshape(codes.shape[0], -1)
    w = np.ones(codes.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean()
    order = np.argsort(-(codes.max(axis=0) + 1), kind="stable")
    return AbsorbedEffects.build(group_demeaner(codes[:, order[0]], w), codes[:, order[1:]], w)


def nested_in(codes: np.ndarray, cluster: np.ndarray) -> bool:
    """Every level of ``codes`` lies inside a single cluster."""
    _, cluster_codes = np.unique(cluster, return_inverse=True)
    first = np.full(int(codes.max()) + 1, -1)
    first[codes] = cluster_codes                 # any row's cluster per level ...
    return bool(np.all(first[codes] == cluster_codes))   # ... is every row's


def fixed_effect_count(codes: np.ndarray, cluster: np.ndarray | None = None) -> int:
    """K_fe as pyfixest's ssc(k_fixef="nonnested") counts it; factors nested in ``cluster`` count once."""
    codes = np.asarray(codes, dtype=np.int64).reshape(codes.shape[0], -1)
    levels = [int(codes[:, j].max()) + 1 for j in range(codes.shape[1])]
    count = sum(levels) - (len(levels) - 1)
    if cluster is not None:
        count -= sum(n - 1 for j, n in enumerate(levels) if nested_in(codes[:, j], cluster))
    return count


def absorbed_ols(design: np.ndarray, y: np.ndarray, codes: np.ndarray, *, cov_type: str,
                 cluster: np.ndarray | None = None, weights: np.ndarray | None = None,
                 names: list[str] | None = None) -> tuple[AbsorbedFit, list[str]]:
    """``inference.ols`` of y on ``design`` (column 0 the intercept) with the factors ``codes`` absorbed.

    The returned fit keeps the design's column positions; the intercept, absorbed by the fixed effects,
    is NaN. A column with no variation left within the levels (a store-level covariate) is absorbed too:
    its coefficient is NaN and a sentence in the returned notes says so; the treatment (column 1) must vary.
    """
    n = y.size
    fe = factor_absorber(codes, weights)
    Xt = fe.residualise(design[:, 1:])
    yt = fe.residualise(y)
    centred = np.sqrt(np.sum((design[:, 1:] - design[:, 1:].mean(axis=0)) ** 2, axis=0))
    alive = np.sqrt(np.sum(Xt ** 2, axis=0)) > 1e-9 * np.maximum(centred, 1e-300)
    if not alive[0]:
        raise EstimationError("Within every level of the absorbed fixed effects the treatment takes one value, so "
                              "no treated unit can be compared with an untreated one of the same level.",
                              "Absorb a coarser grouping, or drop that covariate.", code="E-EST-005")
    notes = []
    if not alive.all():
        gone = [(names or [f"column {j + 1}" for j in range(alive.size)])[j] for j in np.flatnonzero(~alive)]
        notes.append(f"Term(s) {', '.join(gone)} do not vary within the levels of the absorbed fixed effects, which "
                     "already account for them; they were left out.")
    fit = least_squares(Xt[:, alive], yt, weights=weights)   # raw weights: the scale callers expect
    k = int(alive.sum())
    df_resid = n - k - fixed_effect_count(codes)
    if df_resid <= 0:
        raise EstimationError(f"{k} regression terms and {fixed_effect_count(codes)} fixed effects for {n} rows: "
                              "the model cannot be fitted.", "Use fewer covariates or set interacted=False.",
                              code="E-EST-002")
    cov = _covariance(fit, fe, codes, cov_type, cluster, k, df_resid)
    if cov_type == "cluster":
        df_resid = int(np.unique(cluster).size) - 1
    full = design.shape[1]
    columns = np.concatenate([[False], alive])
    coef = np.full(full, np.nan)
    coef[columns] = fit.coef
    cov_full = np.full((full, full), np.nan)
    cov_full[np.ix_(columns, columns)] = cov
    xtx_inv = np.zeros((full, full))                # zeros: absorbed terms carry no influence
    xtx_inv[np.ix_(columns, columns)] = fit.xtx_inv
    resid = yt - Xt[:, alive] @ fit.coef          # FWL: the residuals of the model with the dummies
    regressors = np.column_stack([np.zeros(n), Xt])
    n_params = k + fixed_effect_count(codes, cluster if cov_type == "cluster" else None)
    return AbsorbedFit(coef=coef, cov=cov_full, resid=resid, df_resid=df_resid, cov_type=cov_type,
                       xtx_inv=xtx_inv, regressors=regressors, n_params=n_params), notes


def _covariance(fit: LeastSquares, fe: AbsorbedEffects, codes: np.ndarray, cov_type: str,
                cluster: np.ndarray | None, k: int, df_resid: int) -> np.ndarray:
    """The covariance of the slopes by the conventions of the module docstring."""
    Xw, resid_w, bread = fit.Xw, fit.resid_w, fit.xtx_inv
    n = resid_w.size
    if cov_type == "classical":
        return float(resid_w @ resid_w) / df_resid * bread
    if cov_type == "HC1":
        meat = (Xw * (resid_w ** 2)[:, None]).T @ Xw
        return n / df_resid * bread @ meat @ bread
    if cov_type == "HC3":
        codes = np.asarray(codes).reshape(n, -1)
        if codes.shape[1] != 1:
            raise MethodError("HC3 standard errors need each row's leverage, which CQOx computes exactly for one "
                              f"absorbed fixed-effect factor; this model absorbs {codes.shape[1]}.",
                              "Use cov_type='HC1' (as pyfixest does with fixed effects) or name a cluster.",
                              code="E-METHOD-006")
        w = fe.weights
        h = w / np.bincount(codes[:, 0], weights=w)[codes[:, 0]] + np.sum((Xw @ bread) * Xw, axis=1)
        u = resid_w / np.clip(1.0 - h, 1e-12, None)
        meat = (Xw * (u ** 2)[:, None]).T @ Xw
        return bread @ meat @ bread
    if cov_type == "cluster":
        if cluster is None:
            raise ValueError("cluster covariance needs cluster labels")
        _, idx = np.unique(cluster, return_inverse=True)
        g = int(idx.max()) + 1
        scores = np.zeros((g, Xw.shape[1]))
        np.add.at(scores, idx, Xw * resid_w[:, None])
        df_k = k + fixed_effect_count(codes, cluster)
        factor = g / max(g - 1, 1) * (n - 1) / max(n - df_k, 1)
        return factor * bread @ (scores.T @ scores) @ bread
    raise ValueError(f"unknown cov_type {cov_type!r}")
