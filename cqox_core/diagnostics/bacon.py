"""Goodman-Bacon decomposition of the two-way fixed-effects DiD coefficient.

Goodman-Bacon (2021, J. Econometrics 225:254, Theorem 1): on a balanced panel
with absorbing treatment, the TWFE coefficient of y_it = a_i + l_t + b D_it + e
is a weighted average of every 2x2 DiD that can be formed from the timing
groups (units first treated in the same period) and the never-treated group U:

    b = sum_k s_kU b_kU + sum_{k<l} (s_kl^k b_kl^k + s_kl^l b_kl^l)        (eq. 10a)

* treated_vs_never   b_kU   : group k against never-treated units (eq. 3)
* earlier_vs_later   b_kl^k : earlier group k against later group l, before l
                              is treated (eq. 4a)
* later_vs_earlier   b_kl^l : later group l against earlier group k, after k is
                              already treated (eq. 4b) -- the "forbidden"
                              comparison: k's own changing effect enters as a
                              control trend and biases b when effects vary over
                              time (Sec. 3.1).

The weights (eq. 10e-g) depend only on group sizes n_k and the share of the
panel each group spends treated D_k; they are non-negative and sum to 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

TREATED_VS_NEVER = "treated_vs_never"
EARLIER_VS_LATER = "earlier_vs_later"
LATER_VS_EARLIER = "later_vs_earlier"
#: Comparisons that use already-treated units as controls (Goodman-Bacon 2021, Sec. 3.1).
FORBIDDEN = LATER_VS_EARLIER
COMPARISON_TYPES = (TREATED_VS_NEVER, EARLIER_VS_LATER, LATER_VS_EARLIER)


@dataclass(frozen=True)
class Comparison:
    """One 2x2 DiD of the decomposition: its type, groups, weight and estimate."""

    type: str
    treated: Any
    control: Any
    weight: float
    estimate: float

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "treated": self.treated, "control": self.control,
                "weight": self.weight, "estimate": self.estimate}


@dataclass(frozen=True)
class BaconDecomposition:
    """All 2x2 comparisons; ``twfe`` is their weighted sum (equal to the TWFE coefficient)."""

    comparisons: tuple[Comparison, ...]
    variance_d: float

    @property
    def twfe(self) -> float:
        return float(sum(c.weight * c.estimate for c in self.comparisons))

    @property
    def weight_sum(self) -> float:
        return float(sum(c.weight for c in self.comparisons))

    def by_type(self) -> dict[str, dict[str, float]]:
        """Total weight and weight-averaged estimate of each comparison type present."""
        out: dict[str, dict[str, float]] = {}
        for kind in COMPARISON_TYPES:
            parts = [c for c in self.comparisons if c.type == kind]
            weight = sum(c.weight for c in parts)
            if parts and weight > 0:
                out[kind] = {"weight": float(weight),
                             "estimate": float(sum(c.weight * c.estimate for c in parts) / weight),
                             "n_comparisons": len(parts)}
        return out

    @property
    def forbidden_share(self) -> float:
        """Share of the TWFE weight on later-vs-already-treated comparisons."""
        return float(sum(c.weight for c in self.comparisons if c.type == FORBIDDEN))

    def to_dict(self) -> dict[str, Any]:
        return {"twfe": self.twfe, "weight_sum": self.weight_sum, "forbidden_share": self.forbidden_share,
                "by_type": self.by_type(), "comparisons": [c.to_dict() for c in self.comparisons],
                "source": "Goodman-Bacon (2021), J. Econometrics 225:254, Theorem 1"}


def _group_period_means(y: np.ndarray, group: np.ndarray, time_pos: np.ndarray, n_groups: int,
                        n_periods: int) -> np.ndarray:
    cell = group * n_periods + time_pos
    size = n_groups * n_periods
    sums = np.bincount(cell, weights=y, minlength=size)
    counts = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).reshape(n_groups, n_periods)


def _double_demeaned_variance(first_pos: np.ndarray, n_periods: int) -> float:
    """V^D = mean of (D_it - D_i. - D_.t + D_..)^2 on the balanced panel: the weights' denominator in Theorem 1."""
    t = np.arange(n_periods)
    d = ((first_pos[:, None] >= 0) & (t[None, :] >= first_pos[:, None])).astype(float)
    resid = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    return float(np.mean(resid ** 2))


