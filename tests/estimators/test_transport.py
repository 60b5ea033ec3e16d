"""Transportability (``transport``): recovery of the target population's ATE where the study's own
ATE differs (an effect modifier distributed differently); double robustness (each of the
single-model estimators fails under its own misspecification, the doubly robust one does not);
agreement with zEpid and with zEpid's published truth; standard errors against the bootstrap and
their coverage; the site_overlap gate and typed errors for a target without overlap."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core.data import as_dataset
from cqox_core.datasets.advanced import simulate_transport, transport_truth
from cqox_core.errors import CQOxError, EstimationError, RoleError
from cqox_core.estimators import transport as tp
from cqox_core.roles import Roles

REFERENCES = Path(__file__).parent / "references"
ROLES = {"outcome": "y", "treatment": "a", "covariates": ["x1", "x2"], "site": "site"}


def by(res: cq.EffectResult) -> dict:
    return {b.label: b for b in res.by}


def gate(res: cq.EffectResult, name: str):
    return next(g for g in res.gates if g.name == name)


# ---------------------------------------------------------------------------
# recovery and double robustness
# ---------------------------------------------------------------------------

def test_recovers_the_target_ate_that_the_study_ate_misses():
    truth = transport_truth()
    res = cq.estimate("transport", simulate_transport(8_000, seed=1), **ROLES)
    parts, d = by(res), res.diagnostics
    assert list(parts) == ["iosw", "outcome_model", "dr"] and res.estimate == parts["dr"].estimate
    # 4 SE: a correct method misses by more with probability < 1e-4
    for label in ("iosw", "outcome_model", "dr"):
        assert abs(parts[label].estimate - truth["target"]) < 4 * parts[label].std_error, label
    # the study's own ATE is right for the study and wrong for the target (1.84 vs 0.45)
    assert abs(d["source_ate"] - truth["study"]) < 4 * d["source_ate_std_error"]
    assert truth["target"] - d["source_ate"] > 10 * d["source_ate_std_error"]
    assert res.estimand == "ate" and "target population" in res.estimand_label
    assert d["n_study"] + d["n_target"] == res.n_obs == 8_000


@pytest.mark.parametrize("misspecified, fails", [({"effect_curvature": 0.6}, "outcome_model"),
                                                 ({"selection_curvature": 0.4}, "iosw")])
def test_doubly_robust_survives_either_misspecification(misspecified, fails):
    """A curved effect breaks the linear outcome models' extrapolation to the target; curved selection
    breaks the linear sampling logit's weights. The doubly robust estimate needs only one of them."""
    truth = transport_truth(**misspecified)["target"]
    res = cq.estimate("transport", simulate_transport(20_000, seed=3, **misspecified), **ROLES,
                      with_sensitivity=False)
    parts = by(res)
    assert abs(parts["dr"].estimate - truth) < 4 * parts["dr"].std_error
    assert abs(parts[fails].estimate - truth) > 5 * parts[fails].std_error   # observed: 10 and 6.4 SE
    other = {"outcome_model": "iosw", "iosw": "outcome_model"}[fails]
    assert abs(parts[other].estimate - truth) < 4 * parts[other].std_error


def test_reweighting_makes_the_study_look_like_the_target():
    res = cq.estimate("transport", simulate_transport(5_000, seed=4), **ROLES)
    before, after = res.diagnostics["site_smd_before"], res.diagnostics["site_smd_after"]
    # the logit is correct, so weighting removes most of the gap (its score equations balance
    # p-weighted, not odds-weighted, means: not exactly; observed 1.02 -> 0.07)
    assert abs(before["x1"]) > 0.5 and abs(after["x1"]) < 0.15


# ---------------------------------------------------------------------------
# agreement with zEpid (stored) and its published truth
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zepid_data() -> pd.DataFrame:
    frame = pd.read_csv(REFERENCES / "data" / "zepid_generalize_conf.csv")
    assert (frame["site"] == 1 - frame["S"]).all()
    return frame


