"""Proximal causal inference (``proximal``): recovery under an unmeasured confounder where OLS
(with or without the proxies as covariates) is biased; P2SLS is exactly linearmodels' IV2SLS with
the negative-control outcomes instrumented by the negative-control exposures; the naive second
stage's standard error is wrong and ours covers; typed errors on missing or misused negative
controls."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core.datasets.advanced import PROXIMAL_EFFECT, simulate_proximal
from cqox_core.errors import CQOxError, RoleError
from cqox_core.roles import Roles

linearmodels_iv = pytest.importorskip("linearmodels.iv")
REFERENCES = Path(__file__).parent / "references"
ROLES = {"outcome": "y", "treatment": "a", "covariates": ["x"]}
PROXIES = {"nce": "z", "nco": "w"}


def frame(n: int, seed: int, **kw) -> pd.DataFrame:
    return simulate_proximal(n, seed, **kw).drop(columns="u")


def iv2sls(df: pd.DataFrame, nce: list[str], nco: list[str], cov_type: str = "robust"):
    f = df.assign(const=1.0)
    return linearmodels_iv.IV2SLS(f["y"], f[["const", "a", "x"]], f[nco], f[nce]).fit(cov_type=cov_type,
                                                                                        debiased=True)


# ---------------------------------------------------------------------------
# recovery where OLS fails
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [True, False])
def test_recovers_the_effect_that_ols_misses(binary):
    df = frame(5_000, seed=1, binary_treatment=binary)
    res = cq.estimate("proximal", df, **ROLES, **PROXIES)
    d = res.diagnostics
    # 4 SE: a correct method misses by more with probability < 1e-4
    assert abs(res.estimate - PROXIMAL_EFFECT) < 4 * res.std_error
    # the unmeasured u biases OLS upwards; adjusting for the proxies as if they were confounders does not fix it
    assert d["ols_estimate"] - PROXIMAL_EFFECT > 8 * d["ols_std_error"]
    assert d["proxy_adjusted_ols_estimate"] - PROXIMAL_EFFECT > 5 * d["proxy_adjusted_ols_std_error"]
    # the bridge's slope on w is 1.5 / 0.9 (y and w load 1.5 and 0.9 on u)
    assert d["bridge_coefficients"]["w"] == pytest.approx(1.5 / 0.9, abs=0.3)
    assert res.estimand == "ate" and d["treatment_kind"] == ("binary" if binary else "continuous")


def test_truth_with_the_confounder_itself_is_what_p2sls_recovers():
    """Sanity check of the design: OLS that could see u gets the truth, as P2SLS does without it."""
    df = simulate_proximal(5_000, seed=2)
    oracle = cq.estimate("regression_adjustment", df, outcome="y", treatment="a", covariates=["x", "u"],
                         interacted=False)
    res = cq.estimate("proximal", df.drop(columns="u"), **ROLES, **PROXIES)
    assert abs(oracle.estimate - PROXIMAL_EFFECT) < 4 * oracle.std_error
    assert abs(res.estimate - oracle.estimate) < 4 * res.std_error


# ---------------------------------------------------------------------------
# P2SLS is IV2SLS of y on (a, w, x) with w instrumented by z
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("cov_type, lm_cov, key", [("HC1", "robust", "std_error_hc1"),
                                                   ("classical", "unadjusted", "std_error_classical")])
def test_equals_linearmodels_iv2sls(cov_type, lm_cov, key):
    ref = json.loads((REFERENCES / "proximal_linearmodels.json").read_text())["example"]
    example = cq.registry.get("proximal").example()
    res = cq.estimate("proximal", example.frame, **example.kwargs(), cov_type=cov_type)
    lm = iv2sls(example.frame, ["z"], ["w"], lm_cov)
    # exact equivalence: only rounding differs
    assert res.estimate == pytest.approx(lm.params["a"], rel=1e-10)
    assert res.std_error == pytest.approx(lm.std_errors["a"], rel=1e-9)
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-10)
    assert res.std_error == pytest.approx(ref[key], rel=1e-9)
    for name in ("w", "x", "const"):
        assert res.diagnostics["bridge_coefficients"][name] == pytest.approx(ref["bridge"][name], rel=1e-8)


def test_overidentified_bridge_equals_linearmodels():
    ref = json.loads((REFERENCES / "proximal_linearmodels.json").read_text())["overidentified"]
    df = simulate_proximal(3_000, 5, binary_treatment=False)
    df = df.assign(z2=0.5 * df["u"] + np.random.default_rng(55).normal(size=len(df))).drop(columns="u")
    res = cq.estimate("proximal", df, **ROLES, nce="z,z2", nco="w")
    lm = iv2sls(df, ["z", "z2"], ["w"])
    assert res.estimate == pytest.approx(lm.params["a"], rel=1e-10) == pytest.approx(ref["estimate"], rel=1e-10)
    assert res.std_error == pytest.approx(ref["std_error_hc1"], rel=1e-9)


def test_cluster_robust_matches_linearmodels_clustered():
    df = frame(2_000, seed=3).assign(g=np.repeat(np.arange(100), 20))
    res = cq.estimate("proximal", df, **ROLES, **PROXIES, cluster="g")
    f = df.assign(const=1.0)
    lm = linearmodels_iv.IV2SLS(f["y"], f[["const", "a", "x"]], f[["w"]], f[["z"]]).fit(
        cov_type="clustered", clusters=f["g"], debiased=True)
    assert res.estimate == pytest.approx(lm.params["a"], rel=1e-10)
    # linearmodels' debiased cluster factor is (G/(G-1))((n-1)/(n-p)), the same CR1 as ours
    assert res.std_error == pytest.approx(lm.std_errors["a"], rel=1e-6)


def test_the_naive_second_stage_standard_error_is_not_ours():
    """Regressing y on (a, w^, x) by OLS gives the same coefficient but a standard error built from the
    wrong residuals (they contain the first-stage error); ours uses y - h(w, a, x)."""
    df = frame(3_000, seed=4)
    res = cq.estimate("proximal", df, **ROLES, **PROXIES)
    stage1 = np.column_stack([np.ones(len(df)), df["a"], df["z"], df["x"]])
    w_hat = stage1 @ np.linalg.lstsq(stage1, df["w"], rcond=None)[0]
    naive = cq.estimate("regression_adjustment", df.assign(w_hat=w_hat), outcome="y", treatment="a",
                        covariates=["w_hat", "x"], interacted=False, cov_type="HC1")
    assert naive.estimate == pytest.approx(res.estimate, rel=1e-8)
    assert abs(naive.std_error / res.std_error - 1) > 0.05


@pytest.mark.slow
def test_interval_coverage():
    """95% intervals cover the truth in about 95% of 400 samples of 800 (binomial SD of the rate 1.1
    points: [0.92, 0.98] is about 3 SD); OLS's intervals almost never do."""
    hits = ols_hits = 0
    for rep in range(400):
        res = cq.estimate("proximal", frame(800, seed=100 + rep), **ROLES, **PROXIES, with_gates=False,
                          with_sensitivity=False)
        hits += res.ci_lower <= PROXIMAL_EFFECT <= res.ci_upper
        d = res.diagnostics
        ols_hits += abs(d["ols_estimate"] - PROXIMAL_EFFECT) < 1.96 * d["ols_std_error"]
    assert 0.92 <= hits / 400 <= 0.98
    assert ols_hits / 400 < 0.05


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def typed(exc: CQOxError) -> None:
    assert exc.code.startswith("E-") and exc.message and exc.hint


