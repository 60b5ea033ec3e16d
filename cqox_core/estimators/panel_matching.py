"""Panel matching (Imai, Kim & Wang 2023, AJPS 67:587), for treatments that switch on and off.

A treated observation is a unit-period (i, t) where the unit switches from
control at t-1 to treated at t. Its matched set M_it holds the units that are
untreated at t and have exactly the same treatment history over t-L..t-1
(IKW 2023, eq. 3). Refinement (Sec. 3.2) keeps the `size_match` controls with the
smallest Mahalanobis distance on the lagged outcome and time-varying covariates,
averaged over the L lags:

    S_it(i') = (1/L) sum_l sqrt((V_i,t-l - V_i',t-l)' Sigma^-1 (V_i,t-l - V_i',t-l))

with Sigma the covariance of V pooled over all unit-periods (one matrix for the
whole panel, which stays stable when matched sets are small), each kept control
getting weight 1/|kept|. The effect F periods after the switch is the
difference-in-differences of IKW eq. 8:

    ATT(F) = (1/sum D_it) sum D_it [(Y_i,t+F - Y_i,t-1) - sum_{i' in M_it} w_it^i' (Y_i',t+F - Y_i',t-1)]

over treated observations with a non-empty matched set. `by` holds F = 0..leads
labelled "0", "1", ...; the headline number is F = 0, the effect in the period of
the switch.

Standard errors: block bootstrap over units (IKW 2023, Sec. 4). Each draw
resamples whole units; a drawn treated observation keeps its (refined) matched
set, whose controls are re-weighted by how often they were drawn. The matched
sets are not searched again in each draw (refinement is held fixed), but each
treated change stays paired with its controls' changes in the same period.
PanelMatch instead holds the weights fixed and resamples unit contributions,
which unpairs them; under a common trend that overstates the SE (about twice the
Monte Carlo spread in tests/test_panel_matching.py's simulation).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd

from ..data import Dataset
from ..datasets import examples
from ..errors import EstimationError
from ..panel import check_outcome_and_treatment, prepare_panel
from ..params import at_least
from ..prep import covariate_columns
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish, period_label, sub_estimate


@dataclass(frozen=True)
class Wide:
    """Unit x period matrices (NaN where a unit-period is missing)."""

    units: np.ndarray
    periods: np.ndarray
    d: np.ndarray                 # treatment, N x T
    y: np.ndarray                 # outcome, N x T
    v: np.ndarray                 # refinement variables, N x T x p (outcome first, then covariates)
    v_names: list[str]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class MatchedSet:
    unit: int                     # row of the treated unit
    t: int                        # column of the switch period
    candidates: np.ndarray        # rows of controls with the same history (before refinement)
    kept: np.ndarray              # rows kept after refinement
    distances: np.ndarray         # refinement distances of the candidates (NaN without refinement)


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

def build_wide(data: Dataset, roles: Roles) -> Wide:
    check_outcome_and_treatment(data, roles, ("outcome", "treatment", "unit", "time"))
    panel = prepare_panel(data, dataclasses.replace(roles, cohort=None))
    frame = panel.frame
    covs, columns = refinement_columns(frame, panel.covariates)
    units = np.asarray(frame["unit"].drop_duplicates().sort_values().to_numpy())
    periods = panel.periods
    row = pd.Index(units).get_indexer(frame["unit"])
    col = pd.Index(periods).get_indexer(frame["time"])
    shape = (units.size, periods.size)

    def matrix(values: np.ndarray) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[row, col] = values
        return out

    d = matrix(frame["d"].to_numpy(dtype=float))
    y = matrix(frame["y"].to_numpy(dtype=float))
    v = np.stack([y] + [matrix(values) for values in columns], axis=2)
    return Wide(units=units, periods=periods, d=d, y=y, v=v, v_names=["y", *covs], warnings=panel.warnings)


def refinement_columns(frame: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[list[str], list[np.ndarray]]:
    """Numeric covariates as numbers; a text one as indicators of its levels (first level left out, as
    everywhere in CQOx), each compared over the lags like any other variable. More than 50 levels is
    refused (E-ROLE-011): a Mahalanobis distance over hundreds of indicators matches on noise."""
    names: list[str] = []
    columns: list[np.ndarray] = []
    for c in covariates:
        values = pd.to_numeric(frame[c], errors="coerce")
        if not values.isna().any():
            names.append(c)
            columns.append(values.to_numpy(dtype=float))
            continue
        indicators, indicator_names, _ = covariate_columns(frame, (c,))
        names.extend(indicator_names)
        columns.extend(indicators[:, j] for j in range(indicators.shape[1]))
    return names, columns


# ---------------------------------------------------------------------------
# matched sets and refinement
# ---------------------------------------------------------------------------

def treated_observations(d: np.ndarray, lag: int) -> tuple[list[tuple[int, int]], int]:
    """(unit, t) with d[t-1] = 0, d[t] = 1 and a complete history t-L..t-1; also how many lacked the history."""
    obs, short = [], 0
    rows, cols = np.nonzero((d[:, 1:] == 1) & (d[:, :-1] == 0))
    for i, t in zip(rows, cols + 1):
        if t - lag < 0 or np.isnan(d[i, t - lag:t]).any():
            short += 1
        else:
            obs.append((int(i), int(t)))
    return obs, short


def history_matches(d: np.ndarray, i: int, t: int, lag: int) -> np.ndarray:
    """Units untreated at t whose treatment over t-L..t-1 equals unit i's (IKW 2023, eq. 3)."""
    window = d[:, t - lag:t]
    same = np.all(window == d[i, t - lag:t], axis=1) & (d[:, t] == 0)
    same[i] = False
    return np.flatnonzero(same)


