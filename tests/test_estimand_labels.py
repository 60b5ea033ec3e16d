"""Estimands named for what they are (issue 9, part 5): every result says in words what its number is
the effect on (``estimand_label``; ``estimand`` keeps the short code), methods whose population differs
say so (a sharp RD is the effect at the cutoff, ITS the level change, trimming and calipers keep only
part of the data), and event_study's headline is a documented weighted aggregate."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.datasets import examples
from cqox_core.results import EffectResult

SPECS = [s for s in registry.methods() if s.example is not None]


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_every_method_labels_its_estimand(spec):
    ex = spec.example(seed=0)
    res = cq.estimate(spec.id, ex.frame, seed=0, **ex.kwargs())
    assert isinstance(res.estimand_label, str) and res.estimand_label.strip(), spec.id
    d = json.loads(res.to_json())
    assert d["estimand_label"] == res.estimand_label and d["estimand"] == res.estimand  # additive: both kept
    assert EffectResult.from_dict(d).estimand_label == res.estimand_label


def test_registry_covers_every_method_with_an_example():
    assert {s.id for s in SPECS} == {s.id for s in registry.methods()}


def test_sharp_rd_is_the_effect_at_the_cutoff_and_fuzzy_the_compliers_there():
    ex = examples.threshold()
    sharp = cq.estimate("rd", ex.frame, **ex.kwargs())
    assert sharp.estimand == "ate" and sharp.estimand_label == "effect at the cutoff"
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 2000)
    # take-up jumps from 20% to 80% at the cutoff: a fuzzy design
    d = (rng.random(x.size) < np.where(x >= 0, 0.8, 0.2)).astype(int)
    frame = pd.DataFrame({"x": x, "d": d, "y": 0.5 + x + 2 * d + 0.5 * rng.normal(size=x.size)})
    fuzzy = cq.estimate("rd", frame, outcome="y", running="x", cutoff=0.0, treatment="d")
    assert fuzzy.estimand == "late" and fuzzy.estimand_label.startswith("LATE at the cutoff")


def test_its_reports_the_level_change():
    ex = examples.interrupted_series()
    res = cq.estimate("its", ex.frame, **ex.kwargs())
    assert res.estimand == "att" and res.estimand_label == "level change at the interruption"


def test_ipw_trimming_names_the_overlap_population():
    ex = examples.confounded()
    trimmed = cq.estimate("ipw", ex.frame, **ex.kwargs(), trim=0.1)
    assert trimmed.diagnostics["trimmed"] > 0  # a 0.1 trim drops units on this design
    assert trimmed.estimand_label == "ATE in the overlap population after trimming"
    att = cq.estimate("ipw", ex.frame, **ex.kwargs(), trim=0.1, estimand="att")
    assert att.estimand_label == "ATT: treated units left after trimming"
    everyone = cq.estimate("ipw", ex.frame, **ex.kwargs(), trim=None)
    assert everyone.diagnostics["trimmed"] == 0 and everyone.estimand_label == "ATE: everyone in the data"


def test_psm_caliper_names_the_matched_units():
    ex = examples.confounded()
    narrow = cq.estimate("psm", ex.frame, **ex.kwargs(), caliper=0.001)
    assert narrow.diagnostics["unmatched_treated"] > 0
    assert narrow.estimand_label.startswith("ATT: matched treated units")
    wide = cq.estimate("psm", ex.frame, **ex.kwargs(), caliper=None)
    assert wide.diagnostics["unmatched_treated"] == 0 and wide.estimand_label == "ATT: treated units"


def test_continuous_treatment_and_instrument_labels():
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    dose = x + rng.normal(size=500)
    frame = pd.DataFrame({"x": x, "dose": dose, "y": 1.5 * dose + x + rng.normal(size=500)})
    res = cq.estimate("regression_adjustment", frame, outcome="y", treatment="dose", covariates=["x"])
    assert res.estimand_label == "effect of one more unit of treatment"
    ex = examples.instrumented()
    assert cq.estimate("iv", ex.frame, **ex.kwargs()).estimand_label.startswith("LATE: compliers")


def test_bootstrap_keeps_the_wrapped_methods_label():
    ex = examples.confounded()
    inner = cq.estimate("ipw", ex.frame, **ex.kwargs(), trim=0.1)
    boot = cq.estimate("bootstrap", ex.frame, **ex.kwargs(), of="ipw", n_boot=20, inner_params={"trim": 0.1})
    assert boot.estimand_label == inner.estimand_label


# --------------------------------------------------------------------------- event_study headline


def staggered_unbalanced(seed: int = 0) -> pd.DataFrame:
    """Cohorts adopting in periods 4 and 7 of 10 and never-treated units; the effect grows with time since
    adoption (1.0, 1.5, 2.0, 2.5, 3.0 ...); 25% of rows dropped so relative periods have unequal counts."""
    rng = np.random.default_rng(seed)
    n_units, n_periods = 400, 10
    first = rng.choice([0, 4, 7], size=n_units, p=[0.4, 0.3, 0.3])
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(1, n_periods + 1), n_units)
    f = first[unit]
    d = ((f > 0) & (time >= f)).astype(int)
    effect = np.where(d == 1, 1.0 + 0.5 * (time - f), 0.0)
    y = rng.normal(size=n_units)[unit] + 0.3 * time + effect + rng.normal(size=unit.size)
    frame = pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y})
    frame = frame.sample(frac=0.75, random_state=seed).sort_values(["unit", "time"])
    # keep units observed before they adopt (each needs a pre-period to have a first treated period)
    pre = frame.groupby("unit").d.transform("min") == 0
    return frame[pre].reset_index(drop=True)


def test_event_study_headline_is_the_treated_observation_weighted_mean_without_the_binned_endpoint():
    df = staggered_unbalanced()
    res = cq.estimate("event_study", df, outcome="y", treatment="d", unit="unit", time="time", lags=3)
    subs = {b.label: b for b in res.by}
    assert subs["3"].extra["binned"]  # lags=3 of 6 available: 3 pools every period from 3 on
    # by hand: treated observations at relative periods 0, 1, 2 (first treated period from the data)
    first = df[df.d == 1].groupby("unit").time.min()
    rel = df.time - df.unit.map(first)
    counts = {r: int((rel == r).sum()) for r in (0, 1, 2)}
    assert len(set(counts.values())) > 1  # unequal counts: the weights matter
    total = sum(counts.values())
    hand = sum(counts[r] / total * subs[str(r)].estimate for r in counts)
    assert res.estimate == pytest.approx(hand, abs=1e-10)
    assert res.diagnostics["headline_weights"] == pytest.approx({str(r): c / total for r, c in counts.items()})
    # not the equal-weight mean with the endpoint (the old headline): the endpoint's effect is larger
    old = np.mean([subs[str(r)].estimate for r in (0, 1, 2, 3)])
    assert abs(res.estimate - old) > 0.1
    text = res.diagnostics["headline"]
    assert "proportional to the number of treated observations" in text and "binned endpoint 3" in text
    assert "weighted by treated observations" in res.estimand_label
    # the docstring documents the aggregate
    assert "proportional to the number of treated" in (registry.get("event_study").func.__doc__ or "")
