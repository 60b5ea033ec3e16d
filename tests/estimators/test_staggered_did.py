"""staggered_did (Callaway & Sant'Anna 2021): recovery where TWFE fails, agreement with published and
peer numbers on the minimum-wage data (mpdta), bootstrap determinism and bands, typed errors.

Reference values and their sources
----------------------------------
PUBLISHED: the R `did` package README (github.com/bcallaway11/did, README.md, devel version 2.5.0;
read through the search tool), att_gt(yname="lemp", gname="first.treat", idname="countyreal",
tname="year", xformla=~1, data=mpdta, est_method="reg") with the never-treated comparison group.
Without covariates "reg", "ipw" and "dr" are the same number, so these are also the "dr" values.
Printed to 4 decimals, so the tolerance is 5e-5 (half a unit in the last printed digit). The
overall simple ATT -0.0400 is the value quoted for the did vignette; its text could not be found
through the search tool, so it is checked against the peer to 1e-6 instead and against -0.0400 to
the printed precision.

PEER: moderndid 0.2.0 (PyPI; a Python port of the R `did` package by its community), which also
ships mpdta (moderndid.load_mpdta). Values were produced with

    import moderndid as md
    r = md.att_gt(md.load_mpdta(), yname="lemp", tname="year", idname="countyreal",
                  gname="first.treat", xformla=XF, est_method=EST, control_group=CTRL,
                  base_period=BP, boot=False, cband=False)
    md.aggte(r, type=TYPE, boot=False, cband=False)      # TYPE in simple, dynamic, group, calendar

and are compared at 1e-6: both implement the same closed-form estimators and analytic influence
function SEs; the only numerical difference is the logit solver (ours carries a 1e-8 ridge), which
moves the covariate-adjusted numbers by about 1e-9.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core.errors import EstimationError, MethodError

# ---------------------------------------------------------------------------
# Published values (R did README, mpdta, unconditional, never treated)
# ---------------------------------------------------------------------------
README_ATT_GT = {
    (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
    (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
    (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
}
README_DYNAMIC = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
README_DYNAMIC_OVERALL = -0.0772
README_GROUP = {"2004": -0.0797, "2006": -0.0229, "2007": -0.0261}
README_GROUP_OVERALL = -0.031
#: "P-value for pre-test of parallel trends assumption: 0.16812" (cell-level Wald test, analytic V)
README_PRETEST_P = 0.16812
VIGNETTE_SIMPLE = -0.0400

# ---------------------------------------------------------------------------
# Peer values (moderndid 0.2.0), analytic SEs
# ---------------------------------------------------------------------------
PEER_UNCONDITIONAL = {
    "simple": (-0.0399512752, 0.0120340128),
    "dynamic": (-0.0772398215, 0.0199649891), "group": (-0.0310182822, 0.0124460593),
    "calendar": (-0.0417004321, 0.0159718519),
    "calendar_by": {"2004": (-0.0105032462, 0.0232510364), "2005": (-0.0704231581, 0.0309847668),
                    "2006": (-0.0488159843, 0.0201258613), "2007": (-0.0370593399, 0.0137470791)},
    "event_se": {-3: 0.0150335603, -2: 0.0132916447, -1: 0.0142364022, 0: 0.0118263641, 1: 0.0168934763,
                 2: 0.0364356643, 3: 0.0343592258},
}
PEER_LPOP_DR = {
    "att_gt": {(2004, 2004): (-0.0145296683, 0.0221291572), (2004, 2005): (-0.0764218817, 0.0286713142),
               (2004, 2006): (-0.1404483368, 0.0353781547), (2004, 2007): (-0.1069038981, 0.032886493),
               (2006, 2004): (-0.0004721461, 0.022223437), (2006, 2005): (-0.0062025246, 0.0184957019),
               (2006, 2006): (0.0009605737, 0.0194001954), (2006, 2007): (-0.0412938656, 0.0197211441),
               (2007, 2004): (0.0267277962, 0.0140656608), (2007, 2005): (-0.0045765708, 0.0157177631),
               (2007, 2006): (-0.0284474872, 0.0181808812), (2007, 2007): (-0.028781361, 0.016238953)},
    "simple": (-0.0417517721, 0.0115028382),
    "dynamic": {-3: (0.0267277962, 0.0140656608), -2: (-0.0036164714, 0.0129283311),
                -1: (-0.0232439872, 0.0144851302), 0: (-0.0210603598, 0.0114942117),
                1: (-0.0530032043, 0.0163464516), 2: (-0.1404483368, 0.0353781547),
                3: (-0.1069038981, 0.032886493)},
    "group": {"2004": (-0.0845759462, 0.0245648746), "2006": (-0.0201666459, 0.017469625),
              "2007": (-0.028781361, 0.016238953)},
    "group_overall": (-0.0328195972, 0.0118981787),
}
PEER_LPOP_OTHER = {  # est_method: (simple ATT, SE, ATT(2006,2006), ATT(2007,2004))
    "ipw": (-0.0417770822, 0.0114997194, 0.0012080452, 0.0265561036),
    "reg": (-0.0419686124, 0.0114448298, 0.000765525, 0.0263658317),
}
PEER_NOT_YET_UNIVERSAL_LPOP_DR = {
    "att_gt": {(2004, 2004): -0.0211830535, (2004, 2005): -0.0816031859, (2006, 2003): 0.0120186131,
               (2006, 2004): 0.004563377, (2006, 2006): 0.0086606999, (2007, 2003): 0.0062962618,
               (2007, 2005): 0.0284474872, (2004, 2003): 0.0, (2007, 2006): 0.0},
    "simple": (-0.0413516293, 0.0114278391),
    "dynamic": {-4: 0.0062962618, -3: 0.0281105036, -2: 0.0228605608, -1: 0.0, 0: -0.0201444574,
                1: -0.0547303057, 2: -0.1381918226, 3: -0.1069038981},
}
PEER_TOL = 1e-6
PRINTED_TOL = 5e-5


# ---------------------------------------------------------------------------
# Simulated staggered panel with heterogeneous, dynamic effects
# ---------------------------------------------------------------------------
#: cohort (first treated period): (effect on impact, growth per period of exposure)
COHORT_EFFECTS = {3: (1.0, 0.5), 5: (0.5, 0.3), 7: (0.2, 0.1)}


def simulate_staggered(seed: int, n_units: int = 600, n_periods: int = 8, noise: float = 0.5,
                       pre_trend: float = 0.0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Y(0) = unit effect (higher for later cohorts) + common period effect + noise; parallel trends hold
    unless ``pre_trend`` adds a linear trend to cohort 7. Unit-level effect heterogeneity (sd 0.5) on top
    of the cohort's dynamic path. Returns the long frame, cohorts and the unit x period effect matrix."""
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 3, 5, 7], size=n_units)
    t = np.arange(1, n_periods + 1)
    y0 = (rng.normal(loc=0.5 * cohort / 7, scale=1.0)[:, None] + 0.3 * t + 0.2 * np.sin(t)
          + rng.normal(scale=noise, size=(n_units, n_periods)))
    y0 += pre_trend * (cohort == 7)[:, None] * t
    unit_het = rng.normal(scale=0.5, size=n_units)
    effect = np.zeros((n_units, n_periods))
    for g, (impact, growth) in COHORT_EFFECTS.items():
        exposure = t - g
        path = np.where(exposure >= 0, impact + growth * np.maximum(exposure, 0), 0.0)
        effect[cohort == g] = path + np.where(exposure >= 0, unit_het[cohort == g, None], 0.0)
    treated = (cohort[:, None] > 0) & (t[None, :] >= cohort[:, None])
    frame = pd.DataFrame({"unit": np.repeat(np.arange(n_units), n_periods), "year": np.tile(t, n_units),
                          "y": (y0 + effect * treated).ravel(), "treated": treated.ravel().astype(int),
                          "cohort": np.repeat(cohort, n_periods)})
    return frame, cohort, effect


