"""Nearest-neighbour matching on the logit of the propensity score (``psm``).

Each target unit (the treated for the ATT, the controls for the ATC, every unit
for the ATE) is compared with the ``k`` units of the other arm whose estimated
logit propensity score is closest (Rosenbaum & Rubin 1985, Am. Stat. 39:33).
Matches farther than the caliper (0.2 pooled SDs of the logit score by default,
Austin 2011, Pharm. Stat. 10:150) are refused; target units left without a
match are dropped, counted and reported.

Ties are kept, not broken: every unit at the k-th smallest distance (up to
TIE_TOLERANCE) is used, each match of unit i weighted 1/#J(i) (Abadie & Imbens 2006,
Econometrica 74:235, Sec. 2; as in R Matching's ``ties=TRUE`` and Stata's
``teffects nnmatch``), so the result does not depend on row order.

Without replacement, matching is greedy: targets are served in a seeded
random order (or by descending / ascending score), one match per round.

Standard errors are Abadie & Imbens (2006, Theorem 7) for matching with
replacement, with sigma^2(X_i, W_i) estimated by matching within the same arm
(the estimator Theorem 7 uses); without replacement each unit is used at most
once, K_M(i) <= 1, and the same formula applies. The propensity score is
treated as known: the Abadie & Imbens (2016, Econometrica 84:781) adjustment
for an estimated score is not applied, so the ATE standard error tends to be
conservative and the ATT standard error can err either way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..datasets.public import NSW_ROLES
from ..diagnostics import standard_diagnostics
from ..errors import EstimationError, MethodError
from ..nuisance import propensity
from ..params import above, at_least
from ..prep import Prepared, prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._common import cache_key, finish

MAX_REPORTED_PAIRS = 1000
#: Distances on the logit scale closer than this count as equal. Discrete covariates
#: make exact ties common (age 22 and age 24 are equally far from age 23), and whether
#: floating point sees them as equal would otherwise depend on rounding in the fit.
#: Stata's teffects nnmatch (dtolerance) and R's Matching package have similar tolerances.
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class MatchSet:
    """Matches of query units (one arm) into the other arm sorted by score.

    ``pool_weight`` is K_M(i)/M of Abadie & Imbens (2006, Sec. 2) generalised to
    ties and calipers: the sum over the queries that used pool unit i of
    1/#J(query). ``pool_weight_sq`` is the sum of the squares of those terms,
    which the variance needs once ties make #J(query) differ from M.
    """

    imputed: np.ndarray        # per query: mean outcome of its matches (nan when unmatched)
    n_matches: np.ndarray      # per query: #J(query), 0 when unmatched
    pool_weight: np.ndarray    # per pool unit (in sorted order)
    pool_weight_sq: np.ndarray
    pairs: list[tuple[int, int]]  # (query position, sorted pool position), at most MAX_REPORTED_PAIRS

    @property
    def matched(self) -> np.ndarray:
        return self.n_matches > 0


def pooled_sd(score: np.ndarray, t: np.ndarray) -> float:
    """sqrt((s1^2 + s0^2)/2) of the logit score, the yardstick of Austin (2011)."""
    t = t.astype(bool)
    return float(np.sqrt((np.var(score[t], ddof=1) + np.var(score[~t], ddof=1)) / 2))


def nearest_ranges(pool: np.ndarray, query: np.ndarray, k: int,
                   caliper: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Half-open ranges [L, R) of the sorted ``pool`` holding each query's matches.

    In one dimension the k nearest neighbours of x lie among the k pool values
    on each side of its insertion point, so one searchsorted plus a (n, 2k)
    window gives the k-th smallest distance d_k in O(n log n). The matches are
    then every pool value within d_k + TIE_TOLERANCE of x (ties kept), trimmed
    to the caliper: a contiguous range of the sorted pool.
    """
    n = pool.size
    k = min(k, n)
    pos = np.searchsorted(pool, query)
    cand = pos[:, None] + np.arange(-k, k)[None, :]
    valid = (cand >= 0) & (cand < n)
    dist = np.where(valid, np.abs(pool[np.clip(cand, 0, n - 1)] - query[:, None]), np.inf)
    reach = np.partition(dist, k - 1, axis=1)[:, k - 1] + TIE_TOLERANCE
    if caliper is not None:
        reach = np.minimum(reach, caliper)
    return (np.searchsorted(pool, query - reach, side="left"),
            np.searchsorted(pool, query + reach, side="right"))


