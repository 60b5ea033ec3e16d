"""Designs with a known constant effect TRUE_EFFECT (2.0): panels (single adoption,
staggered, switching), an instrument, a threshold, one series and one treated unit
among donors. The estimand of each design (ATT, LATE, jump at the cutoff, level
change, average post-period gap) is TRUE_EFFECT.

Moved here from the designs benchmark unchanged, so the benchmark, the registry's
examples and the tests share one generator per design.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TRUE_EFFECT = 2.0
PERIODS = 10              # periods of every panel design: units = rows / PERIODS
ADOPTION = 6              # did / event_study: half the units treated from period 6 of 1..10
STAGGERED_COHORTS = (0, 4, 6, 8)       # first treated period, 0 = never treated
STAGGERED_SHARES = (0.4, 0.2, 0.2, 0.2)
SYNTH_PERIODS = 30
SYNTH_PRE = 20            # treated unit untreated in periods 0..19, treated in 20..29
RD_CUTOFF = 0.0
AR_COEFFICIENT = 0.5      # its: AR(1) errors, so the HAC correction matters


def balanced_panel(n_units: int, first: np.ndarray, d: np.ndarray | None, rng: np.random.Generator) -> pd.DataFrame:
    """Unit and period effects, treated units' levels 1.0 higher, effect TRUE_EFFECT where d = 1."""
    unit = np.repeat(np.arange(n_units), PERIODS)
    time = np.tile(np.arange(1, PERIODS + 1), n_units)
    f = first[unit]
    if d is None:
        d = ((f > 0) & (time >= f)).astype(np.int64)
    y = (rng.normal(size=n_units)[unit] + 1.0 * (f > 0) + 0.3 * time + rng.normal(size=PERIODS)[time - 1]
         + TRUE_EFFECT * d + rng.normal(size=unit.size))
    return pd.DataFrame({"unit": unit, "time": time, "d": d, "y": y})


def simulate_single_adoption(rows: int, seed: int) -> pd.DataFrame:
    """did, event_study: half the units adopt in period ADOPTION and stay treated, the others never do."""
    rng = np.random.default_rng(seed)
    n_units = rows // PERIODS
    first = np.where(rng.random(n_units) < 0.5, ADOPTION, 0)
    return balanced_panel(n_units, first, None, rng)


def simulate_staggered(rows: int, seed: int) -> pd.DataFrame:
    """staggered_did: cohorts adopting in periods 4, 6 and 8, 40% never treated."""
    rng = np.random.default_rng(seed)
    n_units = rows // PERIODS
    first = rng.choice(STAGGERED_COHORTS, size=n_units, p=STAGGERED_SHARES)
    return balanced_panel(n_units, first, None, rng)


def simulate_switching(rows: int, seed: int) -> pd.DataFrame:
    """panel_matching: treatment switches on and off (Markov: on with prob. 0.15, stays on with prob. 0.7)."""
    rng = np.random.default_rng(seed)
    n_units = rows // PERIODS
    d = np.zeros((n_units, PERIODS), dtype=np.int64)
    d[:, 0] = rng.random(n_units) < 0.2
    for t in range(1, PERIODS):
        d[:, t] = rng.random(n_units) < np.where(d[:, t - 1] == 1, 0.7, 0.15)
    return balanced_panel(n_units, np.zeros(n_units), d.ravel(), rng)


def simulate_iv(rows: int, seed: int) -> pd.DataFrame:
    """Binary instrument z, binary treatment d confounded by u; two exogenous covariates. LATE = 2."""
    rng = np.random.default_rng(seed)
    z = (rng.random(rows) < 0.5).astype(float)
    u = rng.normal(size=rows)
    x1, x2 = rng.normal(size=(2, rows))
    d = ((-0.3 + 0.8 * z + 0.5 * u + 0.3 * x1 + rng.normal(size=rows)) > 0).astype(np.int64)
    y = 1.0 + TRUE_EFFECT * d + 0.5 * x1 - 0.3 * x2 + u + rng.normal(size=rows)
    return pd.DataFrame({"y": y, "d": d, "z": z, "x1": x1, "x2": x2})