def true_effects(cohort: np.ndarray, effect: np.ndarray) -> tuple[float, dict[int, float]]:
    """Exact sample ATT(g,t) from the potential outcomes, aggregated as the estimator does: simple =
    group-size weighted mean over post cells; event time e = group-size weighted mean over cohorts."""
    n_periods = effect.shape[1]
    cells = {(g, t): effect[cohort == g, t - 1].mean()
             for g in COHORT_EFFECTS for t in range(g, n_periods + 1)}
    share = {g: np.mean(cohort == g) for g in COHORT_EFFECTS}
    simple = sum(share[g] * v for (g, _), v in cells.items()) / sum(share[g] for g, _ in cells)
    dynamic = {}
    for e in range(n_periods):
        keys = [k for k in cells if k[1] - k[0] == e]
        if keys:
            dynamic[e] = sum(share[g] * cells[(g, t)] for g, t in keys) / sum(share[g] for g, _ in keys)
    return simple, dynamic


def twfe_coefficient(frame: pd.DataFrame) -> float:
    """Plain two-way within estimator (balanced panel: double demeaning is exact)."""
    def within(v: pd.Series) -> np.ndarray:
        return (v - v.groupby(frame["unit"]).transform("mean") - v.groupby(frame["year"]).transform("mean")
                + v.mean()).to_numpy()
    y, d = within(frame["y"]), within(frame["treated"].astype(float))
    return float(d @ y / (d @ d))


