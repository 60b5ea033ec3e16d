"""Summaries of effect heterogeneity shared by the CATE methods (meta_learner, causal_forest): is the
heterogeneity real, who is most and least affected, which covariates modify the effect, and what
targeting by the estimated effect would earn (uplift).

Inference by repeated sample splitting (Chernozhukov, Demirer, Duflo & Fernandez-Val 2018, NBER w24678,
"Generic machine learning inference on heterogeneous treatment effects in randomized experiments", the
"variational" inference of their Sec. 4). Each of ``n_splits`` random splits halves the data into an
auxiliary and a main sample. On the auxiliary half the method fits its CATE model and the nuisance models;
on the main half every unit gets the estimated effect S_i = tau_hat(X_i) and its doubly robust score

    psi_i = m1(X_i) - m0(X_i) + T_i (Y_i - m1(X_i)) / e(X_i) - (1 - T_i)(Y_i - m0(X_i)) / (1 - e(X_i)),

whose conditional mean is the unit's true effect tau(X_i) whatever model produced S (the DR-score form
of the BLP, Semenova & Chernozhukov 2021, Econometrics J 24:264). Given the auxiliary half, the main
half's units are independent, so each split's tests are exact conditional tests. Over splits: point
estimates are medians, a (1 - alpha) interval is [median lower, median upper] of the splits' (1 - alpha/2)
intervals, and a p-value is min(1, 2 median p) (CDDF Sec. 4: valid whatever the dependence between splits).

Why not the out-of-fold effects of K-fold cross-fitting: fold k's CATE model is trained on the other
folds' outcomes, and those outcomes are evaluated too, so the fold statistics are correlated; for a
linear smoother under no heterogeneity the pooled statistic's variance is about twice its sandwich
estimate (the cross-fold terms equal the within-fold ones), and a nominal 5% test rejects about 16% of the
time (we measured 15% on 150 null draws). The per-row effects (``--effects-out``) and the descriptive
effect-modifier table still come from the out-of-fold fits, which use all rows.

Per split, on the main half:
- BLP: psi_i = b1 + b2 (S_i - mean S) + e_i. b1 is the ATE; b2 = Cov(tau, S) / Var(S) is 1 when S is the
  true CATE and 0 when S carries no information about the true effects, in particular when the effect is
  constant. The heterogeneity test is H0: b2 = 0 (two-sided; HC1 or cluster-robust SE).
- GATES: units sorted into ``n_groups`` groups by the quantiles of S; each group's ATE is the mean of psi
  in it, SE from its influence function.
- CLAN: covariate means in the most and least affected groups, their difference and its CI (Welch).
- Uplift: rank units by S, treat the top share q: the gain per unit of population is
  G(q) = (1/n) sum_{top qn} psi_i (in outcome units); random targeting gives q * mean(psi). AUUC is the
  area under G over q in [0, 1]; the Qini coefficient is the area between G and the random line (AUUC -
  ATE / 2). With psi in place of raw outcomes this is Radcliffe's (2007) Qini made valid for
  observational data. CI: bootstrap over the main half's units (whole clusters with a cluster role), S
  fixed: conditional on the auxiliary half's model, which is what the evaluation of that model needs.
Effect modifiers (descriptive, from the out-of-fold effects): the least-squares projection of S on the
standardised covariates, the change in the estimated effect per SD of each covariate holding the others
fixed, and its share of the total.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import special

from ..inference import bootstrap_draws, influence_se, ols
from ..results import SubEstimate

#: points of the uplift (Qini) curve kept for the figure
CURVE_POINTS = 51
#: covariate terms shown by CLAN and the effect-modifier table (largest first)
MAX_TERMS = 30


@dataclass(frozen=True)
class HeldOut:
    """Per unit: the out-of-sample estimated effect, its doubly robust score, its fold."""

    cate: np.ndarray
    score: np.ndarray
    folds: np.ndarray
    X: np.ndarray
    x_names: tuple[str, ...]
    cluster: np.ndarray | None = None


def wald(estimate: float, std_error: float, alpha: float) -> tuple[float, float, float]:
    """inference.wald's normal interval and p-value, through scipy.special (the summaries call it hundreds of
    times per analysis; a scipy.stats distribution method costs ~0.4 ms a call)."""
    if not (math.isfinite(estimate) and math.isfinite(std_error)) or std_error <= 0:
        return math.nan, math.nan, math.nan
    z = float(special.ndtri(1 - alpha / 2))
    return estimate - z * std_error, estimate + z * std_error, float(2 * special.ndtr(-abs(estimate / std_error)))


def fold_centred(values: np.ndarray, folds: np.ndarray) -> np.ndarray:
    out = np.empty_like(values, dtype=float)
    for k in np.unique(folds):
        mask = folds == k
        out[mask] = values[mask] - values[mask].mean()
    return out


def blp(h: HeldOut, alpha: float) -> dict[str, Any]:
    """Best linear predictor of the true effect by the estimated one (module docstring)."""
    centred = fold_centred(h.cate, h.folds)
    if not np.std(centred) > 1e-12 * max(1.0, float(np.std(h.score))):
        return {"ate": float(h.score.mean()), "heterogeneity": math.nan, "heterogeneity_p": math.nan,
                "note": "The model predicts the same effect for everyone, so it says nothing about heterogeneity."}
    design = np.column_stack([np.ones(h.score.size), centred])
    kind = "cluster" if h.cluster is not None else "HC1"
    fit = ols(design, h.score, cov_type=kind, cluster=h.cluster)
    (b1, b2), (s1, s2) = fit.coef, fit.se
    lo, hi, p = wald(float(b2), float(s2), alpha)
    return {"ate": float(b1), "ate_se": float(s1), "heterogeneity": float(b2), "heterogeneity_se": float(s2),
            "heterogeneity_ci": [lo, hi], "heterogeneity_p": p,
            "test": "H0: the estimated effects carry no information about the true ones (b2 = 0), two-sided"}


def group_labels(cate: np.ndarray, folds: np.ndarray, n_groups: int) -> np.ndarray:
    """0 .. n_groups-1 by the quantiles of the estimated effect within each fold (ties broken by order)."""
    groups = np.empty(cate.size, dtype=int)
    for k in np.unique(folds):
        idx = np.flatnonzero(folds == k)
        ranks = np.empty(idx.size, dtype=int)
        ranks[np.argsort(cate[idx], kind="stable")] = np.arange(idx.size)
        groups[idx] = ranks * n_groups // idx.size
    return groups


def group_ates(h: HeldOut, groups: np.ndarray, n_groups: int, alpha: float) -> list[dict[str, Any]]:
    out = []
    for g in range(n_groups):
        member = groups == g
        if member.sum() < 2:
            out.append({"group": g + 1, "estimate": math.nan, "std_error": math.nan, "n": int(member.sum())})
            continue
        share = member.mean()
        mean = float(h.score[member].mean())
        phi = np.where(member, h.score - mean, 0.0) / share
        se = influence_se(phi, h.cluster)
        lo, hi, p = wald(mean, se, alpha)
        out.append({"group": g + 1, "estimate": mean, "std_error": se, "ci_lower": lo, "ci_upper": hi,
                    "p_value": p, "n": int(member.sum()), "cate_mean": float(h.cate[member].mean())})
    return out


def gates_difference(rows: list[dict[str, Any]], alpha: float) -> dict[str, Any]:
    """Most minus least affected group (disjoint units: the variances add)."""
    top, bottom = rows[-1], rows[0]
    diff = top["estimate"] - bottom["estimate"]
    se = math.sqrt(top["std_error"] ** 2 + bottom["std_error"] ** 2)
    lo, hi, p = wald(diff, se, alpha)
    return {"estimate": diff, "std_error": se, "ci_lower": lo, "ci_upper": hi, "p_value": p}


def clan(h: HeldOut, groups: np.ndarray, n_groups: int, alpha: float, limit: int | None = MAX_TERMS
         ) -> list[dict[str, Any]]:
    """Covariate means in the most and least affected groups, with the difference and its Welch CI."""
    a, b = h.X[groups == n_groups - 1], h.X[groups == 0]
    z = float(special.ndtri(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = a.mean(axis=0) - b.mean(axis=0)
        se = (np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
              if min(len(a), len(b)) > 1 else np.full(diff.size, np.nan))
        p = np.where(se > 0, 2 * special.ndtr(-np.abs(diff / se)), np.nan)
    rows = [{"covariate": name, "most_affected": float(a[:, j].mean()), "least_affected": float(b[:, j].mean()),
             "difference": float(diff[j]), "std_error": float(se[j]), "ci_lower": float(diff[j] - z * se[j]),
             "ci_upper": float(diff[j] + z * se[j]), "p_value": float(p[j])} for j, name in enumerate(h.x_names)]
    if limit is None:       # in covariate order, so splits line up
        return rows
    rows.sort(key=lambda r: -abs(r["difference"] / r["std_error"]) if r["std_error"] > 0 else 0.0)
    return rows[:limit]


def effect_modifiers(h: HeldOut) -> dict[str, Any]:
    """Projection of the estimated effect on the standardised covariates (module docstring)."""
    X = h.X
    if X.shape[1] == 0:
        return {"terms": [], "r2": math.nan}
    sd = X.std(axis=0)
    keep = sd > 0
    Z = (X[:, keep] - X[:, keep].mean(axis=0)) / sd[keep]
    names = [n for n, k in zip(h.x_names, keep) if k]
    design = np.column_stack([np.ones(len(Z)), Z])
    coef = np.linalg.lstsq(design, h.cate, rcond=None)[0][1:]
    fitted = design[:, 1:] @ coef
    total = float(np.var(h.cate))
    r2 = float(np.var(fitted) / total) if total > 0 else math.nan
    scale = float(np.sum(np.abs(coef)))
    corr = [float(np.corrcoef(Z[:, j], h.cate)[0, 1]) if total > 0 else math.nan for j in range(Z.shape[1])]
    terms = [{"covariate": n, "per_sd": float(c), "share": float(abs(c) / scale) if scale > 0 else math.nan,
              "correlation": r} for n, c, r in zip(names, coef, corr)]
    terms.sort(key=lambda t: -abs(t["per_sd"]))
    return {"terms": terms[:MAX_TERMS], "r2": r2}


def uplift_curve(order: np.ndarray, score: np.ndarray, weights: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """G(q) on ``grid``: cumulative (weighted) score of the top-ranked units per unit of population."""
    w = weights[order]
    cum_w = np.concatenate([[0.0], np.cumsum(w)])
    cum_s = np.concatenate([[0.0], np.cumsum(w * score[order])])
    total = cum_w[-1]
    # linear interpolation inside a unit treats a fractional unit as partly treated
    return np.interp(grid * total, cum_w, cum_s) / total


def trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def uplift(h: HeldOut, alpha: float, seed: int, n_bootstrap: int) -> dict[str, Any]:
    """Qini coefficient and AUUC of targeting by the estimated effect, with bootstrap CIs (module docstring)."""
    n = h.score.size
    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    fine = np.linspace(0.0, 1.0, 201)
    order = np.argsort(-h.cate, kind="stable")
    ones = np.ones(n)
    gain_fine = uplift_curve(order, h.score, ones, fine)
    ate = float(h.score.mean())
    auuc = trapezoid(gain_fine, fine)
    qini = auuc - ate / 2
    out: dict[str, Any] = {"qini": qini, "auuc": auuc, "auuc_random": ate / 2, "ate": ate,
                           "curve": {"fraction": grid.tolist(), "gain": uplift_curve(order, h.score, ones, grid).tolist(),
                                     "random": (grid * ate).tolist()},
                           "n_bootstrap": int(n_bootstrap),
                           "method": "doubly robust scores of held-out units ranked by their estimated effect; "
                                     "bootstrap over units with the ranking model fixed"}
    if n_bootstrap < 2:
        return out
    qinis, auucs, curves = [], [], []
    for rows in bootstrap_draws(n, n_bootstrap, seed, h.cluster):
        w = np.bincount(rows, minlength=n).astype(float)
        g = uplift_curve(order, h.score, w, fine)
        boot_ate = float(np.sum(w * h.score) / w.sum())
        a = trapezoid(g, fine)
        auucs.append(a)
        qinis.append(a - boot_ate / 2)
        curves.append(np.interp(grid, fine, g))
    z = float(special.ndtri(1 - alpha / 2))
    for name, value, draws in (("qini", qini, qinis), ("auuc", auuc, auucs)):
        se = float(np.std(draws, ddof=1))
        out[f"{name}_se"] = se
        out[f"{name}_ci"] = [value - z * se, value + z * se]
    out["qini_p"] = float(special.ndtr(-qini / out["qini_se"])) if out["qini_se"] > 0 else math.nan
    band = np.quantile(np.array(curves), [alpha / 2, 1 - alpha / 2], axis=0)
    out["curve"].update(lower=band[0].tolist(), upper=band[1].tolist())
    return out


def cate_histogram(cate: np.ndarray, groups: np.ndarray, n_groups: int, bins: int = 30) -> dict[str, Any]:
    """Counts of the estimated effects per bin, overall and per GATES group (the figure's data)."""
    lo, hi = float(np.min(cate)), float(np.max(cate))
    if not hi > lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    return {"edges": edges.tolist(), "counts": np.histogram(cate, edges)[0].tolist(),
            "by_group": [np.histogram(cate[groups == g], edges)[0].tolist() for g in range(n_groups)]}


def split_halves(n: int, n_splits: int, seed: int, cluster: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(auxiliary, main) row indices of each random halving; whole clusters go to one half."""
    rng = np.random.default_rng([seed, 7])
    out = []
    if cluster is None:
        for _ in range(n_splits):
            perm = rng.permutation(n)
            out.append((np.sort(perm[: n // 2]), np.sort(perm[n // 2:])))
        return out
    _, idx = np.unique(cluster, return_inverse=True)
    g = int(idx.max()) + 1
    for _ in range(n_splits):
        aux_clusters = rng.permutation(g)[: g // 2]
        aux = np.isin(idx, aux_clusters)
        out.append((np.flatnonzero(aux), np.flatnonzero(~aux)))
    return out


def split_evaluations(prep: Any, fit_arms: Callable[[np.ndarray], tuple], cate_of: Callable[..., np.ndarray], *,
                      n_folds: int, n_splits: int, seed: int, trim: float | None,
                      check: Callable[[np.ndarray, np.ndarray], None]) -> list[HeldOut]:
    """Each CDDF split's main half: its estimated effects and doubly robust scores, every model fitted on the
    auxiliary half.

    ``fit_arms(train_mask)`` returns the fitted (m1, m0, e) models; ``cate_of(labels, arms, e_main)`` the main
    half's estimated effects, where ``labels`` is 0 on the main half and 1..K-1 (inner folds, whole clusters
    kept together) on the auxiliary half.
    """
    from ._crossfit import fold_ids
    from ._learners import predict
    from .aipw import aipw_scores

    X, y, t, cluster = prep.X, prep.y, prep.t, prep.cluster
    out = []
    for r, (aux, main) in enumerate(split_halves(prep.n, n_splits, seed, cluster)):
        labels = np.zeros(prep.n, dtype=int)
        labels[aux] = 1 + fold_ids(aux.size, max(n_folds - 1, 1), seed + r, None if cluster is None else cluster[aux])
        check(t, labels != 0)
        arms = fit_arms(labels != 0)
        m1, m0, e_raw = (predict(model, X[main]) for model in arms)
        cate = cate_of(labels, arms, e_raw)
        e = np.clip(e_raw, trim, 1 - trim) if trim else e_raw
        est, phi = aipw_scores(y[main], t[main], m1, m0, e, "ate")
        out.append(HeldOut(cate=cate, score=phi + est, folds=np.zeros(main.size, dtype=int), X=X[main],
                           x_names=prep.x_names, cluster=None if cluster is None else cluster[main]))
    return out


def evaluate_split(h: HeldOut, alpha: float, seed: int, n_groups: int, n_bootstrap: int) -> dict[str, Any]:
    """Every held-out summary of one split (intervals at level 1 - alpha)."""
    groups = group_labels(h.cate, h.folds, n_groups)
    rows = group_ates(h, groups, n_groups, alpha)
    return {"blp": blp(h, alpha), "gates": rows, "gates_difference": gates_difference(rows, alpha),
            "clan": clan(h, groups, n_groups, alpha, limit=None), "uplift": uplift(h, alpha, seed, n_bootstrap)}


def _median(values: list[Any]) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.median(finite)) if finite else math.nan


def _adjusted_p(values: list[Any]) -> float:
    """CDDF's split-aggregated p-value: twice the median, capped at 1 (one split: its own p)."""
    p = _median(values)
    return p if len(values) == 1 or not math.isfinite(p) else min(1.0, 2 * p)


def aggregate_estimate(items: list[dict[str, Any]], est: str = "estimate", se: str = "std_error",
                       lo: str = "ci_lower", hi: str = "ci_upper", p: str = "p_value") -> dict[str, float]:
    return {est: _median([i.get(est) for i in items]), se: _median([i.get(se) for i in items]),
            lo: _median([i.get(lo) for i in items]), hi: _median([i.get(hi) for i in items]),
            p: _adjusted_p([i.get(p) for i in items])}


def aggregate_splits(splits: list[dict[str, Any]], n_groups: int) -> dict[str, Any]:
    """Medians over splits (CDDF Sec. 4); the splits' intervals were computed at level 1 - alpha/2."""
    blps = [s["blp"] for s in splits]
    blp_out = {"ate": _median([b.get("ate") for b in blps]),
               "heterogeneity": _median([b.get("heterogeneity") for b in blps]),
               "heterogeneity_se": _median([b.get("heterogeneity_se") for b in blps]),
               "heterogeneity_ci": [_median([(b.get("heterogeneity_ci") or [None, None])[0] for b in blps]),
                                    _median([(b.get("heterogeneity_ci") or [None, None])[1] for b in blps])],
               "heterogeneity_p": _adjusted_p([b.get("heterogeneity_p") for b in blps]),
               "by_split": [b.get("heterogeneity") for b in blps],
               "p_by_split": [b.get("heterogeneity_p") for b in blps],
               "test": "H0: the estimated effects carry no information about the true ones (b2 = 0); "
                       "two-sided, twice the median p-value over splits"}
    if not math.isfinite(blp_out["heterogeneity"]):
        blp_out["note"] = next((b["note"] for b in blps if "note" in b), "The test could not be computed.")
    gates = []
    for g in range(n_groups):
        items = [s["gates"][g] for s in splits]
        gates.append({"group": g + 1, **aggregate_estimate(items), "n": int(_median([i["n"] for i in items])),
                      "cate_mean": _median([i.get("cate_mean") for i in items])})
    clan_rows = []
    for j, first in enumerate(splits[0]["clan"]):
        items = [s["clan"][j] for s in splits]
        row = {"covariate": first["covariate"], "most_affected": _median([i["most_affected"] for i in items]),
               "least_affected": _median([i["least_affected"] for i in items]),
               **aggregate_estimate(items, est="difference")}
        clan_rows.append(row)
    clan_rows.sort(key=lambda r: -abs(r["difference"] / r["std_error"]) if r["std_error"] > 0 else 0.0)
    ups = [s["uplift"] for s in splits]
    uplift_out: dict[str, Any] = {"method": ups[0]["method"] + "; medians over splits"}
    for key in ("qini", "auuc", "auuc_random", "ate", "qini_se", "auuc_se"):
        uplift_out[key] = _median([u.get(key) for u in ups])
    for key in ("qini_ci", "auuc_ci"):
        if all(key in u for u in ups):
            uplift_out[key] = [_median([u[key][0] for u in ups]), _median([u[key][1] for u in ups])]
    if all("qini_p" in u for u in ups):
        uplift_out["qini_p"] = _adjusted_p([u["qini_p"] for u in ups])
    curve_keys = [k for k in ups[0]["curve"] if k != "fraction" and all(k in u["curve"] for u in ups)]
    uplift_out["curve"] = {"fraction": ups[0]["curve"]["fraction"],
                           **{k: np.median(np.array([u["curve"][k] for u in ups]), axis=0).tolist()
                              for k in curve_keys}}
    uplift_out["n_bootstrap"] = ups[0]["n_bootstrap"]
    return {"blp": blp_out, "gates": gates, "gates_difference": aggregate_estimate(
        [s["gates_difference"] for s in splits]), "clan": clan_rows[:MAX_TERMS], "uplift": uplift_out}


def summarize(split_heldout: list[HeldOut], full: HeldOut, *, alpha: float, seed: int, n_groups: int,
              n_bootstrap: int) -> tuple[dict[str, Any], tuple[SubEstimate, ...]]:
    """Every heterogeneity summary for the diagnostics, and GATES as ``by`` rows ("gates_1".."gates_G").

    ``split_heldout``: each split's main half (its effects from the auxiliary half's model); ``full``: the
    out-of-fold effects of every row (distribution, effect modifiers).
    """
    splits = [evaluate_split(h, alpha / 2, seed + r, n_groups, n_bootstrap) for r, h in enumerate(split_heldout)]
    diag = aggregate_splits(splits, n_groups)
    groups = group_labels(full.cate, full.folds, n_groups)
    q = np.quantile(full.cate, [0.05, 0.25, 0.5, 0.75, 0.95])
    diag.update(cate_mean=float(full.cate.mean()), cate_sd=float(full.cate.std(ddof=1)),
                cate_quantiles=dict(zip(("5%", "25%", "50%", "75%", "95%"), q.tolist())),
                effect_modifiers=effect_modifiers(full), cate_histogram=cate_histogram(full.cate, groups, n_groups),
                n_groups=int(n_groups), n_splits=len(split_heldout),
                heterogeneity_p=diag["blp"]["heterogeneity_p"],
                inference=f"{len(split_heldout)} random halvings (auxiliary half fits, main half tests); medians, "
                          "intervals from the splits' (1 - alpha/2) intervals, p = 2 x median p "
                          "(Chernozhukov, Demirer, Duflo & Fernandez-Val 2018)")
    by = tuple(SubEstimate(label=f"gates_{r['group']}", estimate=r["estimate"], std_error=r["std_error"],
                           ci_lower=r["ci_lower"], ci_upper=r["ci_upper"], p_value=r["p_value"], n_obs=r["n"],
                           extra={"cate_mean": r["cate_mean"]}) for r in diag["gates"])
    return diag, by


def row_effects_frame(n_rows: int, rows: np.ndarray, effect: np.ndarray, lower: np.ndarray | None = None,
                      upper: np.ndarray | None = None):
    """One row per input row, in input order: the effect (and interval), NaN where the row was not used."""
    import pandas as pd

    def spread(values: np.ndarray) -> np.ndarray:
        full = np.full(n_rows, np.nan)
        full[rows] = values
        return full

    frame = pd.DataFrame({"row": np.arange(n_rows), "effect": spread(effect)})
    if lower is not None and upper is not None:
        frame["ci_lower"], frame["ci_upper"] = spread(lower), spread(upper)
    return frame


# ---------------------------------------------------------------------------
# fairness: effects by a protected attribute the user marks
# ---------------------------------------------------------------------------

#: a protected attribute with more levels than this is not a grouping (age in years, income)
MAX_PROTECTED_LEVELS = 20


def protected_values(frame: Any, column: str | None, rows: np.ndarray | None) -> np.ndarray | None:
    """The protected attribute's values on the rows used, or None when none was marked (typed errors)."""
    if column is None:
        return None
    from ..errors import MethodError

    if column not in frame.columns:
        raise MethodError(f"The protected attribute '{column}' is not a column of the data.",
                          "Name the column that holds the group (e.g. --param protected=sex).", code="E-METHOD-005")
    values = frame[column].to_numpy()[rows if rows is not None else slice(None)]
    levels = np.unique(values.astype(str))
    if not 2 <= levels.size <= MAX_PROTECTED_LEVELS:
        raise MethodError(f"The protected attribute '{column}' has {levels.size} distinct values in the rows used; "
                          f"a comparison of groups needs 2 to {MAX_PROTECTED_LEVELS}.",
                          "Choose a grouping column, or recode a continuous one into a few bands.",
                          code="E-METHOD-005")
    return values.astype(str)


def fairness(score: np.ndarray, cate: np.ndarray, values: np.ndarray, column: str, alpha: float,
             cluster: np.ndarray | None = None) -> dict[str, Any]:
    """Each group's ATE (mean of the doubly robust scores in it: the AIPW estimate of the subgroup effect) with
    its CI, the mean estimated effect and the share predicted to benefit; the gap between the groups with the
    largest and smallest ATE (disjoint groups: the variances add). With more than two groups the gap is between
    the extremes found in the data, so it is larger than a pre-chosen comparison would be on average."""
    rows = []
    for level in sorted(np.unique(values)):
        member = values == level
        share = member.mean()
        mean = float(score[member].mean())
        se = influence_se(np.where(member, score - mean, 0.0) / share, cluster) if member.sum() > 1 else math.nan
        lo, hi, p = wald(mean, se, alpha)
        rows.append({"level": str(level), "n": int(member.sum()), "ate": mean, "std_error": se, "ci_lower": lo,
                     "ci_upper": hi, "cate_mean": float(cate[member].mean()),
                     "share_predicted_to_benefit": float(np.mean(cate[member] > 0))})
    finite = [r for r in rows if math.isfinite(r["std_error"])]
    top, bottom = max(finite, key=lambda r: r["ate"]), min(finite, key=lambda r: r["ate"])
    gap = top["ate"] - bottom["ate"]
    se = math.sqrt(top["std_error"] ** 2 + bottom["std_error"] ** 2)
    lo, hi, p = wald(gap, se, alpha)
    return {"attribute": column, "groups": rows,
            "gap": {"estimate": gap, "std_error": se, "ci_lower": lo, "ci_upper": hi, "p_value": p,
                    "between": [top["level"], bottom["level"]]}}
