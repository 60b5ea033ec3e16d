"""Policy learning (``policy_learning``): whom to treat, with the rule's out-of-sample value.

Doubly robust scores (Athey & Wager 2021, Econometrica 89:133, Sec. 2): with cross-fitted
m1, m0, e (as aipw),
    Gamma_i = m1 - m0 + T (Y - m1) / e - (1 - T)(Y - m0) / (1 - e),
and the net benefit of treating unit i, in the good direction and in money when values are given,
    B_i = s * value_per_unit * Gamma_i - cost_per_treated      (s = +1 if higher is better, else -1).
The rule is a shallow tree (depth 2 by default). Athey & Wager's exact policy tree maximises
sum_i pi(X_i) B_i over all depth-2 trees; here scikit-learn's DecisionTreeClassifier is fitted to
the labels 1{B_i > 0} with weights |B_i|, whose leaves then treat exactly when the leaf's sum of B
is positive (the weighted majority), so only the split search (Gini impurity instead of welfare) is
an approximation. A coverage cap (``max_share``) or a budget per unit (``budget``, with a cost)
treats whole leaves in decreasing order of their mean benefit while they fit.

Out-of-sample value: K-fold cross-fitting of the rule itself; each unit is assigned by the rule
learned without its fold, and the gain over treating no one is mean_i pi_{-k(i)}(X_i) B_i with the
SE of that mean (the DR scores' influence-function SE; the nuisances are cross-fitted too, but a
unit's training fold scores used models that saw its fold, a second-order leak). Compared with
treating everyone (mean B, the net ATE) and no one (0). The rule reported (``diagnostics.rule``)
is the one fitted on all rows.

Coverage x budget (the Policy Evaluation 3D figure's data): units ranked by the cross-fitted CATE
m1 - m0 (good direction); for coverage q and budget b per unit, at most the top min(q, b / cost) share
is treated (fewer when the next units would lose money); the net benefit is mean_i 1{treated} B_i
and the shadow price of the budget is its
derivative in b (per unit of money: the marginal treated unit's benefit over the cost, when the
budget binds, else 0), from DR scores smoothed over the neighbouring 5% of the ranking.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np

from ..data import Dataset
from ..datasets import policy as policy_data
from ..errors import EstimationError, MethodError
from ..inference import influence_se, wald
from ..nuisance import cached
from ..params import TRIM_SHARE
from ..prep import prepare
from ..registry import Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import cache_key, finish
from ._crossfit import crossfit_nuisances, fold_ids
from ._money import check_money, direction_for
from ._propensity import Learner, PropensityLearner

COVERAGE_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def dr_scores(y: np.ndarray, t: np.ndarray, m1: np.ndarray, m0: np.ndarray, e: np.ndarray) -> np.ndarray:
    return m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)


def fit_tree(X: np.ndarray, benefit: np.ndarray, depth: int, min_leaf: int, seed: int):
    from sklearn.tree import DecisionTreeClassifier

    labels = (benefit > 0).astype(int)
    model = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=min_leaf, random_state=seed)
    return model.fit(X, labels, sample_weight=np.abs(benefit) + 1e-12)


def leaf_decisions(model, X: np.ndarray, benefit: np.ndarray, max_share: float | None) -> dict[int, bool]:
    """Treat a leaf when its benefit sum is positive; under a cap, whole leaves by mean benefit while they fit."""
    leaves = model.apply(X)
    ids = np.unique(leaves)
    mean = {int(i): float(benefit[leaves == i].mean()) for i in ids}
    share = {int(i): float(np.mean(leaves == i)) for i in ids}
    treat = {int(i): False for i in ids}
    used = 0.0
    for i in sorted(ids, key=lambda j: -mean[int(j)]):
        i = int(i)
        if mean[i] <= 0:
            break
        if max_share is None or used + share[i] <= max_share + 1e-12:
            treat[i] = True
            used += share[i]
    return treat


def assign(model, decisions: dict[int, bool], X: np.ndarray) -> np.ndarray:
    leaves = model.apply(X)
    return np.array([decisions.get(int(i), False) for i in leaves], dtype=float)


def describe_rule(model, decisions: dict[int, bool], names: tuple[str, ...], X: np.ndarray,
                  benefit: np.ndarray) -> list[dict[str, Any]]:
    """Leaves as readable conditions, with their share of units, mean benefit and decision."""
    tree = model.tree_
    out: list[dict[str, Any]] = []
    leaves = model.apply(X)

    def walk(node: int, conditions: list[dict[str, Any]]) -> None:
        if tree.children_left[node] == -1:
            rows = leaves == node
            out.append({"conditions": conditions, "treat": bool(decisions.get(node, False)),
                        "share": float(rows.mean()), "mean_benefit": float(benefit[rows].mean()) if rows.any()
                        else math.nan, "leaf": int(node)})
            return
        feature, threshold = names[tree.feature[node]], float(tree.threshold[node])
        walk(tree.children_left[node], conditions + [{"feature": feature, "op": "<=", "value": threshold}])
        walk(tree.children_right[node], conditions + [{"feature": feature, "op": ">", "value": threshold}])

    walk(0, [])
    return out


def rule_text(leaf: dict[str, Any]) -> str:
    if not leaf["conditions"]:
        return "everyone"
    return " and ".join(f"{c['feature']} {c['op']} {c['value']:.4g}" for c in leaf["conditions"])


def apply_rule(rule: list[dict[str, Any]], columns: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a described rule on new data (columns by covariate-term name): 1 = treat."""
    n = len(next(iter(columns.values())))
    treat = np.zeros(n)
    for leaf in rule:
        inside = np.ones(n, dtype=bool)
        for c in leaf["conditions"]:
            x = columns[c["feature"]]
            inside &= (x <= c["value"]) if c["op"] == "<=" else (x > c["value"])
        treat[inside] = float(leaf["treat"])
    return treat