def test_missing_negative_controls_say_what_they_are():
    df = frame(300, seed=6)
    with pytest.raises(RoleError) as info:
        cq.estimate("proximal", df, **ROLES, nco="w")
    typed(info.value)
    assert info.value.code == "E-ROLE-111"
    assert "a negative-control exposure: a variable caused by the unmeasured confounder" in info.value.message
    assert "--param nce=" in info.value.hint
    with pytest.raises(RoleError) as info:
        cq.estimate("proximal", df, **ROLES, nce="z")
    assert info.value.code == "E-ROLE-112" and "negative-control outcome" in info.value.message
    # the Estimators page shows the summary and the parameter help, which say the same
    spec = cq.registry.get("proximal")
    assert "negative-control exposure" in spec.summary and "negative-control outcome" in spec.summary
    assert "caused by the unmeasured confounder" in spec.param("nce").help


@pytest.mark.parametrize("change, code", [
    ({"nce": "y"}, "E-ROLE-113"),
    ({"nco": "a"}, "E-ROLE-113"),
    ({"nce": "x"}, "E-ROLE-113"),
    ({"nce": "w", "nco": "w"}, "E-ROLE-113"),
    ({"nce": "nowhere"}, "E-ROLE-002"),
    ({"nce": "label"}, "E-ROLE-114"),
    ({"nce": "z", "nco": "w,w2"}, "E-EST-120"),
    ({"nce": "constant"}, "E-EST-122"),
    ({"nce": "noise"}, "E-EST-121"),
    ({"cov_type": "HC7"}, "E-METHOD-005"),
])
def test_bad_negative_controls_are_typed_errors(change, code):
    df = frame(300, seed=7).assign(label="a", constant=1.0, w2=lambda f: f["w"] + f["x"] ** 2)
    # a column unrelated to w given a and x: exactly orthogonal, so the partial R^2 is 0 to rounding
    base = np.column_stack([np.ones(len(df)), df["a"], df["x"], df["w"]])
    raw = np.random.default_rng(0).normal(size=len(df))
    df["noise"] = raw - base @ np.linalg.lstsq(base, raw, rcond=None)[0]
    with pytest.raises(CQOxError) as info:
        cq.estimate("proximal", df, **(ROLES | PROXIES | change))
    typed(info.value)
    assert info.value.code == code


def test_weak_proxies_warn():
    df = frame(400, seed=8)
    df["z_weak"] = 0.05 * df["w"] + np.random.default_rng(3).normal(size=len(df))
    res = cq.estimate("proximal", df, **ROLES, nce="z_weak", nco="w")
    assert res.diagnostics["min_proxy_first_stage_f"] < 10
    assert any("barely predict" in w for w in res.warnings)


def test_not_in_the_default_battery_and_reads_its_proxies_from_params():
    spec = cq.registry.get("proximal")
    assert not spec.battery and spec.requires.roles == ("outcome", "treatment")
    assert {p.name for p in spec.params} == {"nce", "nco", "cov_type"}
    choice = next(c for c in cq.select(frame(100, 9), Roles(**ROLES)) if c.method == "proximal")
    assert choice.runnable   # roles suffice; the negative controls are parameters


def test_figures_and_results_section_render():
    from streamlit.testing.v1 import AppTest

    from cqox_core.visuals import render
    from cqox_core.visuals.methods import figures

    result = cq.estimate("proximal", frame(800, seed=10), **ROLES, **PROXIES).to_dict()
    specs = figures("proximal", result)
    assert [s.name for s in specs] == ["proximal_vs_ols"]
    assert specs[0].data["estimate"][-1] == pytest.approx(result["estimate"])
    for spec in specs:
        assert render(spec).data

    def page(result: dict) -> None:
        from app_lib.sections.proximal import render as section

        section(result, {"results": {"proximal": result}})

    at = AppTest.from_function(page, args=(result,), default_timeout=30).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "negative-control exposure" in text and "first-stage F" in text