def _window(row: np.ndarray, start: int, stop: int) -> float:
    return float(row[start:stop].mean())


def _timing_pair(means: np.ndarray, k: int, l: int, pk: int, pl: int, share: np.ndarray, dbar: np.ndarray,
                 n_periods: int, variance_d: float, labels: list[Any]) -> list[Comparison]:
    """The two 2x2s between an earlier group k (treated at pk) and a later group l (pl > pk), eq. 4a-b, 10f-g."""
    nk, nl = share[k], share[l]
    nkl = nk / (nk + nl)
    out = []
    if pk > 0:
        s_k = (((nk + nl) * (1 - dbar[l])) ** 2 * nkl * (1 - nkl) * ((dbar[k] - dbar[l]) / (1 - dbar[l]))
               * ((1 - dbar[k]) / (1 - dbar[l])) / variance_d)
        b_k = ((_window(means[k], pk, pl) - _window(means[k], 0, pk))
               - (_window(means[l], pk, pl) - _window(means[l], 0, pk)))
        out.append(Comparison(EARLIER_VS_LATER, labels[k], labels[l], float(s_k), float(b_k)))
    s_l = ((nk + nl) * dbar[k]) ** 2 * nkl * (1 - nkl) * (dbar[l] / dbar[k]) * ((dbar[k] - dbar[l]) / dbar[k]) \
        / variance_d
    b_l = ((_window(means[l], pl, n_periods) - _window(means[l], pk, pl))
           - (_window(means[k], pl, n_periods) - _window(means[k], pk, pl)))
    out.append(Comparison(LATER_VS_EARLIER, labels[l], labels[k], float(s_l), float(b_l)))
    return out


def bacon_decomposition(y: np.ndarray, unit: np.ndarray, time_pos: np.ndarray, first_pos: np.ndarray,
                        n_periods: int, period_labels: np.ndarray | None = None) -> BaconDecomposition:
    """Goodman-Bacon decomposition on a balanced panel with absorbing treatment.

    ``unit`` holds unit codes 0..U-1 and ``time_pos`` period positions 0..T-1
    (each unit observed once in every period); ``first_pos[u]`` is the position
    of unit u's first treated period, -1 for never treated (0 = treated
    throughout, which the formula treats as the earliest timing group).
    """
    unit = np.asarray(unit)
    first_pos = np.asarray(first_pos, dtype=int)
    n_units = first_pos.size
    if unit.size != n_units * n_periods or np.bincount(unit * n_periods + time_pos).min(initial=1) != 1:
        raise ValueError("the Goodman-Bacon decomposition needs a balanced panel (each unit once per period)")
    timing = np.unique(first_pos[first_pos >= 0])
    has_never = bool((first_pos < 0).any())
    # group 0..K-1 are timing groups in order; group K is the never-treated group
    group_of_unit = np.where(first_pos < 0, timing.size, np.searchsorted(timing, first_pos))
    n_groups = timing.size + 1
    means = _group_period_means(np.asarray(y, dtype=float), group_of_unit[unit], time_pos, n_groups, n_periods)
    share = np.bincount(group_of_unit, minlength=n_groups) / n_units
    dbar = np.append((n_periods - timing) / n_periods, 0.0)
    labels = list(period_labels[timing]) if period_labels is not None else [int(p) for p in timing]
    labels.append("never")
    variance_d = _double_demeaned_variance(first_pos, n_periods)
    comparisons: list[Comparison] = []
    never = timing.size
    for k, pk in enumerate(timing):
        if has_never and pk > 0:
            nku = share[k] / (share[k] + share[never])
            s = (share[k] + share[never]) ** 2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k]) / variance_d
            b = ((_window(means[k], pk, n_periods) - _window(means[k], 0, pk))
                 - (_window(means[never], pk, n_periods) - _window(means[never], 0, pk)))
            comparisons.append(Comparison(TREATED_VS_NEVER, labels[k], "never", float(s), float(b)))
        for l in range(k + 1, timing.size):
            comparisons.extend(_timing_pair(means, k, l, int(pk), int(timing[l]), share, dbar, n_periods,
                                            variance_d, labels))
    return BaconDecomposition(comparisons=tuple(comparisons), variance_d=variance_d)