def run(frame: pd.DataFrame, **params) -> cq.EffectResult:
    return cq.estimate("staggered_did", frame, outcome="y", treatment="treated", unit="unit", time="year",
                       **params)


def by_label(res) -> dict:
    return {b.label: b for b in res.by}


@pytest.fixture(scope="module")
def simulated():
    return simulate_staggered(seed=11)


@pytest.fixture(scope="module")
def simulated_result(simulated):
    return run(simulated[0], seed=3)


def test_recovers_simple_att_where_twfe_is_biased(simulated, simulated_result):
    # Tolerance 0.15: over 100 simulated panels from this design the CS simple ATT missed the exact
    # sample ATT with sd 0.040 (max 0.10), so 0.15 is ~3.7 sd. TWFE is biased by about -0.82 here
    # (never less than 0.72 in absolute value over the same 100 panels) because already-treated
    # cohorts with growing effects serve as its comparisons (Goodman-Bacon 2021).
    frame, cohort, effect = simulated
    truth, _ = true_effects(cohort, effect)
    assert abs(simulated_result.estimate - truth) < 0.15
    assert abs(twfe_coefficient(frame) - truth) > 0.5
    assert simulated_result.ci_lower < truth < simulated_result.ci_upper


def test_event_time_path_recovers_dynamics_and_flat_pre_periods(simulated, simulated_result):
    # Each event time is checked within 4 of its own bootstrap SEs (over 13 event times the chance that
    # a correct estimator fails any of them is below 0.1%); the path itself rises from ~0.6 to ~3.5.
    _, cohort, effect = simulated
    _, dynamic = true_effects(cohort, effect)
    cells = by_label(simulated_result)
    for e, value in dynamic.items():
        sub = cells[f"e={e}"]
        assert sub.extra["kind"] == "event_time"
        assert abs(sub.estimate - value) < 4 * sub.std_error, (e, sub.estimate, value)
    pre = [b for b in simulated_result.by if b.extra["kind"] == "event_time" and b.extra["event_time"] < 0]
    assert len(pre) == 5
    for sub in pre:
        assert abs(sub.estimate) < 4 * sub.std_error
    assert dynamic[5] - dynamic[0] > 2.5   # the path is far from flat, so a level-only fit would miss it


