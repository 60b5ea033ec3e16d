"""Design-aware selection (issue 9, part 6): selection reads the data's structure, the default
battery holds only designs that fit it, methods that ignore it warn, designs whose data condition
already fails are refused before running, and only like is compared with like.

Data: ``simulate_store_promotion`` (cqox_core.datasets.designs), 60 stores x 52 weeks with a
staggered promotion (weeks 20, 30, 40; 40% of the stores never promoted) and a true effect of 8. Promoted stores are larger (their level is higher,
and store size, a covariate, only partly captures it) and sales grow by 1 per week for every store,
so treated store-weeks are both bigger stores and later weeks: a cross-sectional comparison of
store-weeks reads the level and the trend as effect (about 20 instead of 8), while the panel designs,
which compare each store with itself and with not-yet-treated stores in the same week, recover 8.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.analysis import assemble
from cqox_core.comparison import compare, group_key
from cqox_core.datasets import examples
from cqox_core.datasets.designs import STORE_PROMOTION_EFFECT, simulate_store_promotion
from cqox_core.results import EffectResult
from cqox_core.selection import data_structure, select
from cqox_core.visuals import figures_for_analysis

TRUE_EFFECT = STORE_PROMOTION_EFFECT
ROLES = cq.Roles(outcome="sales", treatment="promo", covariates=("store_size", "temperature"),
                 unit="store_id", time="week")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return simulate_store_promotion(seed=0)


@pytest.fixture(scope="module")
def panel_analysis(panel):
    return cq.analyze(panel, roles=ROLES)


def designs(*names: str) -> set[str]:
    return {s.id for s in registry.methods() if s.design in names}


def battery_of(design: str) -> set[str]:
    return {s.id for s in registry.methods() if s.design == design and s.battery}


# --------------------------------------------------------------------------- structure


def test_structure_of_the_staggered_panel(panel):
    s = data_structure(panel, ROLES)
    treated = panel.loc[panel.promo == 1, "store_id"].nunique()
    assert (s.kind, s.n_units, s.n_periods, s.n_treated_units) == ("panel", 60, 52, treated)
    assert s.staggered and s.adoption_times == 3 and not s.one_treated_unit
    assert s.n_never_treated == 60 - treated
    assert "panel" in s.fits and "cross_section" not in s.fits
    assert s.description.startswith("Panel: 60 units ('store_id') x 52 periods ('week')")
    assert "staggered adoption" in s.description


@pytest.mark.parametrize("case, kind, fits", [
    ("confounded", "cross_section", "cross_section"),
    ("interrupted_series", "time_series", "time_series"),
    ("one_treated_unit", "panel", "panel"),
    ("single_adoption", "panel", "panel"),
])
def test_structure_of_the_registry_examples(case, kind, fits):
    ex = getattr(examples, case)()
    s = data_structure(ex.frame, cq.Roles(**ex.roles))
    assert s.kind == kind and fits in s.fits
    if case == "one_treated_unit":
        assert s.one_treated_unit and s.n_treated_units == 1 and "One unit" in s.description
    if case == "single_adoption":
        assert not s.staggered and s.adoption_times == 1


def test_repeated_cross_section_aggregated_cells_and_ids_seen_once():
    rng = np.random.default_rng(0)
    # individuals sampled afresh in two states x two years (Card-Krueger shape): unit = the state
    rcs = pd.DataFrame({"state": rng.choice(["nj", "pa"], 800), "year": rng.choice([1992, 1993], 800)})
    rcs["treat"] = ((rcs.state == "nj") & (rcs.year == 1993)).astype(int)
    rcs["y"] = rng.normal(size=800)
    s = data_structure(rcs, cq.Roles(outcome="y", treatment="treat", unit="state", time="year"))
    assert s.kind == "repeated_cross_section" and s.fits[0] == "panel" and "2 groups ('state')" in s.description
    # the same as cells: one row per state-year with its count
    cells = rcs.groupby(["state", "year"], as_index=False).agg(y=("y", "mean"), treat=("treat", "first"),
                                                               n=("y", "size"))
    s = data_structure(cells, cq.Roles(outcome="y", treatment="treat", unit="state", time="year", weight="n"))
    assert s.kind == "aggregated_cells" and "count in 'n'" in s.description
    # an id column and a survey wave, every person seen once: not a panel
    once = pd.DataFrame({"person": np.arange(600), "wave": np.repeat([1, 2, 3], 200), "y": rng.normal(size=600),
                         "t": rng.integers(0, 2, 600)})
    s = data_structure(once, cq.Roles(outcome="y", treatment="t", unit="person", time="wave"))
    assert s.kind == "repeated_cross_section" and "cross_section" in s.fits


# --------------------------------------------------------------------------- selection


def test_selection_recommends_the_panel_designs_and_cautions_the_cross_sectional(panel):
    choices = {c.method: c for c in select(panel, ROLES)}
    for method in designs("panel") & {m for m, c in choices.items() if c.runnable}:
        assert choices[method].recommended and not choices[method].caution, method
    # the cross-sectional designs for a binary treatment (a dose-response needs a continuous dose)
    cross = {m for m in designs("cross_section") if registry.get(m).requires.treatment != "continuous"
             and set(registry.get(m).requires.roles) <= ROLES.assigned()}
    assert cross and cross <= {m for m, c in choices.items() if c.runnable}
    for method in cross:
        c = choices[method]
        assert not c.recommended and c.caution.startswith("Not comparable with the panel designs"), method
        assert "3,120 unit-periods" in c.caution
    assert all(c.structure.startswith("Panel:") for c in choices.values())


def test_a_cross_section_recommends_every_runnable_method():
    """The cross-sectional demo keeps its pre-selection: nothing runnable is cautioned there."""
    ex = examples.confounded()
    runnable = [c for c in select(ex.frame, cq.Roles(**ex.roles)) if c.runnable]
    assert {c.method for c in runnable} >= battery_of("cross_section")
    assert all(c.recommended and not c.caution for c in runnable)


def test_its_is_refused_before_running_on_many_series(panel, panel_analysis):
    its = {c.method: c for c in select(panel, ROLES)}["its"]
    assert not its.runnable and not its.recommended
    assert "needs one series, the data have 60 series (one per 'store_id')" in its.reason
    # refused at selection, so the battery never ran it (no error after a click on Run either)
    assert "its" not in panel_analysis.results and "its" not in panel_analysis.errors
    assert not next(c for c in panel_analysis.selection if c.method == "its").runnable
    # all units starting at once and no comparison units: the average series has one date, say how
    same = panel.assign(promo=(panel.week >= 30).astype(int))
    its = {c.method: c for c in select(same, ROLES)}["its"]
    assert not its.runnable and any("aggregate='mean'" in u for u in its.unlock)
    # on one series it runs and is recommended
    ex = examples.interrupted_series()
    its = {c.method: c for c in select(ex.frame, cq.Roles(**ex.roles))}["its"]
    assert its.runnable and its.recommended


def test_synthetic_control_is_refused_with_many_treated_units(panel):
    treated = panel.loc[panel.promo == 1, "store_id"].nunique()
    synth = {c.method: c for c in select(panel, ROLES)}["synthetic_control"]
    assert not synth.runnable and f"{treated} units are treated" in synth.reason
    assert any("staggered_did" in u for u in synth.unlock)
    # the condition comes from the registry, not a list of method ids
    assert registry.get("synthetic_control").requires.one_treated_unit
    ex = examples.one_treated_unit()
    synth = {c.method: c for c in select(ex.frame, cq.Roles(**ex.roles))}["synthetic_control"]
    assert synth.runnable and synth.recommended


def test_default_battery_on_a_staggered_panel_runs_only_panel_designs(panel, panel_analysis):
    a = panel_analysis
    assert set(a.results) and set(a.results) <= designs("panel")
    assert set(a.results) == {c.method for c in a.selection if c.runnable and c.recommended} & set(registry.battery())
    assert registry.get(a.headline).design == "panel"
    head = a.results[a.headline]
    # the panel designs recover the truth: 4 of the headline's own SEs (about 0.5 here) is a loose bound
    # that a cross-sectional number (about 20) misses by more than 20 SEs
    assert abs(head.estimate - TRUE_EFFECT) < 4 * head.std_error, (a.headline, head.estimate, head.std_error)
    for method, r in a.results.items():
        assert abs(r.estimate - TRUE_EFFECT) < 4 * r.std_error, (method, r.estimate, r.std_error)
    d = a.to_dict()
    assert d["structure"]["kind"] == "panel" and d["structure"]["staggered"]
    assert all("recommended" in c and "caution" in c for c in d["selection"])


def test_cross_sectional_methods_run_by_hand_on_the_panel_say_why_they_are_not_comparable(panel):
    for method in sorted(battery_of("cross_section")):
        kw = {"n_boot": 20} if "n_boot" in registry.get(method).defaults else {}
        res = cq.estimate(method, panel, roles=ROLES, **kw)
        notes = [w for w in res.warnings if w.startswith("Not comparable with the panel designs")]
        assert len(notes) == 1, (method, res.warnings)
        assert "ignores each unit's own level and the common change over time" in notes[0]
        # and the warning is deserved: the number is far from the truth (the panel designs are not)
        assert abs(res.estimate - TRUE_EFFECT) > 5 * res.std_error, (method, res.estimate)
    # the same method on a cross-section carries no such warning
    ex = examples.confounded()
    res = cq.estimate("regression_adjustment", ex.frame, **ex.roles)
    assert not any(w.startswith("Not comparable") for w in res.warnings)


# --------------------------------------------------------------------------- comparison


def test_disagreement_compares_only_like_with_like(panel):
    a = cq.analyze(panel, roles=ROLES, methods=["regression_adjustment", "ipw", "did", "staggered_did"])
    comparison = a.comparison
    keys = {(g["estimand"], g["design"]): set(g["methods"]) for g in comparison["groups"]}
    assert keys == {("att", "panel"): {"did", "staggered_did"}, ("ate", "cross_section"): {"regression_adjustment",
                                                                                           "ipw"}}
    # the panel and cross-sectional intervals exclude each other's estimates, yet that is no disagreement
    ra, did = a.results["regression_adjustment"], a.results["did"]
    assert not (did.ci_lower <= ra.estimate <= did.ci_upper or ra.ci_lower <= did.estimate <= ra.ci_upper)
    assert not comparison["disagree"]
    summary = comparison["summary"]
    assert summary.startswith("Compared only like with like: panel ATT (2 methods")
    assert "cross-sectional ATE estimates ignore the data's structure" in summary
    assert len(summary) < 500  # one short summary, not a paragraph per pair
    # the forest plots never put the two groups on one axis
    forests = [s for s in figures_for_analysis(a.to_dict()) if s.kind == "forest"]
    assert sorted(tuple(sorted(s.data["method"])) for s in forests) == [("did", "staggered_did"),
                                                                 ("ipw", "regression_adjustment")]


def _result(method: str, estimand: str, estimate: float, se: float) -> EffectResult:
    return EffectResult(method=method, estimand=estimand, estimate=estimate, std_error=se,
                        ci_lower=estimate - 1.96 * se, ci_upper=estimate + 1.96 * se, alpha=0.05,
                        p_value=0.0, n_obs=100)


def test_a_clash_within_a_group_is_named_with_its_likely_reason():
    results = {"did": _result("did", "att", 2.0, 0.1), "staggered_did": _result("staggered_did", "att", 3.0, 0.1),
               "panel_matching": _result("panel_matching", "att", 2.05, 0.1),
               "ipw": _result("ipw", "ate", -5.0, 0.1)}
    c = compare(results, "staggered_did")
    assert c.disagree and [g.label for g in c.groups] == ["panel ATT", "cross-sectional ATE"]
    assert set(c.groups[0].clashes) == {("did", "staggered_did"), ("staggered_did", "panel_matching")}
    assert not c.groups[1].clashes
    assert "Within the panel ATT estimates (2 to 3)" in c.summary and "pre-trend" in c.summary
    assert group_key({"method": "bootstrap", "estimand": "att", "params": {"of": "psm"}}) == ("att", "cross_section")


def test_the_decision_ignores_sign_flips_between_groups(panel):
    """A clear negative cross-sectional ATE beside a clear positive panel ATT is not HOLD_METHODS_DISAGREE;
    the same within the panel group is."""
    ds = cq.data.as_dataset(panel)
    for other, expect in ((_result("ipw", "ate", -5.0, 0.1), False),
                          (_result("did", "att", -5.0, 0.1), True)):
        results = {"staggered_did": _result("staggered_did", "att", 8.0, 0.5), other.method: other}
        a = assemble(ds, {}, {}, ROLES, [], results, {}, {})
        assert a.headline == "staggered_did"
        assert ("HOLD_METHODS_DISAGREE" in a.decision.reason_codes) is expect, other.method
        assert math.isfinite(a.cas["staggered_did"].overall)
