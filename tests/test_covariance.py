"""inference.covariance against statsmodels (a runtime dependency): HC0-HC3, CR1, Newey-West.

statsmodels computes each covariance its own way (its own leverage, group sums and
kernel loop), so agreement to 1e-10 relative checks the formulas, not a copy; the
tolerance only absorbs floating-point summation order.
"""
from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from cqox_core.inference import covariance, ols

RTOL = 1e-10  # summation order only: both sides are exact formulas


@pytest.fixture(scope="module")
def heteroskedastic():
    """Errors whose variance grows with x1, so HC0..HC3 and the classical formula all differ."""
    rng = np.random.default_rng(11)
    n = 300
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.exponential(size=n)])
    y = X @ [1.0, 2.0, -0.5] + rng.normal(size=n) * (0.5 + np.abs(X[:, 1]))
    fit = sm.OLS(y, X).fit()
    return X, y, fit


@pytest.mark.parametrize("kind", ["HC0", "HC1", "HC2", "HC3"])
def test_hc_matches_statsmodels(heteroskedastic, kind):
    X, y, fit = heteroskedastic
    xtx_inv = np.linalg.inv(X.T @ X)
    ours = covariance.hc(X, fit.resid, xtx_inv, kind)
    np.testing.assert_allclose(ours, getattr(fit, f"cov_{kind}"), rtol=RTOL)


def test_hc_kinds_differ(heteroskedastic):
    """A test that cannot fail is a defect: the kinds must give different numbers on this data."""
    X, y, fit = heteroskedastic
    xtx_inv = np.linalg.inv(X.T @ X)
    se = {k: np.sqrt(covariance.hc(X, fit.resid, xtx_inv, k)[1, 1]) for k in covariance.HC_KINDS}
    assert se["HC0"] < se["HC1"] and se["HC0"] < se["HC2"] < se["HC3"]


def test_cluster_robust_matches_statsmodels():
    """CR1 with the Stata factor G/(G-1)(N-1)/(N-K); errors share a cluster shock."""
    rng = np.random.default_rng(12)
    n, g = 400, 23
    cluster = rng.integers(0, g, size=n)
    X = np.column_stack([np.ones(n), rng.normal(size=n) + rng.normal(size=g)[cluster]])
    y = X @ [0.5, 1.0] + rng.normal(size=g)[cluster] + rng.normal(size=n)
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": cluster})
    xtx_inv = np.linalg.inv(X.T @ X)
    ours = covariance.cluster_robust(X, fit.resid, xtx_inv, cluster)
    np.testing.assert_allclose(ours, fit.cov_params(), rtol=RTOL)
    # labels that are not 0..G-1 codes give the same covariance
    labels = np.array([f"c{c:03d}" for c in cluster])
    np.testing.assert_allclose(covariance.cluster_robust(X, fit.resid, xtx_inv, labels), ours, rtol=1e-14)
    # CR0 is CR1 without its factor
    cr0 = covariance.cluster_robust(X, fit.resid, xtx_inv, cluster, small_sample=False)
    np.testing.assert_allclose(cr0 * covariance.cr1_factor(g, n, 2), ours, rtol=1e-14)
    # ols(cov_type="cluster") is the same covariance with t(G-1)
    via_ols = ols(X, y, cov_type="cluster", cluster=cluster)
    np.testing.assert_allclose(via_ols.cov, ours, rtol=RTOL)
    assert via_ols.df_resid == g - 1


def test_cr1_factor():
    assert covariance.cr1_factor(10, 100, 3) == pytest.approx(10 / 9 * 99 / 97, rel=1e-15)
    assert covariance.cr1_factor(10) == pytest.approx(10 / 9, rel=1e-15)      # clustered mean: G/(G-1) only
    assert covariance.cr1_factor(1, 5, 2) == pytest.approx(4 / 3)               # G = 1 guarded, not a division by 0


def test_newey_west_matches_statsmodels():
    """AR(1) errors; Bartlett kernel, L lags, small-sample factor n/(n-k) (use_correction=True)."""
    rng = np.random.default_rng(13)
    n = 200
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.6 * e[t - 1] + rng.normal()
    X = np.column_stack([np.ones(n), np.arange(n) / n, (np.arange(n) >= 100).astype(float)])
    y = X @ [1.0, 0.5, 2.0] + e
    lags = covariance.newey_west_maxlags(n)
    fit = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    ours = covariance.newey_west(X, fit.resid, lags)
    np.testing.assert_allclose(ours, fit.cov_params(), rtol=RTOL)
    raw = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False})
    np.testing.assert_allclose(covariance.newey_west(X, fit.resid, lags, small_sample=False), raw.cov_params(),
                               rtol=RTOL)
    # with positive autocorrelation the HAC SE of the level shift exceeds HC0's
    hc0 = covariance.hc(X, fit.resid, np.linalg.inv(X.T @ X), "HC0")
    assert ours[2, 2] > hc0[2, 2]


def test_cluster_codes_keeps_codes_and_recodes_labels():
    codes, g = covariance.cluster_codes(np.array([0, 2, 1, 2]))
    assert g == 3 and codes.tolist() == [0, 2, 1, 2]
    codes, g = covariance.cluster_codes(np.array([5, 9, 5]))            # not contiguous from 0: recoded
    assert g == 2 and codes.tolist() == [0, 1, 0]