def test_pre_trend_test_detects_a_violation():
    # With a linear pre-trend of 0.3 per period for cohort 7 the pre-trend test must reject (cohort 7's
    # mean pre-period change, one of the sup-t test's estimates, has |t| about 12);
    # without it (the fixture) it must not reject at 1%.
    frame, _, _ = simulate_staggered(seed=5, n_units=400, pre_trend=0.3)
    res = run(frame, n_boot=0)
    assert res.diagnostics["pre_trends_p"] < 1e-6
    assert {g.name: g.status for g in res.gates}["pre_trends"] == "fail"


def test_no_pretrend_passes_gate(simulated_result):
    assert simulated_result.diagnostics["pre_trends_p"] > 0.01
    assert "pre_trends" in {g.name for g in simulated_result.gates}


def test_without_covariates_all_methods_equal_the_2x2_difference_of_means(simulated):
    # Exact algebraic identity (tolerance 1e-10, floating-point only): with no covariates the propensity
    # is the constant treated share and the outcome model is the comparison mean, so reg = ipw = dr =
    # mean change of cohort g minus mean change of the comparison group, in every cell.
    frame = simulated[0]
    wide = frame.pivot(index="unit", columns="year", values="y")
    cohort = frame.groupby("unit")["cohort"].first().to_numpy()
    for control in ("never_treated", "not_yet_treated"):
        results = {m: by_label(run(frame, est_method=m, control_group=control, n_boot=0))
                   for m in ("dr", "ipw", "reg")}
        for g, t, base in [(3, 4, 2), (5, 3, 2), (5, 8, 4), (7, 6, 5), (7, 7, 6), (3, 2, 1)]:
            change = wide[t] - wide[base]
            comparison = (cohort == 0) if control == "never_treated" else \
                (cohort == 0) | ((cohort > max(t, base)) & (cohort != g))
            expected = change[cohort == g].mean() - change[comparison].mean()
            for m in ("dr", "ipw", "reg"):
                assert results[m][f"g={g},t={t}"].estimate == pytest.approx(expected, abs=1e-10), (control, m)


def test_covariates_recover_the_effect_under_conditional_parallel_trends():
    # x raises the chance of adopting in period 3 and the outcome trend, so parallel trends hold only
    # given x. Unconditional CS is biased by about 0.35 * E[x | treated] - E[x | never] ~ 0.3; dr, ipw and
    # reg with x recover the constant effect 1.0. Tolerance 0.12: the covariate-adjusted SE is ~0.03.
    rng = np.random.default_rng(2)
    n, periods = 1500, 4
    x = rng.normal(size=n)
    cohort = np.where(rng.random(n) < 1 / (1 + np.exp(-(x - 0.3))), 3, 0)
    t = np.arange(1, periods + 1)
    y0 = rng.normal(size=n)[:, None] + 0.2 * t + 0.35 * x[:, None] * t + rng.normal(scale=0.5, size=(n, periods))
    treated = (cohort[:, None] > 0) & (t >= cohort[:, None])
    frame = pd.DataFrame({"unit": np.repeat(np.arange(n), periods), "year": np.tile(t, n),
                          "y": (y0 + 1.0 * treated).ravel(), "treated": treated.ravel().astype(int),
                          "x": np.repeat(x, periods)})
    naive = run(frame, n_boot=0)
    assert abs(naive.estimate - 1.0) > 0.25
    for method in ("dr", "ipw", "reg"):
        res = run(frame, covariates=["x"], est_method=method, n_boot=0)
        assert abs(res.estimate - 1.0) < 0.12, method
        assert res.diagnostics["covariates_used"] == ["x"]


# ---------------------------------------------------------------------------
# mpdta: published and peer numbers
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    moderndid = pytest.importorskip("moderndid", reason="mpdta ships inside moderndid (test-only dependency)")
    frame = moderndid.load_mpdta().to_pandas()
    frame["minimum_wage_raised"] = ((frame["first.treat"] > 0)
                                    & (frame["year"] >= frame["first.treat"])).astype(int)
    return frame


