"""The demo datasets: reproducible from the committed script, documented, and
with a true effect that a correctly specified method recovers and the naive
comparison misses."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
DATASETS = ("marketing", "healthcare")


def load_script():
    spec = importlib.util.spec_from_file_location("make_demo_data", ROOT / "scripts" / "make_demo_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_script()


def frame(name: str) -> pd.DataFrame:
    return pd.read_csv(ASSETS / demo.TRUTH[name]["file"])


def treated(name: str, df: pd.DataFrame) -> np.ndarray:
    col = df[demo.ROLES[name]["treatment"]]
    return (col.isin(["yes", 1])).to_numpy()


def test_the_script_reproduces_the_committed_files_byte_for_byte(tmp_path):
    written = demo.write_demo_data(tmp_path)  # also checks the simulation against TRUTH
    for name in DATASETS:
        committed = ASSETS / demo.TRUTH[name]["file"]
        assert written[name].read_bytes() == committed.read_bytes(), f"{committed.name} is stale: run make demo-data"


@pytest.mark.parametrize("name", DATASETS)
def test_files_have_the_documented_shape(name):
    df = frame(name)
    truth = demo.TRUTH[name]
    assert list(df.columns) == demo.COLUMNS[name]
    assert len(df) == truth["n"] and int(treated(name, df).sum()) == truth["n_treated"]
    assert (ASSETS / truth["file"]).stat().st_size < 500_000
    assert not df.isna().any().any()
    doc = (ASSETS / "DEMO_DATA.md").read_text()
    for column in df.columns:
        assert f"`{column}`" in doc, f"column {column} is not documented"
    roles = demo.ROLES[name]
    assert {roles["outcome"], roles["treatment"], *roles["covariates"]} <= set(df.columns)
    assert not set(demo.LEAKAGE_COLUMNS[name]) & set(roles["covariates"])


@pytest.mark.parametrize("name", DATASETS)
def test_documented_truths_match_the_script(name):
    doc = (ASSETS / "DEMO_DATA.md").read_text()
    for key in ("ate_population", "att_population", "ate_sample", "att_sample"):
        assert repr(abs(demo.TRUTH[name][key])) in doc, f"{name} {key} is not in DEMO_DATA.md"


def test_the_leakage_trap_is_the_untreated_potential_outcome():
    """For customers without a coupon the trap equals the outcome; for the others the
    difference is their individual effect, whose mean is the documented sample ATT."""
    df = frame("marketing")
    t = treated("marketing", df)
    gap = df.spend_next_30d - df.spend_next_30d_if_no_coupon
    assert (gap[~t] == 0).all()
    assert gap[t].mean() == pytest.approx(demo.TRUTH["marketing"]["att_sample"], abs=5e-7)
    assert (gap[t] >= 7.15).all()  # the effect is at least 12.50 - 6.0 * 0.35 - 0.8 * 4.05 = 7.16


@pytest.mark.parametrize("name", DATASETS)
def test_regression_adjustment_recovers_the_truth_and_the_naive_difference_does_not(name):
    """Both designs make each potential outcome's mean linear in the columns, so Lin's
    interacted regression is correctly specified and unbiased: 3 SE bounds its error with
    probability 0.997. The confounding bias of the naive difference is 15.4 (marketing)
    and 0.071 (healthcare), i.e. more than 4 SE, so it must miss."""
    df = frame(name)
    roles = {k: v for k, v in demo.ROLES[name].items() if k != "cluster"}
    truth = demo.TRUTH[name]
    res = cq.estimate("regression_adjustment", df, **roles)
    assert abs(res.estimate - truth["ate_sample"]) < 3 * res.std_error
    assert abs(res.estimate - truth["ate_population"]) < 3 * res.std_error
    y, t = df[roles["outcome"]].astype(float), treated(name, df)
    naive = y[t].mean() - y[~t].mean()
    assert abs(naive - truth["ate_sample"]) > 4 * res.std_error
    if name == "healthcare":
        assert naive > 0 > res.ci_upper  # the naive comparison even gets the sign wrong
    # the ATT differs from the ATE and is recovered too; Lin's ATT SE now includes the noise of the
    # treated covariate means, so the same 3 SE as the ATE holds
    att = cq.estimate("regression_adjustment", df, estimand="att", **roles)
    assert abs(att.estimate - truth["att_sample"]) < 3 * att.std_error
    assert abs(truth["att_population"] - truth["ate_population"]) > 0.15 * abs(truth["ate_population"])


def test_population_truths_hold_in_a_large_simulated_sample():
    """Independent of the closed forms: 400,000 fresh draws from each process. The sample
    means of the individual effects lie within 4 Monte Carlo SE of the stated population ATE
    and ATT (marketing: exact sum over the confounders; healthcare: a separate Monte Carlo)."""
    big, _ = demo.simulate_marketing(np.random.default_rng(99), n=400_000)
    effect = (big.spend_next_30d - big.spend_next_30d_if_no_coupon).to_numpy()
    t = big.received_coupon.eq("yes").to_numpy()
    # spend_next_30d is Y(1) for the treated only; for the rest Y(1) - Y(0) is the coupon effect formula
    tau = demo.coupon_effect(big.past_purchases.to_numpy(), big.loyalty_member.eq("yes").to_numpy().astype(float))
    assert np.allclose(effect[t], tau[t], atol=0.011)  # rounding to cents
    check_mean(tau, demo.TRUTH["marketing"]["ate_population"])
    check_mean(tau[t], demo.TRUTH["marketing"]["att_population"])
    rng = np.random.default_rng(98)
    x = demo.healthcare_covariates(rng, 400_000)
    enrolled = rng.binomial(1, demo.enrolment_propensity(x)) == 1
    reduction = -demo.risk_reduction(x["diabetes"])
    check_mean(reduction, demo.TRUTH["healthcare"]["ate_population"])
    check_mean(reduction[enrolled], demo.TRUTH["healthcare"]["att_population"])


def check_mean(values: np.ndarray, stated: float) -> None:
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - stated) < 4 * se + 1e-12, (values.mean(), stated, se)