def range_pairs(lower: np.ndarray, upper: np.ndarray, limit: int = MAX_REPORTED_PAIRS) -> list[tuple[int, int]]:
    """The first ``limit`` (query, pool position) links, in query order."""
    counts = upper - lower
    stop = min(int(np.searchsorted(np.cumsum(counts), limit)) + 1, counts.size)
    query = np.repeat(np.arange(stop), counts[:stop])
    # position within each query's range: a running count that restarts where each range starts
    offset = np.arange(query.size) - np.repeat(np.cumsum(counts[:stop]) - counts[:stop], counts[:stop])
    return list(zip(query.tolist(), (lower[query] + offset).tolist()))[:limit]


def match_with_replacement(pool: np.ndarray, pool_y: np.ndarray, query: np.ndarray, k: int,
                           caliper: float | None) -> MatchSet:
    """Each query takes its k nearest pool units (ties kept), reuse allowed."""
    lower, upper = nearest_ranges(pool, query, k, caliper)
    count = upper - lower
    ok = count > 0
    centre = float(pool_y.mean())       # centred prefix sums keep the means accurate on large n
    prefix = np.concatenate([[0.0], np.cumsum(pool_y - centre)])
    with np.errstate(invalid="ignore", divide="ignore"):
        imputed = np.where(ok, centre + (prefix[upper] - prefix[lower]) / count, np.nan)
        share = np.where(ok, 1.0 / count, 0.0)
    size = pool.size + 1
    # K_M(i)/M by a difference array over the ranges: +share at L, -share at R.
    weight = np.cumsum(np.bincount(lower, share, size) - np.bincount(upper, share, size))[:-1]
    weight_sq = np.cumsum(np.bincount(lower, share ** 2, size) - np.bincount(upper, share ** 2, size))[:-1]
    used = np.cumsum(np.bincount(lower[ok], minlength=size) - np.bincount(upper[ok], minlength=size))[:-1] > 0
    return MatchSet(imputed=imputed, n_matches=count, pool_weight=np.where(used, weight, 0.0),
                    pool_weight_sq=np.where(used, weight_sq, 0.0), pairs=range_pairs(lower, upper))


def find_free(parent: list[int], x: int) -> int:
    """Union-find root with path compression: the nearest still-free slot."""
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def greedy_without_replacement(pool: np.ndarray, pool_y: np.ndarray, query: np.ndarray, k: int,
                               caliper: float | None, order: np.ndarray) -> MatchSet:
    """Greedy nearest-available matching in ``order``, one match per query per round.

    Round r gives every query still in play its r-th match (as MatchIt's greedy
    ratio matching does), so early queries cannot take all close controls at
    once. Free slots left and right of a position are found by union-find, so
    the whole pass is O(n log n) for the sort plus near-constant work per match.
    Equal distances (up to TIE_TOLERANCE) go to the lower score.
    """
    n = pool.size
    values, targets = pool.tolist(), query.tolist()
    right = list(range(n + 1))          # right[p]: first free slot >= p (n means none)
    left = list(range(n + 1))           # left[p]: 1 + last free slot < p (0 means none)
    insert = np.searchsorted(pool, query).tolist()
    chosen: list[list[int]] = [[] for _ in targets]
    in_play = [int(q) for q in order]
    for _ in range(k):
        still: list[int] = []
        for q in in_play:
            x = targets[q]
            r = find_free(right, insert[q])
            l_ = find_free(left, insert[q]) - 1
            d_left = x - values[l_] if l_ >= 0 else math.inf
            d_right = values[r] - x if r < n else math.inf
            pick = l_ if d_left <= d_right + TIE_TOLERANCE else r
            if math.isinf(min(d_left, d_right)) or (
                    caliper is not None and not x - caliper <= values[pick] <= x + caliper):
                continue
            chosen[q].append(pick)
            right[pick], left[pick + 1] = pick + 1, pick
            still.append(q)
        in_play = still
    return match_set_from_lists(chosen, pool_y)


