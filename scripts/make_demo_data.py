"""Write the demo datasets (assets/demo_marketing.csv, assets/demo_healthcare.csv).

Both are simulated with a fixed seed from potential outcomes, so the true
effects are known: ``TRUTH`` below holds them and assets/DEMO_DATA.md explains
them. Running the script regenerates byte-identical files (same NumPy/pandas)
and checks that the simulation still gives the numbers in ``TRUTH``.

    python scripts/make_demo_data.py [--out DIR]   # default: assets/

Design rules (so that the truths are exact and the demos are honest):

- Treatment is confounded: it depends on covariates that also drive the
  outcome, so the naive difference in means is biased.
- Given the covariates, each outcome's mean is linear in them, and so is the
  treatment effect; regression adjustment (Lin 2013) is therefore correctly
  specified, and the propensity model is a logistic regression in the columns
  as written (ipw / psm are correctly specified too).
- The population ATE is fixed by construction (the effect is an affine
  function of covariates with known means); sample ATE/ATT are computed from
  the simulated potential outcomes of these very rows.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

SEED = 20240611
ASSETS = Path(__file__).resolve().parent.parent / "assets"

#: The known effects. "sample" values are averages of Y(1) - Y(0) over these rows
#: (ATT: over the treated rows); "population" values are the expectations under
#: the generating process. The script refuses to write data that disagree.
TRUTH: dict[str, dict[str, Any]] = {
    "marketing": {
        "file": "demo_marketing.csv",
        "effect": "extra spend in the next 30 days (currency units) from receiving the coupon",
        "ate_population": 12.5,
        "att_population": 14.769281,      # exact sum over the discrete confounders
        "ate_sample": 12.54056,
        "att_sample": 14.806525,
        "n": 5000,
        "n_treated": 2029,
    },
    "healthcare": {
        "file": "demo_healthcare.csv",
        "effect": "change in the 90-day readmission risk (risk difference) from the follow-up program",
        "ate_population": -0.06,
        "att_population": -0.0745,        # Monte Carlo over 4 million covariate draws
        "att_population_mc_se": 0.000025,
        "ate_sample": -0.065,
        "att_sample": -0.08525,
        "n": 4000,
        "n_treated": 1478,
    },
}

#: The roles a user should pick (and the mapper should find).
ROLES: dict[str, dict[str, Any]] = {
    "marketing": {"outcome": "spend_next_30d", "treatment": "received_coupon",
                  "covariates": ["age", "tenure_months", "past_purchases", "avg_basket_value", "region",
                                 "loyalty_member"]},
    "healthcare": {"outcome": "readmitted_90d", "treatment": "enrolled_followup",
                   "covariates": ["age", "sex", "bmi", "systolic_bp", "diabetes", "prior_admissions", "smoker",
                                  "site"],
                   "cluster": "site"},
}
#: A potential outcome planted in the marketing file: the mapper must exclude it.
LEAKAGE_COLUMNS = {"marketing": ["spend_next_30d_if_no_coupon"], "healthcare": []}
COLUMNS = {
    "marketing": ["customer_id", "age", "tenure_months", "past_purchases", "avg_basket_value", "region",
                  "loyalty_member", "received_coupon", "spend_next_30d", "spend_next_30d_if_no_coupon"],
    "healthcare": ["patient_id", "site", "age", "sex", "bmi", "systolic_bp", "diabetes", "prior_admissions",
                   "smoker", "enrolled_followup", "readmitted_90d"],
}


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------
# marketing: a coupon campaign
# --------------------------------------------------------------------------

LOYALTY_SHARE = 0.35
REGIONS = ("North", "South", "East", "West", "Central")
REGION_SHARES = (0.22, 0.20, 0.18, 0.25, 0.15)
REGION_SPEND = {"North": 0.0, "South": -3.0, "East": 2.0, "West": 4.0, "Central": -1.0}
MEAN_PURCHASES = 3.0 + 3.0 * LOYALTY_SHARE   # E[past_purchases]: Poisson(3 + 3 * loyalty)


def coupon_propensity(purchases: np.ndarray, loyal: np.ndarray) -> np.ndarray:
    """The campaign targeted frequent buyers and loyalty members."""
    return expit(-1.9 + 0.28 * purchases + 0.9 * loyal)


def coupon_effect(purchases: np.ndarray, loyal: np.ndarray) -> np.ndarray:
    """Effect is 12.50 on average (both terms have mean zero) and larger for loyal, frequent buyers."""
    return 12.50 + 6.0 * (loyal - LOYALTY_SHARE) + 0.8 * (purchases - MEAN_PURCHASES)


def marketing_population_att() -> float:
    """E[effect | coupon] summed exactly over the discrete (loyalty, purchases) distribution."""
    k = np.arange(0, 200)
    num = den = 0.0
    for loyal, share in ((1, LOYALTY_SHARE), (0, 1 - LOYALTY_SHARE)):
        pmf = stats.poisson.pmf(k, 3.0 + 3.0 * loyal)
        e = coupon_propensity(k, np.full(k.shape, loyal))
        num += share * float(np.sum(pmf * e * coupon_effect(k, np.full(k.shape, loyal))))
        den += share * float(np.sum(pmf * e))
    return num / den


def simulate_marketing(rng: np.random.Generator, n: int = 5000) -> tuple[pd.DataFrame, dict[str, float]]:
    loyal = rng.binomial(1, LOYALTY_SHARE, n)
    purchases = rng.poisson(3.0 + 3.0 * loyal)
    age = np.clip(np.round(rng.normal(42 + 4 * loyal, 12)), 18, 80).astype(int)
    tenure = np.minimum(np.round(6 + 4 * purchases + rng.exponential(12, n)), (age - 17) * 12).astype(int)
    basket = np.round(np.exp(rng.normal(np.log(45) + 0.15 * loyal, 0.35)), 2)
    region = rng.choice(REGIONS, size=n, p=REGION_SHARES)
    coupon = rng.binomial(1, coupon_propensity(purchases, loyal))
    mean_no_coupon = (15 + 3.5 * purchases + 0.45 * basket + 9 * loyal + 0.08 * tenure + 0.1 * (age - 40)
                      + pd.Series(region).map(REGION_SPEND).to_numpy())
    # multiplicative Gamma noise (mean 1, CV 0.45): spend stays positive and right-skewed
    y0 = np.round(mean_no_coupon * rng.gamma(5.0, 1 / 5.0, n), 2)
    y1 = np.round(y0 + coupon_effect(purchases, loyal), 2)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(1, n + 1)], "age": age, "tenure_months": tenure,
        "past_purchases": purchases, "avg_basket_value": basket, "region": region,
        "loyalty_member": np.where(loyal == 1, "yes", "no"), "received_coupon": np.where(coupon == 1, "yes", "no"),
        "spend_next_30d": np.where(coupon == 1, y1, y0), "spend_next_30d_if_no_coupon": y0,
    })
    effect = y1 - y0
    truth = {"ate_sample": float(effect.mean()), "att_sample": float(effect[coupon == 1].mean()),
             "ate_population": 12.5, "att_population": marketing_population_att(),
             "n": n, "n_treated": int(coupon.sum())}
    return frame, truth


# --------------------------------------------------------------------------
# healthcare: a post-discharge follow-up program
# --------------------------------------------------------------------------

DIABETES_SHARE = 0.25
SITES = tuple(f"H{i:02d}" for i in range(1, 13))
SITE_SHARES = (0.14, 0.12, 0.11, 0.10, 0.09, 0.09, 0.08, 0.07, 0.06, 0.06, 0.05, 0.03)
#: Site differences in baseline risk (risk points) and in how often the program is offered (log-odds).
SITE_RISK = (0.03, -0.02, 0.01, 0.0, -0.03, 0.02, -0.01, 0.025, -0.015, 0.005, -0.025, 0.015)
SITE_ENROLMENT = (0.6, -0.4, 0.3, 0.0, -0.8, 0.5, -0.2, 0.9, -0.5, 0.1, -0.6, 0.4)


def healthcare_covariates(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    site = rng.choice(len(SITES), size=n, p=SITE_SHARES)
    diabetes = rng.binomial(1, DIABETES_SHARE, n)
    age = np.clip(np.round(rng.normal(66, 11, n)), 30, 95)
    male = rng.binomial(1, 0.48, n)
    bmi = np.round(np.clip(rng.normal(27.5 + 3 * diabetes, 5, n), 16, 50), 1)
    sbp = np.clip(np.round(rng.normal(132 + 6 * diabetes + 0.3 * (age - 66), 17)), 90, 210)
    smoker = rng.binomial(1, 0.2, n)
    prior = np.minimum(rng.poisson(np.clip(0.6 + 0.5 * diabetes + 0.01 * (age - 66), 0.05, None)), 5)
    return {"site": site, "diabetes": diabetes, "age": age, "male": male, "bmi": bmi, "sbp": sbp,
            "smoker": smoker, "prior": prior}


def risk_without_program(x: dict[str, np.ndarray]) -> np.ndarray:
    """90-day readmission risk without follow-up: additive (linear) in the columns, between 0.04 and 0.94."""
    return (0.07 + 0.12 * x["diabetes"] + 0.003 * (x["age"] - 30) + 0.003 * (x["bmi"] - 16)
            + 0.0008 * (x["sbp"] - 90) + 0.055 * x["prior"] + 0.04 * x["smoker"] + 0.01 * x["male"]
            + np.asarray(SITE_RISK)[x["site"]])


def risk_reduction(diabetes: np.ndarray) -> np.ndarray:
    """4 points, 12 for diabetics; with 25% diabetics the average is exactly 6 points.

    Never larger than the risk itself: the risk is at least 0.04, and 0.16 for diabetics.
    """
    return 0.04 + 0.08 * diabetes


def enrolment_propensity(x: dict[str, np.ndarray]) -> np.ndarray:
    """Clinicians enrol the patients they see as high risk; sites differ in how often."""
    return expit(-1.8 + 1.35 * x["diabetes"] + 0.7 * x["prior"] + 0.045 * (x["age"] - 66)
                 + 0.022 * (x["sbp"] - 132) + 0.6 * x["smoker"] + np.asarray(SITE_ENROLMENT)[x["site"]])


def healthcare_population_att(draws: int = 4_000_000, chunk: int = 500_000,
                              seed: int = SEED + 7) -> tuple[float, float]:
    """E[Y(1) - Y(0) | enrolled] = -E[reduction(X) e(X)] / E[e(X)], by Monte Carlo over X.

    Averaging e(X) rather than simulated enrolments removes that layer of noise.
    Returns the ratio and its Monte Carlo SE (delta method); memory stays at one chunk.
    """
    rng = np.random.default_rng(seed)
    sums = np.zeros(5)          # sum a, sum e, sum a^2, sum e^2, sum a e  with a = -reduction * e
    for _ in range(draws // chunk):
        x = healthcare_covariates(rng, chunk)
        e = enrolment_propensity(x)
        a = -risk_reduction(x["diabetes"]) * e
        sums += [a.sum(), e.sum(), (a * a).sum(), (e * e).sum(), (a * e).sum()]
    m_a, m_e, m_aa, m_ee, m_ae = sums / draws
    ratio = m_a / m_e
    var = (m_aa - 2 * ratio * m_ae + ratio ** 2 * m_ee - (m_a - ratio * m_e) ** 2) / m_e ** 2
    return float(ratio), float(math.sqrt(var / draws))


def simulate_healthcare(rng: np.random.Generator, n: int = 4000) -> tuple[pd.DataFrame, dict[str, float]]:
    x = healthcare_covariates(rng, n)
    enrolled = rng.binomial(1, enrolment_propensity(x))
    p0 = risk_without_program(x)
    p1 = p0 - risk_reduction(x["diabetes"])
    # one uniform per patient drives both potential outcomes: the program never causes a readmission
    u = rng.uniform(size=n)
    y0, y1 = (u < p0).astype(int), (u < p1).astype(int)
    frame = pd.DataFrame({
        "patient_id": [f"P{i:05d}" for i in range(1, n + 1)], "site": np.asarray(SITES)[x["site"]],
        "age": x["age"].astype(int), "sex": np.where(x["male"] == 1, "male", "female"), "bmi": x["bmi"],
        "systolic_bp": x["sbp"].astype(int), "diabetes": x["diabetes"], "prior_admissions": x["prior"],
        "smoker": np.where(x["smoker"] == 1, "yes", "no"), "enrolled_followup": enrolled,
        "readmitted_90d": np.where(enrolled == 1, y1, y0),
    })
    effect = y1 - y0
    att_pop, att_se = healthcare_population_att()
    truth = {"ate_sample": float(effect.mean()), "att_sample": float(effect[enrolled == 1].mean()),
             "ate_population": -(0.04 + 0.08 * DIABETES_SHARE), "att_population": att_pop,
             "att_population_mc_se": att_se, "n": n, "n_treated": int(enrolled.sum())}
    return frame, truth


# --------------------------------------------------------------------------
# writing and checking
# --------------------------------------------------------------------------

def simulate_all() -> dict[str, tuple[pd.DataFrame, dict[str, float]]]:
    """Each dataset has its own random stream, so changing one never changes the other."""
    return {"marketing": simulate_marketing(np.random.default_rng([SEED, 1])),
            "healthcare": simulate_healthcare(np.random.default_rng([SEED, 2]))}


def check_truth(name: str, computed: dict[str, float]) -> None:
    """The simulation must reproduce TRUTH (to its stated rounding) before anything is written."""
    for key, value in computed.items():
        stated = TRUTH[name][key]
        tol = 0.0001 if key == "att_population" and name == "healthcare" else 1e-6
        tol = 0.00001 if key == "att_population_mc_se" else tol
        if abs(stated - value) > tol:
            raise SystemExit(f"{name}: {key} is {value!r} but TRUTH says {stated!r}; update TRUTH and "
                             "assets/DEMO_DATA.md if the change is intended.")


def write_demo_data(out_dir: Path = ASSETS, check: bool = True) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (frame, truth) in simulate_all().items():
        if check:
            check_truth(name, truth)
        path = out_dir / TRUTH[name]["file"]
        frame[COLUMNS[name]].to_csv(path, index=False, lineterminator="\n")
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="directory for the CSV files")
    parser.add_argument("--print-truth", action="store_true", help="print the computed truths and do not check")
    args = parser.parse_args(argv)
    if args.print_truth:
        for name, (_, truth) in simulate_all().items():
            print(name, {k: (round(v, 6) if isinstance(v, float) else v) for k, v in truth.items()})
        return 0
    for name, path in write_demo_data(args.out).items():
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB); true ATE {TRUTH[name]['ate_population']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