def coverage_budget_surface(cate: np.ndarray, benefit: np.ndarray, cost: float) -> dict[str, Any]:
    """Net benefit and the shadow price of the budget over coverage x budget (module docstring)."""
    n = benefit.size
    order = np.argsort(-cate, kind="stable")
    ranked = benefit[order]
    cum = np.concatenate([[0.0], np.cumsum(ranked)]) / n           # net benefit treating the top j units
    best = np.maximum.accumulate(cum)                               # caps are limits: spend less if it pays
    k_opt = int(np.argmax(cum))
    window = max(int(0.05 * n), 1)
    smooth = np.convolve(ranked, np.ones(window) / window, mode="same")  # marginal unit's benefit
    budgets = COVERAGE_GRID * cost if cost > 0 else COVERAGE_GRID
    net = np.empty((budgets.size, COVERAGE_GRID.size))
    shadow = np.empty_like(net)
    for i, b in enumerate(budgets):
        for j, q in enumerate(COVERAGE_GRID):
            share = min(q, b / cost) if cost > 0 else min(q, b)
            k = int(round(share * n))
            net[i, j] = best[k]
            binds = share < q and k < k_opt                         # the budget, not coverage, stops us
            marginal = smooth[min(k, n - 1)]
            # per unit of money when costed: (benefit of the next unit, already net of its cost) / cost
            shadow[i, j] = (max(marginal, 0.0) / cost if cost > 0 else max(marginal, 0.0)) if binds else 0.0
    return {"coverage": COVERAGE_GRID.tolist(), "budget": budgets.tolist(),
            "budget_unit": "money per unit" if cost > 0 else "share of units treated",
            "net_benefit": net.tolist(), "shadow_price": shadow.tolist(),
            "value_curve": {"coverage": COVERAGE_GRID.tolist(),
                            "net_benefit": [float(cum[int(round(q * n))]) for q in COVERAGE_GRID]}}


