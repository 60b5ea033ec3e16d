"""Shared fixtures: a small confounded dataset with a known effect."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate_confounded(n: int = 800, effect: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """Binary treatment confounded by x1, x2 (both raise treatment odds and the
    outcome), constant effect ``effect``; a categorical covariate too."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    grp = rng.choice(["north", "south", "west"], size=n)
    logit = 0.8 * x1 + 0.5 * x2 - 0.2
    t = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    y = effect * t + 1.5 * x1 + 1.0 * x2 + (grp == "west") * 0.5 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": grp, "treated": t, "outcome": y})


@pytest.fixture(scope="session")
def confounded() -> pd.DataFrame:
    return simulate_confounded()