def zepid_roles() -> dict:
    return {"outcome": "Y", "treatment": "A", "covariates": ["L", "W"], "site": "site"}


def test_agrees_with_zepid(zepid_data):
    ref = json.loads((REFERENCES / "transport_zepid.json").read_text())
    normalised = by(cq.estimate("transport", zepid_data, **zepid_roles()))
    unnormalised = by(cq.estimate("transport", zepid_data, **zepid_roles(), normalize=False))
    # the same formulas; zepid's statsmodels logistic fits stop at a looser tolerance (observed 7e-9)
    assert normalised["iosw"].estimate == pytest.approx(ref["iosw"], abs=1e-6)
    assert normalised["outcome_model"].estimate == pytest.approx(ref["outcome_model"], abs=1e-9)
    assert unnormalised["dr"].estimate == pytest.approx(ref["dr_unnormalised"], abs=1e-6)


def test_agrees_with_zepids_published_truth(zepid_data):
    """zEpid documents the true transported risk difference of these data: 0.02887."""
    ref = json.loads((REFERENCES / "transport_zepid.json").read_text())
    res = cq.estimate("transport", zepid_data, **zepid_roles())
    # one sample of 486 study rows against the population truth: within 2 SE (SE 0.072)
    assert abs(res.estimate - ref["published_true_risk_difference"]) < 2 * res.std_error


# ---------------------------------------------------------------------------
# standard errors
# ---------------------------------------------------------------------------

def test_standard_errors_match_the_bootstrap():
    """Influence-function SEs (with the nuisance models' contributions) against 400 pairs-bootstrap
    resamples of the pooled rows (point estimates refitted from the arrays): the bootstrap SD has
    about 3.5% Monte Carlo error, so 15% is ample."""
    frame = simulate_transport(2_000, seed=5)
    res = cq.estimate("transport", frame, **ROLES)
    d = tp.transport_arrays(as_dataset(frame), Roles(**ROLES))
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(400):
        rows = rng.integers(0, d.n, d.n)
        sample = tp.TransportData(y=d.y[rows], t=d.t[rows], target=d.target[rows], Z=d.Z[rows],
                                  x_names=d.x_names, cluster=None, warnings=())
        nuis = tp.fit_nuisances(sample)
        draws.append(tp.estimates(nuis.theta, sample, nuis.k, True).values[:3])
    boot = np.std(np.asarray(draws), axis=0, ddof=1)
    for j, label in enumerate(("iosw", "outcome_model", "dr")):
        assert by(res)[label].std_error == pytest.approx(boot[j], rel=0.15), label


@pytest.mark.slow
def test_interval_coverage():
    """95% intervals of the doubly robust estimate cover the target truth in about 95% of 300 samples
    (binomial SD 1.3 points: [0.91, 0.985] is about 3 SD)."""
    truth = transport_truth()["target"]
    hits = 0
    for rep in range(300):
        res = cq.estimate("transport", simulate_transport(1_500, seed=100 + rep), **ROLES, with_gates=False,
                          with_sensitivity=False)
        hits += res.ci_lower <= truth <= res.ci_upper
    assert 0.91 <= hits / 300 <= 0.985