def check_params(depth: int, min_leaf_share: float, max_share: float | None, budget: float | None,
                 cost: float, n_folds: int) -> None:
    if not isinstance(depth, (int, np.integer)) or not 1 <= depth <= 4:
        raise MethodError(f"depth must be 1 to 4, got {depth!r}.", "Use depth=2 (a readable rule).",
                          code="E-METHOD-005")
    if not (0 < min_leaf_share < 0.5):
        raise MethodError(f"min_leaf_share must lie in (0, 0.5), got {min_leaf_share!r}.", "Use e.g. 0.05.",
                          code="E-METHOD-005")
    if max_share is not None and not (0 < max_share <= 1):
        raise MethodError(f"max_share must lie in (0, 1], got {max_share!r}.", "E.g. max_share=0.3 treats at most "
                          "30% of units.", code="E-METHOD-005")
    if budget is not None and (not budget > 0 or cost <= 0):
        raise MethodError("A budget needs a positive budget and a positive cost_per_treated.",
                          "E.g. --param budget=50 --param cost_per_treated=200 (spend at most 50 per unit, "
                          "i.e. treat at most 25%).", code="E-METHOD-005")
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise MethodError(f"n_folds must be an integer of at least 2, got {n_folds!r}.", "Use e.g. n_folds=5.",
                          code="E-METHOD-005")


@register("policy_learning", family="policy_learning", design="cross_section", estimands=("policy_gain",),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary", min_rows=50),
          title="Policy learning (whom to treat)",
          summary="Learns a short rule of whom to treat (a depth-2 tree on doubly robust scores), optionally "
                  "within a coverage or budget cap, and says what it earns out of sample compared with treating "
                  "everyone or no one.",
          inference="influence function of the cross-fitted doubly robust policy value (rule learned without each "
                    "unit's fold)",
          params={
              "depth": "Depth of the rule's tree (2: at most four groups, each described by two conditions).",
              "min_leaf_share": "Smallest group the rule may single out, as a share of units.",
              "max_share": "Coverage cap: treat at most this share of units (empty: no cap).",
              "budget": "Budget per unit of the population, in money; with cost_per_treated it caps the share "
                        "treated at budget / cost.",
              "n_folds": "Folds for cross-fitting both the nuisance models and the rule's out-of-sample value.",
              "outcome_learner": "Outcome model in each arm: linear or gbm.",
              "propensity_learner": "Model of the chance of treatment: logit or gbm.",
              "trim": "Out-of-fold propensity scores are clipped to [trim, 1 - trim].",
              "value_per_unit": "Money value of one unit of improvement in the outcome (1: results in outcome units).",
              "cost_per_treated": "Cost of treating one unit, in the same money (0: no cost).",
              "better": "Which direction of the outcome is good (higher/lower); empty: decided from its name.",
          },
          headline_rank=None, battery=False, e_value=False, example=policy_data.targeting_example,
          transparency=0.8, cost_exponent=1.1)