def simulate_rd(rows: int, seed: int) -> pd.DataFrame:
    """Sharp RD: running variable uniform on [-1, 1], jump of 2 at the cutoff 0, curved mean."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, rows)
    y = 0.5 + 1.0 * x + 0.5 * x ** 2 + TRUE_EFFECT * (x >= RD_CUTOFF) + 0.5 * rng.normal(size=rows)
    return pd.DataFrame({"y": y, "x": x})


def simulate_its(rows: int, seed: int) -> pd.DataFrame:
    """One series of ``rows`` periods, intervention half way: level change 2, slope change, AR(1) errors."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    time = np.arange(rows)
    post = (time >= rows // 2).astype(np.int64)
    noise = lfilter([1.0], [1.0, -AR_COEFFICIENT], rng.normal(size=rows))
    y = 1.0 + 2.0 * time / rows + TRUE_EFFECT * post + 1.0 * (time - rows // 2) / rows * post + noise
    return pd.DataFrame({"time": time, "d": post, "y": y})


def simulate_synth(donors: int, seed: int) -> pd.DataFrame:
    """Factor model for ``donors`` + 1 units over SYNTH_PERIODS; the treated unit (id 0) tracks a convex
    mix of three donors before SYNTH_PRE and is 2 higher from then on."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(2, SYNTH_PERIODS)).cumsum(axis=1)
    Y = rng.normal(size=(donors, 2)) @ factors + rng.normal(size=(donors, 1)) + rng.normal(size=(donors, SYNTH_PERIODS))
    mix = np.zeros(donors)
    mix[:3] = (0.5, 0.3, 0.2)
    treated = mix @ Y + 0.1 * rng.normal(size=SYNTH_PERIODS)
    treated[SYNTH_PRE:] += TRUE_EFFECT
    wide = np.vstack([treated, Y])
    n_units = donors + 1
    unit = np.repeat(np.arange(n_units), SYNTH_PERIODS)
    time = np.tile(np.arange(SYNTH_PERIODS), n_units)
    d = ((unit == 0) & (time >= SYNTH_PRE)).astype(np.int64)
    return pd.DataFrame({"unit": unit, "time": time, "d": d, "y": wide.ravel()})


#: Store promotion panel: the true effect of a promoted store-week on sales.
STORE_PROMOTION_EFFECT = 8.0


def simulate_store_promotion(seed: int = 0, n_stores: int = 60, weeks: int = 52,
                             effect: float = STORE_PROMOTION_EFFECT) -> pd.DataFrame:
    """A long panel where cross-sectional methods fail and panel designs do not: stores x weeks, a
    promotion adopted in weeks 20, 30 or 40 (40% of stores never), effect ``effect`` per promoted week.

    Promoted stores are larger (their level is higher, and ``store_size`` captures it only in part) and
    sales grow by 1 per week everywhere, so treated store-weeks are bigger stores in later weeks: a
    comparison of store-weeks as independent rows reads level and trend as effect (about 20), while
    designs that compare each store with itself and with not-yet-promoted stores recover ``effect``.
    """
    rng = np.random.default_rng(seed)
    first = rng.choice([0, 20, 30, 40], size=n_stores, p=[0.4, 0.2, 0.2, 0.2])
    size = rng.normal(size=n_stores) + 1.0 * (first > 0)
    store = np.repeat(np.arange(n_stores), weeks)
    week = np.tile(np.arange(1, weeks + 1), n_stores)
    f = first[store]
    promo = ((f > 0) & (week >= f)).astype(np.int64)
    level = 5 * size + 3 * (first > 0) + rng.normal(size=n_stores)
    sales = (100 + level[store] + 1.0 * week + rng.normal(size=weeks)[week - 1] + effect * promo
             + rng.normal(scale=2, size=store.size))
    temperature = 10 + 10 * np.sin(2 * np.pi * week / 52) + rng.normal(size=store.size)
    return pd.DataFrame({"store_id": store, "week": week, "promo": promo, "sales": sales,
                         "store_size": size[store], "temperature": temperature})