def match_set_from_lists(chosen: list[list[int]], pool_y: np.ndarray) -> MatchSet:
    """MatchSet from explicit match lists (each pool unit used at most once)."""
    n_matches = np.array([len(c) for c in chosen], dtype=int)
    imputed = np.array([pool_y[c].mean() if c else np.nan for c in chosen])
    weight = np.zeros(pool_y.size)
    weight_sq = np.zeros(pool_y.size)
    pairs: list[tuple[int, int]] = []
    for q, c in enumerate(chosen):
        if c:
            weight[c] += 1.0 / len(c)
            weight_sq[c] += 1.0 / len(c) ** 2
            if len(pairs) < MAX_REPORTED_PAIRS:
                pairs.extend((q, p) for p in sorted(c))
    return MatchSet(imputed=imputed, n_matches=n_matches, pool_weight=weight, pool_weight_sq=weight_sq,
                    pairs=pairs[:MAX_REPORTED_PAIRS])


def same_arm_variance(score_sorted: np.ndarray, y_sorted: np.ndarray, neighbours: int) -> np.ndarray:
    """sigma^2(X_i, W_i) by matching within the arm (Abadie & Imbens 2006, as used in Theorem 7).

    sigma2_i = J/(J+1) * (Y_i - mean of its J nearest same-arm neighbours)^2,
    which is unbiased for the conditional variance when the neighbours share
    X_i. Ties with the J-th neighbour are kept, so J is the size of that set.
    """
    lower, upper = nearest_ranges(score_sorted, score_sorted, neighbours + 1, None)
    count = upper - lower - 1           # a unit is always inside its own range
    centred = y_sorted - y_sorted.mean()
    prefix = np.concatenate([[0.0], np.cumsum(centred)])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (prefix[upper] - prefix[lower] - centred) / count
        return np.where(count > 0, count / (count + 1) * (centred - mean) ** 2, np.nan)


@dataclass(frozen=True)
class Direction:
    """One matching direction: target units of one arm matched into the other arm."""

    targets: np.ndarray     # positions (in the prepared arrays) of the target units
    pool: np.ndarray        # positions of the other arm, sorted by score
    sign: float             # +1: targets treated, effect Y - Yhat(0); -1: targets control
    matches: MatchSet

    def effects(self, y: np.ndarray) -> np.ndarray:
        """Yhat_i(1) - Yhat_i(0) for each matched target unit."""
        ok = self.matches.matched
        return self.sign * (y[self.targets[ok]] - self.matches.imputed[ok])


def processing_order(query: np.ndarray, order: str, seed: int) -> np.ndarray:
    """Order in which greedy matching serves the queries (seeded when random)."""
    if order == "random":
        return np.random.default_rng(seed).permutation(query.size)
    return np.argsort(-query if order == "largest" else query, kind="stable")


def run_matching(score: np.ndarray, y: np.ndarray, t: np.ndarray, estimand: str, *, k: int,
                 caliper: float | None, replace: bool, order: str, seed: int) -> list[Direction]:
    """Match treated into controls (ATT), controls into treated (ATC), or both (ATE)."""
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    plan = {"att": [(treated, control, 1.0)], "atc": [(control, treated, -1.0)],
            "ate": [(treated, control, 1.0), (control, treated, -1.0)]}[estimand]
    out = []
    for targets, arm, sign in plan:
        pool = arm[np.argsort(score[arm], kind="stable")]
        if replace:
            found = match_with_replacement(score[pool], y[pool], score[targets], k, caliper)
        else:
            found = greedy_without_replacement(score[pool], y[pool], score[targets], k, caliper,
                                               processing_order(score[targets], order, seed))
        out.append(Direction(targets=targets, pool=pool, sign=sign, matches=found))
    return out


def within_arm_variances(score: np.ndarray, y: np.ndarray, t: np.ndarray, neighbors: int) -> np.ndarray:
    """sigma^2(X_i, W_i) for every unit, matching within its own arm."""
    sigma2 = np.full(y.size, np.nan)
    for arm in (np.flatnonzero(t == 1), np.flatnonzero(t == 0)):
        ordered = arm[np.argsort(score[arm], kind="stable")]
        sigma2[ordered] = same_arm_variance(score[ordered], y[ordered], neighbors)
    return sigma2