def run_mpdta(frame: pd.DataFrame, **params) -> cq.EffectResult:
    return cq.estimate("staggered_did", frame, outcome="lemp", treatment="minimum_wage_raised",
                       unit="countyreal", time="year", **params)


@pytest.fixture(scope="module")
def mpdta_result(mpdta):
    return run_mpdta(mpdta, seed=0)


def test_mpdta_matches_published_did_numbers(mpdta_result):
    cells = by_label(mpdta_result)
    for (g, t), value in README_ATT_GT.items():
        assert cells[f"g={g},t={t}"].estimate == pytest.approx(value, abs=PRINTED_TOL)
    for e, value in README_DYNAMIC.items():
        assert cells[f"e={e}"].estimate == pytest.approx(value, abs=PRINTED_TOL)
    d = mpdta_result.diagnostics
    assert d["dynamic_overall"]["estimate"] == pytest.approx(README_DYNAMIC_OVERALL, abs=PRINTED_TOL)
    assert {r["label"]: r["estimate"] for r in d["group"]} == pytest.approx(README_GROUP, abs=PRINTED_TOL)
    assert d["group_overall"]["estimate"] == pytest.approx(README_GROUP_OVERALL, abs=5e-4)  # printed "-0.031"
    assert round(d["pre_trends_gt_p"], 5) == README_PRETEST_P
    assert mpdta_result.estimate == pytest.approx(VIGNETTE_SIMPLE, abs=PRINTED_TOL)
    assert d["cohort_sizes"] == {"2004": 20, "2006": 40, "2007": 131} and d["n_never_treated"] == 309


def test_mpdta_matches_peer_including_analytic_ses(mpdta_result):
    d = mpdta_result.diagnostics
    assert (mpdta_result.estimate, d["std_error_analytic"]) == pytest.approx(PEER_UNCONDITIONAL["simple"],
                                                                             abs=PEER_TOL)
    for name in ("dynamic", "group", "calendar"):
        overall = d[f"{name}_overall"]
        assert (overall["estimate"], overall["std_error_analytic"]) == pytest.approx(PEER_UNCONDITIONAL[name],
                                                                                     abs=PEER_TOL)
    calendar = {r["label"]: (r["estimate"], r["std_error_analytic"]) for r in d["calendar"]}
    for label, ref in PEER_UNCONDITIONAL["calendar_by"].items():
        assert calendar[label] == pytest.approx(ref, abs=PEER_TOL)
    cells = by_label(mpdta_result)
    for e, se in PEER_UNCONDITIONAL["event_se"].items():
        assert cells[f"e={e}"].extra["std_error_analytic"] == pytest.approx(se, abs=PEER_TOL)


def test_mpdta_with_covariates_matches_peer_dr(mpdta):
    res = run_mpdta(mpdta, covariates=["lpop"], n_boot=0)
    cells = by_label(res)
    for (g, t), ref in PEER_LPOP_DR["att_gt"].items():
        sub = cells[f"g={g},t={t}"]
        assert (sub.estimate, sub.std_error) == pytest.approx(ref, abs=PEER_TOL)
    assert (res.estimate, res.std_error) == pytest.approx(PEER_LPOP_DR["simple"], abs=PEER_TOL)
    for e, ref in PEER_LPOP_DR["dynamic"].items():
        assert (cells[f"e={e}"].estimate, cells[f"e={e}"].std_error) == pytest.approx(ref, abs=PEER_TOL)
    group = {r["label"]: (r["estimate"], r["std_error"]) for r in res.diagnostics["group"]}
    assert group.keys() == PEER_LPOP_DR["group"].keys()
    for label, ref in PEER_LPOP_DR["group"].items():
        assert group[label] == pytest.approx(ref, abs=PEER_TOL)
    overall = res.diagnostics["group_overall"]
    assert (overall["estimate"], overall["std_error"]) == pytest.approx(PEER_LPOP_DR["group_overall"],
                                                                        abs=PEER_TOL)