def policy_learning(data: Dataset, roles: Roles, *, estimand: str = "policy_gain", alpha: float = 0.05,
                    seed: int = 0, depth: int = 2, min_leaf_share: float = 0.05, max_share: float | None = None,
                    budget: float | None = None, n_folds: int = 5, outcome_learner: Learner = "linear",
                    propensity_learner: PropensityLearner = "logit", trim: Annotated[float | None, TRIM_SHARE] = 0.01,
                    value_per_unit: float = 1.0, cost_per_treated: float = 0.0,
                    better: Literal["higher", "lower"] | None = None) -> EffectResult:
    """A depth-2 treatment rule on doubly robust scores (Athey & Wager 2021), valued out of sample."""
    check_money(value_per_unit, cost_per_treated, "cost_per_treated")
    check_params(depth, min_leaf_share, max_share, budget, cost_per_treated, n_folds)
    direction = direction_for(better, roles.outcome)
    prep = prepare(data, roles)
    if prep.X.shape[1] == 0:
        raise EstimationError("No usable covariates: a targeting rule needs characteristics to target on.",
                              "Add covariates that describe the units (age, region, past spending ...).",
                              code="E-EST-110")
    warnings = list(prep.warnings)
    key = cache_key(data, roles, "crossfit", roles.cluster, roles.weight, n_folds, outcome_learner,
                    propensity_learner, seed)
    m1, m0, e_raw, converged = cached(key, lambda: crossfit_nuisances(prep, n_folds, outcome_learner,
                                                                      propensity_learner, seed))
    if not converged:
        warnings.append("The propensity model did not converge in at least one fold; the groups may be separable.")
    e = np.clip(e_raw, trim, 1 - trim) if trim else e_raw
    s = direction.sign
    gamma = dr_scores(prep.y, prep.t, m1, m0, e)
    benefit = s * value_per_unit * gamma - cost_per_treated
    cap = max_share
    if budget is not None:
        cap = min(cap if cap is not None else 1.0, budget / cost_per_treated)
    n = prep.n
    min_leaf = max(int(math.ceil(min_leaf_share * n * (n_folds - 1) / n_folds)), 5)
    folds = fold_ids(n, n_folds, seed + 1, prep.cluster)
    pi = np.empty(n)
    for k in range(n_folds):
        test, train = folds == k, folds != k
        model = fit_tree(prep.X[train], benefit[train], depth, min_leaf, seed)
        pi[test] = assign(model, leaf_decisions(model, prep.X[train], benefit[train], cap), prep.X[test])
    final = fit_tree(prep.X, benefit, depth, max(int(math.ceil(min_leaf_share * n)), 5), seed)
    decisions = leaf_decisions(final, prep.X, benefit, cap)
    rule = describe_rule(final, decisions, prep.x_names, prep.X, benefit)
    cluster = prep.cluster
    learned, treat_all = pi * benefit, benefit
    by = []
    for label, terms, what in (("learned_vs_none", learned, "gain of the learned rule over treating no one"),
                               ("treat_all_vs_none", treat_all, "gain of treating everyone over treating no one"),
                               ("learned_vs_all", learned - treat_all, "gain of the learned rule over treating "
                                                                       "everyone")):
        value = float(terms.mean())
        se = influence_se(terms - value, cluster)
        lo, hi, p = wald(value, se, alpha)
        by.append(SubEstimate(label=label, estimate=value, std_error=se, ci_lower=lo, ci_upper=hi, p_value=p,
                              n_obs=n, extra={"quantity": what}))
    cate = s * (m1 - m0)
    surface = coverage_budget_surface(cate, benefit, cost_per_treated)
    treated_share = float(pi.mean())
    diagnostics: dict[str, Any] = {
        "rule": rule, "rule_text": [f"treat if {rule_text(l)}" for l in rule if l["treat"]],
        "treated_share_out_of_sample": treated_share, "treated_share_rule": float(assign(final, decisions,
                                                                                     prep.X).mean()),
        "depth": int(depth), "coverage_cap": cap, "n_folds": int(n_folds), "outcome_learner": outcome_learner,
        "propensity_learner": propensity_learner, "propensity_converged": bool(converged),
        "better": direction.better, "value_per_unit": value_per_unit, "cost_per_treated": cost_per_treated,
        "policy_surface": surface, "n_treated": prep.n_treated, "n_control": n - prep.n_treated,
        "rows_dropped_missing": prep.n_dropped, "clipped": int(np.sum(e != e_raw)),
        "approximation": "depth-limited CART on sign(B) weighted by |B| (Gini splits), not the exact policy tree",
    }
    if cost_per_treated > 0:
        spend = cost_per_treated * treated_share
        head = by[0]
        diagnostics["money"] = {"profit_per_unit": head.estimate, "profit_ci_lower": head.ci_lower,
                                "profit_ci_upper": head.ci_upper, "cost_per_unit_of_population": spend,
                                "roi": head.estimate / spend if spend > 0 else math.nan,
                                "roi_ci_lower": head.ci_lower / spend if spend > 0 else math.nan,
                                "roi_ci_upper": head.ci_upper / spend if spend > 0 else math.nan,
                                "note": "ROI = net profit / spend, the share treated taken as fixed"}
    head = by[0]
    unit = "money" if (value_per_unit != 1.0 or cost_per_treated > 0) else "outcome units"
    label = f"gain per unit of the learned targeting rule over treating no one (out of sample, {unit})"
    return finish("policy_learning", "policy_gain", head.estimate, head.std_error, alpha=alpha, n_obs=n,
                  se_method=f"influence function of the cross-fitted policy value ({n_folds} folds)",
                  diagnostics=diagnostics, warnings=warnings, by=tuple(by), estimand_label=label)