def ai_variance(directions: list[Direction], effects: np.ndarray, tau: float, sigma2: np.ndarray,
                ate: bool) -> float:
    """Abadie & Imbens (2006, Theorem 7) variance of the matching estimator.

    ATT (and ATC with the arms swapped), Theorem 7(ii):
        V = 1/N1^2 [ sum_{W=1} (Y_i - Yhat_i(0) - tau)^2 + sum_{W=0} K(i)(K(i)-1)/M^2 sigma2_i ]
    ATE, Theorem 7(i):
        V = 1/N^2 sum_i [ (Yhat_i(1) - Yhat_i(0) - tau)^2 + ((K(i)/M)^2 + (2M-1)/M K(i)/M) sigma2_i ]
    With w_i = K(i)/M and s_i = K(i)/M^2 the sigma2 coefficients are w^2 - s and
    w^2 + 2w - s. Written this way they stay exact when ties or the caliper make
    #J(i) differ from M: s_i is then the sum of squared match weights (1/#J)^2,
    the share of sigma2_i already inside the first sum.
    """
    total = float(np.sum((effects - tau) ** 2))
    for d in directions:
        w, s = d.matches.pool_weight, d.matches.pool_weight_sq
        coef = w ** 2 - s + (2 * w if ate else 0.0)
        total += float(np.sum(np.where(w > 0, coef * sigma2[d.pool], 0.0)))
    return total / effects.size ** 2


def balance_weights(n: int, directions: list[Direction]) -> np.ndarray:
    """Weights the matched sample puts on each unit: 1 per matched target plus K(i)/M as a match."""
    w = np.zeros(n)
    for d in directions:
        w[d.targets[d.matches.matched]] += 1.0
        w[d.pool] += d.matches.pool_weight
    return w


def reported_pairs(prep: Prepared, directions: list[Direction]) -> list[list]:
    """First MAX_REPORTED_PAIRS links as [treated_row, control_row] in the frame's index."""
    rows: list[list] = []
    for d in directions:
        pairs = np.asarray(d.matches.pairs[:MAX_REPORTED_PAIRS - len(rows)], dtype=np.int64).reshape(-1, 2)
        # one take per side; an Index's elements are what indexing it one position at a time gives
        targets = prep.index.take(d.targets[pairs[:, 0]]).tolist()
        matches = prep.index.take(d.pool[pairs[:, 1]]).tolist()
        rows.extend(zip(targets, matches) if d.sign > 0 else zip(matches, targets))
    return [[python_scalar(a), python_scalar(b)] for a, b in rows]


def python_scalar(label: object) -> object:
    """A row label as a plain Python value (JSON-friendly); int, float and str already are."""
    return label if type(label) in (int, float, str) else np.asarray(label).item()


def match_counts(directions: list[Direction]) -> dict[str, int]:
    """Matched and unmatched target units by arm, and the links between them.

    matched_pairs counts target units with at least one match: the treated for
    the ATT, the controls for the ATC, units of both arms for the ATE.
    """
    out = {"unmatched_treated": 0, "unmatched_control": 0}
    matched = links = 0
    for d in directions:
        ok = d.matches.matched
        matched += int(ok.sum())
        links += int(d.matches.n_matches.sum())
        out["unmatched_treated" if d.sign > 0 else "unmatched_control"] = int((~ok).sum())
    return {"matched_pairs": matched, "matched_links": links, **out}


def matching_diagnostics(prep: Prepared, ps: np.ndarray, directions: list[Direction], *,
                         caliper_width: float | None, converged: bool) -> dict:
    counts = match_counts(directions)
    n_targets = sum(d.targets.size for d in directions)
    weights = balance_weights(prep.n, directions)
    out = standard_diagnostics(prep, ps=ps, weights=weights)
    out.update(counts, matched_share=counts["matched_pairs"] / n_targets,
               caliper_width=caliper_width, distinct_matches_used=int(sum((d.matches.pool_weight > 0).sum()
                                                                         for d in directions)),
               max_match_weight=float(max(d.matches.pool_weight.max() for d in directions)),
               propensity_converged=bool(converged), pairs=reported_pairs(prep, directions))
    return out


