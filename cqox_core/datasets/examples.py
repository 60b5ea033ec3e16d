"""Small examples with a known effect, one per design, for each method's ``example``.

Each returns a :class:`cqox_core.registry.Example`: the frame, the roles, the
parameters that keep it fast, and the true value of the method's estimand.
"""
from __future__ import annotations

from ..registry import Example
from . import designs
from .observational import simulate_confounded

CONFOUNDED_EFFECT = 2.0


def confounded(seed: int = 0, **params: object) -> Example:
    """600 rows, binary treatment confounded by x1 and x2, a categorical covariate, effect 2."""
    frame = simulate_confounded(n=600, effect=CONFOUNDED_EFFECT, seed=seed)
    return Example(frame=frame, roles={"outcome": "outcome", "treatment": "treated",
                                       "covariates": ["x1", "x2", "region"]},
                   truth=CONFOUNDED_EFFECT, params=dict(params),
                   note="naive difference in means is biased upwards by the confounders x1, x2")


def instrumented(seed: int = 0) -> Example:
    """2,000 rows; a binary instrument moves a treatment confounded by an unobserved u. LATE = 2."""
    frame = designs.simulate_iv(2_000, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "d", "instrument": ["z"],
                                       "covariates": ["x1", "x2"]}, truth=designs.TRUE_EFFECT,
                   note="OLS of y on d is biased by the unobserved confounder u")


def threshold(seed: int = 0) -> Example:
    """2,000 rows, sharp threshold at 0 of a running variable, jump 2, curved mean."""
    frame = designs.simulate_rd(2_000, seed)
    return Example(frame=frame, roles={"outcome": "y", "running": "x", "cutoff": designs.RD_CUTOFF},
                   truth=designs.TRUE_EFFECT, note="a global difference in means mixes the slope into the jump")


def single_adoption(seed: int = 0) -> Example:
    """60 units x 10 periods, half adopt in period 6; treated units' levels differ; ATT 2."""
    frame = designs.simulate_single_adoption(600, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "d", "unit": "unit", "time": "time"},
                   truth=designs.TRUE_EFFECT, note="treated units start 1.0 higher: a post-period contrast is biased")


def staggered(seed: int = 0, **params: object) -> Example:
    """60 units x 10 periods, cohorts adopting in periods 4, 6 and 8, 40% never treated; ATT 2."""
    frame = designs.simulate_staggered(600, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "d", "unit": "unit", "time": "time"},
                   truth=designs.TRUE_EFFECT, params=dict(params),
                   note="treated units start 1.0 higher and all units trend up")


def switching(seed: int = 0, **params: object) -> Example:
    """60 units x 10 periods, treatment switching on and off; effect 2 while on."""
    frame = designs.simulate_switching(600, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "d", "unit": "unit", "time": "time"},
                   truth=designs.TRUE_EFFECT, params=dict(params))


def one_treated_unit(seed: int = 0) -> Example:
    """One treated unit tracking a mix of 3 of 20 donors, 20 pre- and 10 post-periods; gap 2."""
    frame = designs.simulate_synth(20, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "d", "unit": "unit", "time": "time"},
                   truth=designs.TRUE_EFFECT)


def interrupted_series(seed: int = 0) -> Example:
    """One series of 120 periods with AR(1) errors, intervention half way: level change 2."""
    frame = designs.simulate_its(120, seed)
    return Example(frame=frame, roles={"outcome": "y", "treatment": "d", "time": "time"},
                   truth=designs.TRUE_EFFECT)