@pytest.mark.parametrize("method", ["ipw", "reg"])
def test_mpdta_with_covariates_matches_peer_ipw_and_reg(mpdta, method):
    res = run_mpdta(mpdta, covariates=["lpop"], est_method=method, n_boot=0)
    cells = by_label(res)
    simple, se, att_2006, att_2007_pre = PEER_LPOP_OTHER[method]
    assert (res.estimate, res.std_error) == pytest.approx((simple, se), abs=PEER_TOL)
    assert cells["g=2006,t=2006"].estimate == pytest.approx(att_2006, abs=PEER_TOL)
    assert cells["g=2007,t=2004"].estimate == pytest.approx(att_2007_pre, abs=PEER_TOL)


def test_mpdta_not_yet_treated_universal_base_matches_peer(mpdta):
    res = run_mpdta(mpdta, covariates=["lpop"], control_group="not_yet_treated", base_period="universal",
                    n_boot=0)
    cells = by_label(res)
    ref = PEER_NOT_YET_UNIVERSAL_LPOP_DR
    for (g, t), value in ref["att_gt"].items():
        assert cells[f"g={g},t={t}"].estimate == pytest.approx(value, abs=PEER_TOL)
    assert (res.estimate, res.std_error) == pytest.approx(ref["simple"], abs=PEER_TOL)
    for e, value in ref["dynamic"].items():
        assert cells[f"e={e}"].estimate == pytest.approx(value, abs=PEER_TOL)
    reference = cells["g=2006,t=2005"]
    assert reference.extra["reference"] and reference.estimate == 0.0 and math.isnan(reference.std_error)
    assert res.diagnostics["control_group"] == "not_yet_treated"


# ---------------------------------------------------------------------------
# Bootstrap: determinism, uniform bands, agreement with the analytic SEs
# ---------------------------------------------------------------------------

def test_bootstrap_is_seeded_and_uniform_band_is_wider(mpdta, mpdta_result):
    again = run_mpdta(mpdta, seed=0)
    assert again.to_dict() == mpdta_result.to_dict()
    other = run_mpdta(mpdta, seed=1)
    assert other.std_error != mpdta_result.std_error and other.estimate == mpdta_result.estimate
    d = mpdta_result.diagnostics
    assert d["uniform_critical_value_event_time"] > 1.96 and d["uniform_critical_value_group_time"] > 1.96
    for sub in mpdta_result.by:
        assert sub.extra["uniform_lower"] < sub.ci_lower < sub.estimate < sub.ci_upper < sub.extra["uniform_upper"]


def test_bootstrap_se_close_to_analytic(mpdta_result):
    # The IQR-based bootstrap SE from 999 draws has a relative Monte Carlo sd of about 4%; 15% is ~4 sd.
    assert mpdta_result.std_error == pytest.approx(mpdta_result.diagnostics["std_error_analytic"], rel=0.15)
    for sub in mpdta_result.by:
        assert sub.std_error == pytest.approx(sub.extra["std_error_analytic"], rel=0.15), sub.label
    assert "bootstrap" in mpdta_result.se_method


def test_rademacher_weights_and_labels(simulated):
    res = run(simulated[0], bootstrap_weights="rademacher", n_boot=199, seed=4)
    kinds = {b.extra["kind"] for b in res.by}
    assert kinds == {"group_time", "event_time"}
    labels = [b.label for b in res.by]
    assert "g=3,t=8" in labels and "e=-2" in labels and "e=0" in labels
    assert res.diagnostics["bootstrap_weights"] == "rademacher"
    assert math.isfinite(res.std_error) and res.std_error > 0


# ---------------------------------------------------------------------------
# Inputs: cohort role, bad input, typed errors
# ---------------------------------------------------------------------------

def test_cohort_role_gives_the_same_answer(simulated, simulated_result):
    res = run(simulated[0], cohort="cohort", seed=3)
    assert res.estimate == pytest.approx(simulated_result.estimate, abs=1e-12)