def matched_label(estimand: str, diagnostics: dict) -> str:
    """Units left unmatched (outside the caliper, or out of partners without replacement) leave the
    population: the number then describes the matched units only."""
    if not diagnostics["unmatched_treated"] + diagnostics["unmatched_control"]:
        return ""
    return {"att": "ATT: matched treated units (those that found a partner)",
            "atc": "ATC: matched untreated units (those that found a partner)",
            "ate": "ATE: matched units (those that found a partner)"}[estimand]


def matching_warnings(prep: Prepared, roles: Roles, counts: dict[str, int], estimand: str,
                      caliper: float | None, converged: bool) -> list[str]:
    warnings = list(prep.warnings)
    lost = counts["unmatched_treated"] + counts["unmatched_control"]
    if lost:
        group = {"att": "treated", "atc": "control", "ate": ""}[estimand]
        # without a caliper a unit goes unmatched only when matching without replacement runs out of partners
        why = (f"within the caliper ({caliper:g} SD of the logit propensity score)" if caliper is not None
               else "left (matching without replacement used up the comparison units)")
        warnings.append(f"{lost} {group + ' ' if group else ''}unit(s) had no match {why} and were left out; "
                        f"the estimate describes the {counts['matched_pairs']} matched unit(s) only.")
    if not converged:
        warnings.append("The propensity model did not converge (the covariates may nearly separate the groups); "
                        "matches rest on an unstable score.")
    if roles.weight:
        warnings.append("Matching ignores the sampling-weight column; the estimate is unweighted.")
    if roles.cluster:
        warnings.append("The matching standard error assumes independent rows; the cluster column is not used.")
    return warnings


def check_matching_params(estimand: str, replace: bool) -> None:
    """Parameter combinations a signature cannot express (single values: params.check_values)."""
    if estimand == "ate" and not replace:
        raise MethodError("The ATE matches in both directions, which needs matching with replacement.",
                          "Use replace=True for the ATE, or ask for the ATT or ATC without replacement.",
                          code="E-METHOD-006")


def no_match_error(estimand: str, caliper: float, width: float) -> EstimationError:
    group = "control" if estimand == "atc" else "treated"
    other = "treated" if estimand == "atc" else "control"
    return EstimationError(f"No {group} unit has a {other} unit within the caliper ({caliper:g} SD of the logit "
                           f"propensity score = {width:.3g}): the groups do not overlap enough to match.",
                           "Widen the caliper (e.g. caliper=0.5) or drop it (caliper=None), and check the "
                           "overlap diagnostics before trusting any estimate.", code="E-EST-010")


