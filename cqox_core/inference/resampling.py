"""Index draws of the seeded nonparametric bootstrap."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def bootstrap_draws(n: int, reps: int, seed: int, cluster: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield ``reps`` index arrays of a seeded nonparametric bootstrap.

    With ``cluster`` labels whole clusters are resampled (Cameron, Gelbach &
    Miller 2008), so within-cluster dependence is kept.
    """
    rng = np.random.default_rng(seed)
    if cluster is None:
        for _ in range(reps):
            yield rng.integers(0, n, size=n)
        return
    _, idx = np.unique(cluster, return_inverse=True)
    order = np.argsort(idx, kind="stable")
    counts = np.bincount(idx)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = counts.size
    for _ in range(reps):
        picked = rng.integers(0, g, size=g)
        yield np.concatenate([order[starts[c]:starts[c] + counts[c]] for c in picked])