def pooled_inverse_covariance(v: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of the covariance of V over all complete unit-periods, after removing each period's
    mean (so a common trend does not inflate the outcome's variance and drown it in the distance)."""
    with np.errstate(invalid="ignore"):
        centred = v - np.nanmean(v, axis=0, keepdims=True)
    flat = centred.reshape(-1, v.shape[2])
    flat = flat[~np.isnan(flat).any(axis=1)]
    cov = np.atleast_2d(np.cov(flat, rowvar=False)) if len(flat) > 1 else np.eye(v.shape[2])
    return np.linalg.pinv(cov)


def refine(wide: Wide, i: int, t: int, candidates: np.ndarray, lag: int, size_match: int,
           inv_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the size_match candidates closest in average lagged Mahalanobis distance (IKW 2023, Sec. 3.2)."""
    diffs = wide.v[candidates, t - lag:t, :] - wide.v[i, t - lag:t, :][None]       # J x L x p
    per_lag = np.sqrt(np.einsum("jlp,pq,jlq->jl", diffs, inv_cov, diffs))
    observed = ~np.isnan(per_lag)
    n_lags = observed.sum(axis=1)
    distance = np.where(n_lags > 0, np.where(observed, per_lag, 0.0).sum(axis=1) / np.maximum(n_lags, 1), np.nan)
    usable = ~np.isnan(distance)
    order = np.lexsort((candidates, np.where(usable, distance, np.inf)))      # ties broken by unit order
    order = order[usable[order]][:size_match]
    return candidates[np.sort(order)], distance


def matched_sets(wide: Wide, lag: int, refinement: str, size_match: int) -> tuple[list[MatchedSet], dict[str, int]]:
    obs, short = treated_observations(wide.d, lag)
    inv_cov = pooled_inverse_covariance(wide.v) if refinement == "mahalanobis" else None
    sets, empty = [], 0
    for i, t in obs:
        cand = history_matches(wide.d, i, t, lag)
        if cand.size == 0:
            empty += 1
            continue
        if inv_cov is None:
            kept, dist = cand, np.full(cand.size, np.nan)
        else:
            kept, dist = refine(wide, i, t, cand, lag, size_match, inv_cov)
            if kept.size == 0:
                empty += 1
                continue
        sets.append(MatchedSet(i, t, cand, kept, dist))
    return sets, {"n_treated_switches": len(obs) + short, "n_without_history": short, "n_empty_sets": empty}


# ---------------------------------------------------------------------------
# the difference-in-differences estimate and its unit contributions
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LeadEstimate:
    lead: int
    estimate: float
    treated_unit: np.ndarray      # per usable set: row of its treated unit
    treated_change: np.ndarray    # per set: Y_i,t+F - Y_i,t-1
    control_change: np.ndarray    # sets x units: controls' changes (0 outside the set)
    control_member: np.ndarray    # sets x units: 1 for the set's kept controls with observed changes

    @property
    def n_sets(self) -> int:
        return int(self.treated_unit.size)


def lead_estimate(wide: Wide, sets: list[MatchedSet], lead: int) -> LeadEstimate:
    """ATT(F) of IKW 2023 eq. 8: mean over usable sets of the treated change minus its controls' mean change."""
    n_units, n_periods = wide.y.shape
    units, treated, rows_change, rows_member = [], [], [], []
    for s in sets:
        after = s.t + lead
        if after >= n_periods:
            continue
        change = wide.y[:, after] - wide.y[:, s.t - 1]
        controls = s.kept[~np.isnan(change[s.kept])]
        if np.isnan(change[s.unit]) or controls.size == 0:
            continue
        member = np.zeros(n_units)
        member[controls] = 1.0
        units.append(s.unit)
        treated.append(change[s.unit])
        rows_change.append(np.where(member > 0, np.nan_to_num(change), 0.0))
        rows_member.append(member)
    shape = (len(units), n_units)
    est = LeadEstimate(lead, math.nan, np.array(units, dtype=int), np.array(treated),
                       np.array(rows_change).reshape(shape), np.array(rows_member).reshape(shape))
    if est.n_sets:
        control_mean = est.control_change.sum(axis=1) / est.control_member.sum(axis=1)
        est = dataclasses.replace(est, estimate=float(np.mean(est.treated_change - control_mean)))
    return est


def unit_bootstrap(estimates: list[LeadEstimate], n_units: int, n_boot: int, seed: int) -> np.ndarray:
    """n_boot x leads draws of a block bootstrap over units (IKW 2023, Sec. 4).

    Each draw resamples whole units with replacement (multiplicities m ~ multinomial(N, 1/N)). A treated
    observation counts m_i times and keeps its matched set, whose controls are averaged with weights
    proportional to how often each was drawn; a set with no control drawn drops out. Keeping each treated
    change paired with its controls' changes in the same period is what removes common shocks; holding the
    weights fixed instead (PanelMatch) unpairs them and overstates the SE under common trends.
    """
    rng = np.random.default_rng(seed)
    m = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(float)
    draws = np.full((n_boot, len(estimates)), np.nan)
    for k, est in enumerate(estimates):
        if not est.n_sets:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            control_mean = (m @ est.control_change.T) / (m @ est.control_member.T)      # draws x sets
            term = est.treated_change[None, :] - control_mean
            weight = m[:, est.treated_unit] * np.isfinite(term)
            draws[:, k] = np.sum(weight * np.nan_to_num(term), axis=1) / weight.sum(axis=1)
    return draws


# ---------------------------------------------------------------------------
# balance (IKW 2023, Sec. 3.3)
# ---------------------------------------------------------------------------

def balance(wide: Wide, sets: list[MatchedSet], lag: int, refined: bool) -> dict[str, float]:
    """Standardised difference of each lagged variable between treated observations and their matched
    controls (IKW 2023, Sec. 3.3): the mean over treated observations of (V_i,t-l - mean of its matched
    controls' V_i',t-l) / sd_t-l, with sd_t-l the spread of V across units in period t-l. Keys "y_lag1"."""
    out: dict[str, float] = {}
    sd = np.nanstd(wide.v, axis=0, ddof=1)                      # T x p
    for l in range(1, lag + 1):
        diffs = []
        for s in sets:
            members = s.kept if refined else s.candidates
            gap = wide.v[s.unit, s.t - l, :] - np.nanmean(wide.v[members, s.t - l, :], axis=0)
            scale = sd[s.t - l]
            diffs.append(np.where(scale > 0, gap / np.where(scale > 0, scale, 1.0), 0.0))
        mean = np.nanmean(np.array(diffs), axis=0) if diffs else np.full(len(wide.v_names), np.nan)
        for name, m in zip(wide.v_names, mean):
            out[f"{name}_lag{l}"] = float(m)
    return out


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------

def _check_params(lag: int, n_periods: int) -> None:
    """What the signature cannot say (types and bounds of each parameter: params.check_values)."""
    if lag >= n_periods:
        raise EstimationError(f"A treatment history of {lag} lags needs more than {lag} periods; the panel has "
                              f"{n_periods}.", f"Use lag={max(1, n_periods - 2)} or fewer.", code="E-EST-069")


@register("panel_matching", family="panel", design="panel", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "unit", "time"), recommended=("covariates",),
                                treatment="binary", panel=True, min_rows=8),
          title="Panel matching",
          summary="Matches each unit that switches into treatment with units that had the same treatment history "
                  "and similar past outcomes, then compares how their outcomes changed (difference-in-differences).",
          inference="block bootstrap over units",
          params={
              "lag": "Number of past periods whose treatment history must match exactly.",
              "leads": "Periods after the switch for which effects are estimated (0 = the switch period).",
              "refinement": "How matched sets are refined on past outcomes and covariates.",
              "size_match": "Largest number of comparison units kept per treated switch after refinement.",
              "n_boot": "Block-bootstrap replications over units for the standard error.",
          },
          headline_rank=40, example=lambda seed=0: examples.switching(seed, n_boot=30), transparency=0.85, cost_exponent=1.3,
          references=(
              # No peer package (PanelMatch is R only, not on PyPI) and no published number on offline data:
              # a hand computation in pandas of IKW (2023) eq. 8 on four units pins the arithmetic.
              *(Reference(quantity, value, 1e-12, data="file:tests/estimators/references/panel_matching_hand.json",
                          roles={"outcome": "y", "treatment": "d", "unit": "unit", "time": "year"},
                          params={"lag": 1, "leads": 1, "refinement": "none", "n_boot": 50},
                          source="hand computation with pandas of Imai, Kim & Wang (2023) eq. 8 (not a peer "
                                 "library: none exists in Python)",
                          script="tests/estimators/references/scripts/panel_matching_hand.py",
                          why_tolerance="exact arithmetic on a few numbers: 1e-12, as "
                                        "test_small_example_matches_hand_computation")
                for quantity, value in (("estimate", 2.75), ("by.0", 2.75), ("by.1", 2.375))),
          ))
def panel_matching(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05,
                   seed: int = 0, lag: Annotated[int, at_least(1)] = 4, leads: Annotated[int, at_least(0)] = 3,
                   refinement: Literal["mahalanobis", "none"] = "mahalanobis",
                   size_match: Annotated[int, at_least(1)] = 5, n_boot: Annotated[int, at_least(2)] = 200
                   ) -> EffectResult:
    """IKW 2023 matching DiD; headline = lead 0 (the period of the switch); SE = unit block bootstrap."""
    wide = build_wide(data, roles)
    _check_params(lag, wide.periods.size)
    sets, counts = matched_sets(wide, lag, refinement, size_match)
    if not sets:
        raise EstimationError(_no_sets_message(counts, lag),
                              "Panel matching needs units that switch from untreated to treated, observed for "
                              f"{lag} periods before the switch, and untreated units with the same history; "
                              "try a shorter lag.", code="E-EST-068")
    per_lead = [lead_estimate(wide, sets, f) for f in range(leads + 1)]
    draws = unit_bootstrap(per_lead, wide.units.size, n_boot, seed)
    by = tuple(_sub(e, draws[:, k], alpha) for k, e in enumerate(per_lead))
    head = by[0]
    warnings = list(wide.warnings)
    bad = int(np.sum(~np.isfinite(draws[:, 0])))
    if bad:
        warnings.append(f"{bad} of {n_boot} bootstrap draws held no treated unit and were left out.")
    if counts["n_empty_sets"]:
        warnings.append(f"{counts['n_empty_sets']} treated switch(es) had no untreated unit with the same treatment "
                        "history and were dropped.")
    diagnostics = _diagnostics(wide, sets, counts, per_lead, lag, refinement)
    result = finish("panel_matching", "att", head.estimate, head.std_error, alpha=alpha,
                    estimand_label="ATT in the period of the switch: units switching into treatment",
                    n_obs=int(np.sum(~np.isnan(wide.y))),
                    se_method=f"block bootstrap over units ({n_boot} draws, refined matched sets held fixed)",
                    diagnostics=diagnostics, warnings=warnings, by=by)
    return result


def _sub(est: LeadEstimate, draws: np.ndarray, alpha: float) -> SubEstimate:
    finite = draws[np.isfinite(draws)]
    se = float(np.std(finite, ddof=1)) if finite.size > 1 else math.nan
    return sub_estimate(str(est.lead), est.estimate, se, alpha, n_obs=est.n_sets,
                        bootstrap_percentile_ci=[float(np.quantile(finite, alpha / 2)),
                                                 float(np.quantile(finite, 1 - alpha / 2))]
                        if finite.size > 1 else [math.nan, math.nan])


def _no_sets_message(counts: dict[str, int], lag: int) -> str:
    if counts["n_treated_switches"] == 0:
        return "No unit switches from untreated to treated, so there is nothing to match."
    return (f"{counts['n_treated_switches']} switch(es) into treatment were found, but none has both {lag} observed "
            f"periods of history ({counts['n_without_history']} lacked it) and an untreated unit with the same "
            "treatment history.")


def _diagnostics(wide: Wide, sets: list[MatchedSet], counts: dict[str, int], per_lead: list[LeadEstimate],
                 lag: int, refinement: str) -> dict[str, Any]:
    import warnings as _w

    with _w.catch_warnings():
        _w.simplefilter("ignore", RuntimeWarning)
        before = balance(wide, sets, lag, refined=False)
        after = balance(wide, sets, lag, refined=True)
    lags = list(range(1, lag + 1))
    return {
        "n_matched_sets": len(sets), **counts,
        "average_set_size_before": float(np.mean([s.candidates.size for s in sets])),
        "average_set_size": float(np.mean([s.kept.size for s in sets])),
        "n_treated": len(sets), "n_control": int(len({int(u) for s in sets for u in s.kept})),
        "refinement": refinement, "lag": lag,
        "n_used_by_lead": {str(e.lead): e.n_sets for e in per_lead},
        "smd_before": before, "smd_after": after,
        "balance_by_lag": {"lags": [-l for l in lags],
                           "variables": {nm: {"before": [before[f"{nm}_lag{l}"] for l in lags],
                                              "after": [after[f"{nm}_lag{l}"] for l in lags]}
                                         for nm in wide.v_names}},
        "switch_periods": sorted({period_label(wide.periods[s.t]) for s in sets}),
    }