@register("psm", family="selection_on_observables", design="cross_section", estimands=("att", "ate", "atc"),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Propensity score matching",
          summary="Pairs each treated unit with the untreated unit(s) most alike in their estimated chance of "
                  "treatment, then compares the outcomes within the pairs.",
          inference="Abadie-Imbens (2006)",
          params={
              "k": "Number of comparison units matched to each treated unit. More neighbours: less noise, more "
                   "bias.",
              "caliper": "Largest allowed distance between matched units, in standard deviations of the logit "
                         "score (0.2 is Austin's 2011 recommendation). Empty = no limit.",
              "replace": "Allow a comparison unit to be reused. Better matches, slightly wider intervals.",
              "order": "Order in which treated units pick partners when matching without replacement.",
              "variance_neighbors": "Neighbours used to estimate the noise of each unit's outcome "
                                    "(Abadie-Imbens).",
          },
          headline_rank=30, example=examples.confounded, transparency=0.9, cost_exponent=1.1,
          references=(
              # matching written from scratch with statsmodels Logit + scikit-learn NearestNeighbors
              *(Reference(quantity, value, tolerance, relative=True, data="causaldata:nsw_mixtape",
                          roles=NSW_ROLES, params={"estimand": "att", "k": k, "caliper": caliper},
                          source="statsmodels 0.15 Logit score + scikit-learn 1.9 NearestNeighbors (ties kept), "
                                 "Abadie-Imbens (2006) variance, on the NSW experimental sample",
                          script="tests/estimators/references/scripts/psm_nsw_sklearn.py",
                          why_tolerance="the same matches, so exact up to summation order: 1e-9 relative, as "
                                        "test_att_agrees_with_sklearn_reference_on_nsw (pairs: exact)")
                for k, caliper, quantity, value, tolerance in (
                    (1, 0.2, "estimate", 2577.0616980088867, 1e-9), (1, 0.2, "std_error", 701.0185936550741, 1e-9),
                    (1, 0.2, "diagnostics.matched_pairs", 183, 0.0),
                    (1, None, "estimate", 2639.864554546459, 1e-9), (1, None, "std_error", 723.5369072209332, 1e-9),
                    (1, None, "diagnostics.matched_pairs", 185, 0.0),
                    (3, 0.2, "estimate", 2453.5736461122906, 1e-9), (3, 0.2, "std_error", 696.1472745472133, 1e-9),
                    (3, 0.2, "diagnostics.matched_pairs", 183, 0.0))),
              *(Reference("estimate", 1794.34, tolerance, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                          params={"estimand": estimand},
                          source="LaLonde (1986); Dehejia & Wahba (1999): NSW experimental benchmark, treated "
                                 "minus control mean 1978 earnings ($1794; 1794.34 on causaldata.nsw_mixtape)",
                          script="printed in the source",
                          why_tolerance=f"2 SE of this estimate (SE {se}, rounded down), the band of "
                                        "test_nsw_estimates_sit_near_the_experimental_benchmark")
                for estimand, tolerance, se in (("att", 1402.0, "701.02"), ("ate", 1476.0, "738.20"))),
          ))
def psm(data: Dataset, roles: Roles, *, estimand: Literal["att", "ate", "atc"] = "att", alpha: float = 0.05,
        seed: int = 0, k: Annotated[int, at_least(1)] = 1, caliper: Annotated[float | None, above(0)] = 0.2,
        replace: bool = True, order: Literal["random", "largest", "smallest"] = "random",
        variance_neighbors: Annotated[int, at_least(1)] = 1) -> EffectResult:
    """Nearest-neighbour matching on the logit propensity score.

    k neighbours per target (ties kept), caliper in pooled SDs of the logit
    score (None: no caliper), with or without replacement (greedy in ``order``,
    seeded when random). Standard error: Abadie & Imbens (2006) with sigma^2
    from ``variance_neighbors`` same-arm matches, treating the propensity score
    as known (the Abadie & Imbens 2016 adjustment is not applied).
    """
    check_matching_params(estimand, replace)
    prep = prepare(data, roles)
    fit = propensity(prep.X, prep.t, key=cache_key(data, roles, "logit"))
    score = fit.linear_predictor
    width = None if caliper is None else caliper * pooled_sd(score, prep.t)
    directions = run_matching(score, prep.y, prep.t, estimand, k=int(k), caliper=width, replace=replace,
                              order=order, seed=seed)
    effects = np.concatenate([d.effects(prep.y) for d in directions])
    if effects.size == 0:
        raise no_match_error(estimand, caliper or 0.0, width or 0.0)
    tau = float(effects.mean())
    sigma2 = within_arm_variances(score, prep.y, prep.t, int(variance_neighbors))
    se = math.sqrt(ai_variance(directions, effects, tau, sigma2, ate=estimand == "ate"))
    diagnostics = matching_diagnostics(prep, fit.fitted, directions, caliper_width=width, converged=fit.converged)
    warnings = matching_warnings(prep, roles, match_counts(directions), estimand, caliper, fit.converged)
    se_method = (f"Abadie-Imbens (2006) matching variance, sigma^2 from {variance_neighbors} same-arm match(es); "
                 "propensity score treated as known (Abadie-Imbens 2016 adjustment not applied)")
    return finish("psm", estimand, tau, se, alpha=alpha, n_obs=prep.n, se_method=se_method,
                  estimand_label=matched_label(estimand, diagnostics),
                  diagnostics=diagnostics, warnings=warnings)