def test_no_never_treated_units_is_a_typed_error(simulated):
    frame = simulated[0]
    frame = frame[frame["cohort"] > 0]
    with pytest.raises(EstimationError) as info:
        run(frame, n_boot=0)
    assert info.value.code == "E-EST-024" and "not_yet_treated" in info.value.hint
    res = run(frame, control_group="not_yet_treated", n_boot=0)
    assert math.isfinite(res.estimate)
    assert any("no comparison units" in w for w in res.warnings)   # the last cohort has nobody left


def test_all_treated_in_first_period_is_a_typed_error(simulated):
    frame = simulated[0].copy()
    frame["treated"] = ((frame["cohort"] > 0)).astype(int)
    with pytest.raises(EstimationError) as info:
        run(frame, n_boot=0)
    assert info.value.code == "E-EST-022" and info.value.hint


def test_units_treated_in_first_period_are_dropped_with_a_warning(simulated):
    frame = simulated[0].copy()
    early = frame["unit"].isin([0, 1, 2, 3, 4])
    frame.loc[early, "treated"] = 1
    res = run(frame, n_boot=0)
    assert res.diagnostics["dropped_units_treated_first_period"] == 5
    assert any("already treated in the first period" in w for w in res.warnings)


def test_unbalanced_panel_drops_incomplete_units(simulated):
    frame = simulated[0]
    frame = frame.drop(frame.index[(frame["unit"] < 7) & (frame["year"] == 4)])
    res = run(frame, n_boot=0)
    assert res.diagnostics["dropped_units_unbalanced"] == 7
    assert res.diagnostics["n_units"] == 600 - 7
    assert any("balanced panel" in w for w in res.warnings)


def test_single_unit_cohort_warns(simulated):
    frame = simulated[0].copy()
    frame.loc[(frame["unit"] == 0), "treated"] = (frame.loc[frame["unit"] == 0, "year"] >= 6).astype(int)
    frame.loc[(frame["unit"] == 0), "cohort"] = 6
    res = run(frame, n_boot=0)
    assert res.diagnostics["cohort_sizes"]["6"] == 1
    assert any("single unit" in w for w in res.warnings)


@pytest.mark.parametrize("params", [{"control_group": "everyone"}, {"base_period": "fixed"},
                                    {"est_method": "ols"}, {"n_boot": 10}, {"bootstrap_weights": "normal"}])
def test_bad_parameters_are_typed_errors(simulated, params):
    with pytest.raises(MethodError) as info:
        run(simulated[0], **params)
    assert info.value.code == "E-METHOD-005" and info.value.hint


def test_comparison_units_with_extreme_propensity_get_zero_weight():
    # Five never-treated units sit far outside the treated cohort's covariate range (x = 4 where the
    # adoption odds rise steeply in x); DRDID's rule gives comparison units with p >= 0.995 weight 0.
    # They enter the two post-treatment cells (t = 2, 3), so 10 comparison-unit uses are trimmed.
    rng = np.random.default_rng(0)
    n, periods = 600, 3
    x = rng.normal(size=n)
    cohort = np.where(rng.random(n) < 1 / (1 + np.exp(-3 * x)), 2, 0)
    x[:5], cohort[:5] = 4.0, 0
    t = np.arange(1, periods + 1)
    treated = (cohort[:, None] > 0) & (t >= cohort[:, None])
    frame = pd.DataFrame({"unit": np.repeat(np.arange(n), periods), "year": np.tile(t, n),
                          "y": (rng.normal(size=(n, periods)) + 0.5 * treated).ravel(),
                          "treated": treated.ravel().astype(int), "x": np.repeat(x, periods)})
    res = run(frame, covariates=["x"], n_boot=0)
    assert res.diagnostics["propensity_trimmed"] == 10
    assert any("weight 0" in w for w in res.warnings)
    # adoption in the second period leaves no pre-treatment cell, so there is no pre-trend test to report
    assert "pre_trends_p" not in res.diagnostics
