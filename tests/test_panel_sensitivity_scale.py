"""The E-value of a panel design is computed on the scale the design compares (issue 9, part 4).

did, event_study, staggered_did and panel_matching remove unit and period effects,
so the effect is standardised by the residual SD of the untreated outcome after
those effects (sensitivity.panel_outcome_scale), not by the SD pooled over all
unit-periods, which large unit effects dominate; a 0/1 outcome's baseline risk is
the comparison's rate after treatment starts, not a rate that mixes in earlier
periods. Every expected number below is computed by hand from statsmodels' OLS
with unit and period dummies and the E-value formula of VanderWeele & Ding (2017).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import cqox_core as cq
from cqox_core import registry
from cqox_core.datasets import designs

UNIT_SD = 10.0       # unit effects: they dominate the pooled SD (about 10) but not the within SD (1)
NOISE_SD = 1.0


def e_value(rr: float) -> float:
    """VanderWeele & Ding (2017): RR + sqrt(RR (RR - 1)), with RR -> 1/RR below 1."""
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def within_sd_by_hand(frame: pd.DataFrame, y: str = "y", d: str = "d") -> float:
    """Root mean squared error of OLS y ~ unit dummies + period dummies on the untreated unit-periods."""
    fit = smf.ols(f"{y} ~ C(unit) + C(time)", data=frame.loc[frame[d] == 0]).fit()
    return float(np.sqrt(fit.mse_resid))


def expected_smd_e_values(result, sd: float) -> tuple[float, float]:
    point = e_value(math.exp(0.91 * result.estimate / sd))
    nearest = result.ci_lower if result.ci_lower > 0 else result.ci_upper
    interval = 1.0 if result.ci_lower <= 0 <= result.ci_upper else e_value(math.exp(0.91 * nearest / sd))
    return point, interval


def with_large_unit_effects(frame: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    out = frame.copy()
    codes, _ = pd.factorize(out["unit"])
    out["y"] = out["y"] + UNIT_SD * np.random.default_rng(seed).normal(size=codes.max() + 1)[codes]
    return out


def single_adoption_panel(n_units: int = 150, n_periods: int = 8, effect: float = 0.8, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(1, n_periods + 1), n_units)
    treated = rng.random(n_units) < 0.5
    d = (treated[unit] & (time >= 5)).astype(int)
    y = (UNIT_SD * rng.normal(size=n_units)[unit] + rng.normal(size=n_periods)[time - 1] + 0.2 * time
         + effect * d + NOISE_SD * rng.normal(size=unit.size))
    return pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y})


def test_did_e_value_uses_the_within_sd_not_the_pooled_sd():
    frame = single_adoption_panel()
    result = cq.estimate("did", frame, outcome="y", treatment="d", unit="unit", time="time")
    sd = within_sd_by_hand(frame)
    # the scale the design compares is the noise SD (1) of the simulation: 4 SEs of an SD estimated
    # on ~900 residual degrees of freedom (SE ~ 1/sqrt(2 dof) = 0.024)
    assert sd == pytest.approx(NOISE_SD, abs=0.1)
    point, interval = expected_smd_e_values(result, sd)
    sens = result.sensitivity
    assert sens["e_value"] == pytest.approx(point, rel=1e-10)       # same numbers, two routes: rounding only
    assert sens["e_value_ci"] == pytest.approx(interval, rel=1e-10)
    assert sens["e_value_rr"] == pytest.approx(math.exp(0.91 * result.estimate / sd), rel=1e-10)
    assert "within scale" in sens["e_value_conversion"]
    # the old scale, SD(Y) pooled over unit-periods (~10 here), made a clear effect of 0.8 SD look fragile
    pooled = e_value(math.exp(0.91 * result.estimate / frame["y"].std()))
    assert pooled < 1.4 < 3.0 < sens["e_value"]


@pytest.mark.parametrize("method", [m.id for m in registry.methods()
                                    if m.design == "panel" and m.e_value and m.example is not None])
def test_every_panel_design_in_the_registry_uses_the_within_scale(method):
    """The design is read from the registry (design == "panel"), so each panel method is covered."""
    example = registry.get(method).example(0)
    frame = with_large_unit_effects(example.frame)
    result = cq.estimate(method, frame, **example.kwargs())
    sd = within_sd_by_hand(frame)
    point, interval = expected_smd_e_values(result, sd)
    assert result.sensitivity["e_value"] == pytest.approx(point, rel=1e-10)
    assert result.sensitivity["e_value_ci"] == pytest.approx(interval, rel=1e-10)
    assert sd == pytest.approx(NOISE_SD, abs=0.15)   # 435-460 untreated unit-periods, ~370 dof: 4 SEs ~ 0.15


def test_bootstrap_of_a_panel_design_uses_the_design_scale():
    frame = with_large_unit_effects(designs.simulate_single_adoption(600, 0))
    result = cq.estimate("bootstrap", frame, outcome="y", treatment="d", unit="unit", time="time", of="did",
                         estimand="att", n_boot=20)
    point, _ = expected_smd_e_values(result, within_sd_by_hand(frame))
    assert result.sensitivity["e_value"] == pytest.approx(point, rel=1e-10)


def test_binary_outcome_baseline_is_the_comparison_post_period_rate():
    """A rising 0/1 outcome: the untreated rate before adoption (0.10-0.34) is not the counterfactual of the
    treated periods (0.40-0.52); p0 is the comparison units' rate from the adoption period on."""
    rng = np.random.default_rng(5)
    n_units, n_periods, start = 800, 6, 4
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(1, n_periods + 1), n_units)
    treated = rng.random(n_units) < 0.5
    d = (treated[unit] & (time >= start)).astype(int)
    risk = 0.10 + 0.06 * (time - 1) + 0.05 * rng.random(n_units)[unit] + 0.10 * d
    frame = pd.DataFrame({"unit": unit, "time": time, "d": d, "y": (rng.random(unit.size) < risk).astype(int)})
    result = cq.estimate("did", frame, outcome="y", treatment="d", unit="unit", time="time")
    comparison_post = frame.loc[(~treated[unit]) & (time >= start), "y"].mean()
    rr = (comparison_post + result.estimate) / comparison_post
    assert result.sensitivity["e_value_rr"] == pytest.approx(rr, rel=1e-12)
    assert result.sensitivity["e_value"] == pytest.approx(e_value(rr), rel=1e-12)
    assert "post-period rate" in result.sensitivity["e_value_conversion"]
    # the old baseline (every untreated row) is far lower here, so it overstated the risk ratio
    old = frame.loc[frame["d"] == 0, "y"].mean()
    assert old < comparison_post - 0.05 and (old + result.estimate) / old > rr


def test_staggered_binary_baseline_starts_at_the_first_adoption():
    """Staggered cohorts: the untreated unit-periods from the first adoption period on (never- and
    not-yet-treated units), which is what the design compares the treated periods with."""
    rng = np.random.default_rng(8)
    frame = designs.simulate_staggered(3_000, 1)
    frame["y"] = (rng.random(len(frame)) < 0.2 + 0.03 * frame["time"] + 0.1 * frame["d"]).astype(int)
    result = cq.estimate("staggered_did", frame, outcome="y", treatment="d", unit="unit", time="time")
    first = min(designs.STAGGERED_COHORTS[1:])
    p0 = frame.loc[(frame["d"] == 0) & (frame["time"] >= first), "y"].mean()
    assert result.sensitivity["e_value_rr"] == pytest.approx((p0 + result.estimate) / p0, rel=1e-12)


def test_cross_sectional_designs_keep_the_outcome_sd():
    example = registry.get("regression_adjustment").example(0)
    result = cq.estimate("regression_adjustment", example.frame, **example.kwargs())
    sd = example.frame["outcome"].std()
    assert result.sensitivity["e_value"] == pytest.approx(e_value(math.exp(0.91 * result.estimate / sd)),
                                                          rel=1e-10)