def test_cluster_role_gives_cluster_robust_errors():
    frame = simulate_transport(3_000, seed=6).assign(g=lambda f: np.arange(len(f)) // 30)
    plain = cq.estimate("transport", frame, **ROLES)
    clustered = cq.estimate("transport", frame, **ROLES, cluster="g")
    assert clustered.estimate == plain.estimate
    assert "cluster" in clustered.se_method and clustered.std_error != plain.std_error


# ---------------------------------------------------------------------------
# overlap: the gate, and the refusal when there is none
# ---------------------------------------------------------------------------

def test_site_overlap_gate_passes_and_fails():
    good = cq.estimate("transport", simulate_transport(4_000, seed=7), **ROLES)
    assert gate(good, "site_overlap").status == "pass"
    # target units moved 2.5 SD beyond the study: a large share has no counterpart
    partial = cq.estimate("transport", simulate_transport(4_000, seed=7, shift=2.5), **ROLES)
    g = gate(partial, "site_overlap")
    assert g.status == "fail" and g.metric < 0.8 and g.next_step
    assert g.metric == pytest.approx(partial.diagnostics["site_overlap_share"])
    assert any("extrapolated" in w for w in partial.warnings)


def test_a_target_without_overlap_is_a_typed_error():
    frame = simulate_transport(2_000, seed=8)
    frame.loc[frame["site"] == 1, "x1"] += 20.0       # every target unit far beyond the study's range
    with pytest.raises(EstimationError) as info:
        cq.estimate("transport", frame, **ROLES)
    assert info.value.code == "E-EST-130"
    assert "does not overlap" in info.value.message and "'x1'" in info.value.message
    assert "Restrict the target population" in info.value.hint


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("change, code", [
    (lambda f: f.assign(site=np.where(f["site"] == 1, "target", "study")), "E-ROLE-121"),
    (lambda f: f.assign(site=0, y=f["y"].fillna(0.0), a=f["a"].fillna(0.0)), "E-ROLE-123"),
    (lambda f: f.assign(site=1), "E-ROLE-122"),
])
def test_bad_site_column_is_a_typed_error(change, code):
    with pytest.raises(RoleError) as info:
        cq.estimate("transport", change(simulate_transport(400, seed=9)), **ROLES)
    assert info.value.code == code and info.value.hint


def test_other_bad_input_is_typed():
    frame = simulate_transport(400, seed=10)
    with pytest.raises(RoleError) as info:
        cq.estimate("transport", frame, **(ROLES | {"covariates": ["x1", "x2", "site"]}))
    assert info.value.code == "E-ROLE-124"
    with pytest.raises(EstimationError) as info:
        cq.estimate("transport", frame.assign(w=1.0), **ROLES, weight="w")
    assert info.value.code == "E-EST-131"
    # called directly: cq.estimate would fill the missing site role from auto mapping (a column named site)
    with pytest.raises(CQOxError) as info:
        cq.registry.get("transport").func(as_dataset(frame), Roles(outcome="y", treatment="a",
                                                                   covariates=("x1", "x2")))
    assert info.value.code == "E-ROLE-001" and "site" in info.value.message
    choice = next(c for c in cq.select(frame, Roles(outcome="y", treatment="a", covariates=("x1", "x2")))
                  if c.method == "transport")
    assert not choice.runnable and "effect should be transported to" in choice.unlock[0]


def test_target_outcomes_are_ignored_with_a_warning():
    frame = simulate_transport(1_000, seed=11)
    base = cq.estimate("transport", frame, **ROLES)
    filled = cq.estimate("transport", frame.assign(y=frame["y"].fillna(99.0), a=frame["a"].fillna(1.0)), **ROLES)
    assert filled.estimate == base.estimate
    assert any("not used" in w for w in filled.warnings)


# ---------------------------------------------------------------------------
# figures and the Results section
# ---------------------------------------------------------------------------

def test_figures_and_results_section_render():
    from streamlit.testing.v1 import AppTest

    from cqox_core.visuals import render
    from cqox_core.visuals.methods import figures

    result = cq.estimate("transport", simulate_transport(1_500, seed=12), **ROLES).to_dict()
    specs = figures("transport", result)
    names = [s.name for s in specs]
    assert names[:2] == ["transport_estimates", "transport_balance"]
    assert {"transport_covariate_x1", "transport_covariate_x2"} <= set(names)
    hist = next(s for s in specs if s.name == "transport_covariate_x1").data
    assert sum(hist["first"]) == result["diagnostics"]["n_study"]
    assert sum(hist["second"]) == result["diagnostics"]["n_target"]
    for spec in specs:
        assert render(spec).data, spec.name

    def page(result: dict) -> None:
        from app_lib.sections.transport import render as section

        section(result, {"results": {"transport": result}})

    at = AppTest.from_function(page, args=(result,), default_timeout=30).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "carried over to the target population" in text and "Does the study cover the target?" in text
