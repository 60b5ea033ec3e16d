"""Difference-in-differences (``did``): the two-way fixed-effects estimate.

`did` fits y_it = a_i + l_t + b D_it (+ x_it'g) + e_it on long data. The unit
and time effects are absorbed exactly (Frisch-Waugh-Lovell): the larger of the
two factors is swept out by group means (np.bincount), the smaller enters as
dummies whose small normal-equation block is solved directly, so balanced and
unbalanced panels alike need no iteration and no N x (U+T) dummy matrix. With
two groups and two periods b is the textbook 2x2 DiD of means.

Standard errors are cluster-robust by unit (CR1; Liang & Zeger 1986) with the
small-sample factor of fixest/pyfixest (Berge 2018, "On standard-errors";
pyfixest ssc default k_fixef="nonnested"):
    V = G/(G-1) (N-1)/(N-K) (W'W)^-1 [sum_g W_g'e_g e_g'W_g] (W'W)^-1,
where K counts the slopes plus the fixed effects not nested in the clusters
(+1 for each nested factor), and inference uses t(G-1).

A weight role gives weighted least squares (analytic weights, as pyfixest's
aweights). When most (unit, period) cells hold several rows the data are read as
repeated cross-sections: --unit names the group, the fixed effects are group
effects and the SE is HC1 unless a cluster is named.

A text covariate with more than 50 values (a store, village or school) enters as
a further set of fixed effects, absorbed exactly beside the unit and period
effects (``_absorb``: its dummies are partialled out through their normal
equations, no iteration); K counts its levels as pyfixest does (less one, and
not at all when nested in the clusters), and rows alone in one of its levels
are left out as fixest does. One constant within units is already absorbed by
the unit effects.

Under staggered adoption the TWFE coefficient mixes clean and "forbidden"
2x2 comparisons (Goodman-Bacon 2021, J. Econometrics 225:254); the
decomposition is attached and its forbidden share stated in a warning.

The fixed-effects machinery is in ``_twfe`` (shared with ``event_study``).
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..data import Dataset
from ..datasets import examples
from ..diagnostics.bacon import bacon_decomposition
from ..prep import singleton_rows
from ..registry import Reference, Requirements, register
from ..results import EffectResult
from ..roles import Roles
from ._absorb import AbsorbedEffects, nested_in
from ._common import finish, period_value
from ._twfe import (
    STAGGERED_HINT,
    DidData,
    TwoWayFixedEffects,
    _absorbed_regressors,
    _design_description,
    _inference_diagnostics,
    _outcome_warnings,
    _se_method,
    _subset,
    _switches_off,
    fit_residualised,
    tidy_did_data,
    validate_design,
)


def _balanced_bacon_inputs(dd: DidData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str] | None:
    """(y, unit, time, first, note) on a balanced panel: the data itself, its complete units, or cell means."""
    n_t = dd.periods.size
    if dd.cross_section:
        cells = dd.unit * n_t + dd.time
        counts = np.bincount(cells, minlength=dd.n_units * n_t)
        if (counts == 0).any():
            return None
        y = np.bincount(cells, weights=dd.y, minlength=counts.size) / counts
        return (y, np.repeat(np.arange(dd.n_units), n_t), np.tile(np.arange(n_t), dd.n_units), dd.first,
                "computed on group-by-period means (repeated cross-sections), so it approximates the row-level "
                "estimate")
    complete = np.bincount(dd.unit, minlength=dd.n_units) == n_t
    if complete.all():
        return dd.y, dd.unit, dd.time, dd.first, ""
    if complete.sum() < 2:
        return None
    rows = complete[dd.unit]
    unit = np.unique(dd.unit[rows], return_inverse=True)[1]
    return (dd.y[rows], unit, dd.time[rows], dd.first[complete],
            f"computed on the {int(complete.sum())} units observed in every period (the panel is unbalanced), so "
            "it approximates the full-sample estimate")


def bacon_diagnostics(dd: DidData, has_covariates: bool) -> tuple[dict[str, Any] | None, str]:
    """The Goodman-Bacon decomposition (as a dict) and a note on how exact it is."""
    if _switches_off(dd).any():
        return None, "the treatment turns off for some units, and the decomposition needs absorbing treatment"
    inputs = _balanced_bacon_inputs(dd)
    if inputs is None:
        return None, "no balanced sub-panel is available to decompose"
    y, unit, time, first, note = inputs
    decomposition = bacon_decomposition(y, unit, time, first, dd.periods.size,
                                        np.array([period_value(p) for p in dd.periods], dtype=object))
    notes = [note] if note else []
    if has_covariates:
        notes.append("it decomposes the estimate without covariates")
    if dd.weights is not None:
        notes.append("it ignores the weights")
    out = decomposition.to_dict()
    out.update(exact=not notes, note="; ".join(notes))
    return out, "; ".join(notes)


def _staggered_warning(bacon: dict[str, Any] | None, note: str, n_cohorts: int) -> str:
    if bacon is None:
        return (f"Treatment starts at {n_cohorts} different times. The two-way fixed-effects estimate then also "
                "compares later-treated units with already-treated ones, which biases it when effects change over "
                f"time (Goodman-Bacon 2021); the decomposition is not available here ({note}). {STAGGERED_HINT}")
    share = bacon["forbidden_share"]
    return (f"Treatment starts at {n_cohorts} different times, so the two-way fixed-effects estimate is a weighted "
            f"average of 2x2 comparisons, and {share:.1%} of its weight comes from comparisons that use "
            "already-treated units as controls (Goodman-Bacon 2021 decomposition"
            + (f", {note}" if note else "") + "). If the effect grows or fades over time those comparisons bias "
            f"the estimate, possibly even its sign. {STAGGERED_HINT}")


def _means_table(dd: DidData) -> dict[str, float] | None:
    """Treated and comparison means before and after the (single) adoption period: the 2x2 behind the estimate."""
    if dd.staggered or dd.cohorts.size != 1:
        return None
    treated = dd.first[dd.unit] >= 0
    post = dd.time >= dd.cohorts[0]
    cell = {f"{g}_{p}": float(dd.y[(treated == gt) & (post == pt)].mean())
            for g, gt in (("treated", True), ("comparison", False)) for p, pt in (("pre", False), ("post", True))}
    cell["difference_in_differences"] = ((cell["treated_post"] - cell["treated_pre"])
                                         - (cell["comparison_post"] - cell["comparison_pre"]))
    return cell


def _drop_absorbed_singletons(dd: DidData) -> DidData:
    """Rows alone in their unit, period or level of an absorbed covariate, dropped repeatedly (as fixest)."""
    single = singleton_rows(np.column_stack([dd.unit, dd.time, dd.absorbed_codes]))
    if not single.any():
        return dd
    return _subset(dd, ~single, f"{int(single.sum())} row(s) alone in their level of "
                                f"{', '.join(repr(c) for c in dd.absorbed)} (or then in their unit or period) were "
                                "left out: their own fixed effect fits them exactly (as fixest/pyfixest do).")


def _with_absorbed_effects(fe: TwoWayFixedEffects, dd: DidData) -> tuple[TwoWayFixedEffects | AbsorbedEffects,
                                                                         int, list[str]]:
    """Unit and period effects plus those of the absorbed covariates; the extra K (as pyfixest counts it).

    A covariate constant within every unit (a household's village) is the unit effects' business: it is left
    out and not counted (pyfixest would count its levels in K, though they add no parameter).
    """
    keep, extra, notes = [], 0, []
    for j, name in enumerate(dd.absorbed):
        codes = dd.absorbed_codes[:, j]
        levels = int(codes.max()) + 1
        if nested_in(dd.unit, codes):
            notes.append(f"'{name}' does not change within units, so the unit fixed effects already absorb it.")
            continue
        keep.append(j)
        if dd.cluster is None or not nested_in(codes, dd.cluster):
            extra += levels - 1
        notes.append(f"'{name}' ({levels} values) entered as fixed effects beside the unit and period effects "
                     "(absorbed rather than estimated).")
    if not keep:
        return fe, 0, notes
    return AbsorbedEffects.build(fe.residualise, dd.absorbed_codes[:, keep], fe.weights), extra, notes


@register("did", family="difference_in_differences", design="panel", estimands=("att",),
          requires=Requirements(roles=("outcome", "treatment", "unit", "time"), recommended=("covariates",),
                                treatment="binary", panel=True, min_rows=4),
          title="Difference-in-differences (two-way fixed effects)",
          summary="Compares how the outcome changed for treated units with how it changed for untreated ones, "
                  "removing unit and period effects (the classic 2x2 and its two-way fixed-effects form).",
          inference="cluster-robust (CR1, as pyfixest)",
          headline_rank=20, example=examples.single_adoption, transparency=0.9, cost_exponent=1.0,
          references=(
              # pyfixest feols with CRV1 by unit on two public panels
              *(Reference(quantity, value, 1e-8 if quantity == "estimate" else 1e-6,
                          relative=quantity == "std_error", data=data, roles=roles,
                          source=f"pyfixest 0.60 feols({formula!r}, vcov CRV1 by unit){note}",
                          script="tests/estimators/references/scripts/did_pyfixest.py",
                          why_tolerance="same estimator and small-sample factor: coefficient to 1e-8, SE to 1e-6 "
                                        "relative (pyfixest demeans iteratively), as test_castle_matches_pyfixest")
                for data, roles, formula, note, pairs in (
                    ("causaldata:castle", {"outcome": "l_homicide", "treatment": "post", "unit": "sid",
                                           "time": "year"}, "l_homicide ~ post | sid + year", " on castle",
                     (("estimate", 0.06939842928390735), ("std_error", 0.055859635260061935))),
                    ("causaldata:castle", {"outcome": "l_homicide", "treatment": "post", "unit": "sid",
                                           "time": "year", "weight": "popwt"}, "l_homicide ~ post | sid + year",
                     " on castle, weights popwt",
                     (("estimate", 0.07553323890415244), ("std_error", 0.03319360633103037))),
                    ("cqox:organ_donations_frame", {"outcome": "Rate", "treatment": "treated", "unit": "State",
                                                    "time": "Quarter_Num"}, "Rate ~ treated | State + Quarter_Num",
                     " on organ donations",
                     (("estimate", -0.022458974358974357), ("std_error", 0.006131232005640856))))
                for quantity, value in pairs),
              Reference("estimate", -0.0225, 5e-5, data="cqox:organ_donations_frame",
                        roles={"outcome": "Rate", "treatment": "treated", "unit": "State", "time": "Quarter_Num"},
                        source="Huntington-Klein, The Effect (2021), ch. 18: TWFE estimate of California's "
                               "2011 Q3 active-choice change on organ donation rates (Kessler & Roth 2014 data)",
                        script="printed in the source",
                        why_tolerance="the book prints 4 decimals: half a unit in the last digit"),
              *(Reference("estimate", 0.08, 0.015, data="causaldata:castle", roles=roles,
                          source="Cheng & Hoekstra (2013, JHR 48:821), abstract: castle-doctrine laws raise "
                                 "homicides by about 8 percent (their models add region-by-year effects)",
                          script="printed in the source",
                          why_tolerance="an order-of-magnitude check: the uncontrolled TWFE is not their exact "
                                        "model, so 0.015 log points around 0.08, as "
                                        "test_castle_matches_pyfixest_and_the_published_order_of_magnitude")
                for roles in ({"outcome": "l_homicide", "treatment": "post", "unit": "sid", "time": "year"},
                              {"outcome": "l_homicide", "treatment": "post", "unit": "sid", "time": "year",
                               "weight": "popwt"})),
          ))
def did(data: Dataset, roles: Roles, *, estimand: Literal["att"] = "att", alpha: float = 0.05,
        seed: int = 0) -> EffectResult:
    """Two-way fixed-effects DiD with cluster-robust (CR1) standard errors by unit."""
    dd = validate_design(tidy_did_data(data, roles, absorb=True), method="did")
    if dd.absorbed:
        dd = _drop_absorbed_singletons(dd)
    fe = TwoWayFixedEffects.build(dd.unit, dd.time, dd.weights)
    extra_fe, absorbed_notes = 0, []
    if dd.absorbed:
        fe, extra_fe, absorbed_notes = _with_absorbed_effects(fe, dd)
    W, names, notes = _absorbed_regressors(fe, dd.d[:, None], ["treatment"], dd.X, dd.x_names)
    fit = fit_residualised(fe.residualise(dd.y), W, fe, dd.unit, dd.time, dd.cluster, extra_fe=extra_fe)
    warnings = list(dd.warnings) + absorbed_notes + notes + _outcome_warnings(dd)
    diagnostics = _design_description(dd) | _inference_diagnostics(fit, dd)
    if dd.absorbed:
        diagnostics["absorbed_fixed_effects"] = {c: int(dd.absorbed_codes[:, j].max()) + 1
                                                 for j, c in enumerate(dd.absorbed)}
    diagnostics["coefficients"] = {n: float(c) for n, c in zip(names, fit.coef)}
    if (table := _means_table(dd)) is not None:
        diagnostics["means"] = table
    switching = _switches_off(dd)
    if switching.any():
        warnings.append(f"The treatment turns off again for {int(switching.sum())} unit(s); the estimate then "
                        "also compares switches on with switches off, which assumes effects end when treatment "
                        "ends.")
    if dd.staggered:
        bacon, note = bacon_diagnostics(dd, bool(names[1:]) or bool(dd.absorbed))
        if bacon is not None:
            diagnostics["bacon"] = bacon
            diagnostics["bacon_forbidden_share"] = bacon["forbidden_share"]
        warnings.append(_staggered_warning(bacon, note, int(dd.cohorts.size)))
    return finish("did", estimand, float(fit.coef[0]), float(fit.se[0]), alpha=alpha, n_obs=dd.y.size,
                  estimand_label="ATT: treated unit-periods, weighted as two-way fixed effects weight them",
                  se_method=_se_method(dd), diagnostics=diagnostics, warnings=warnings, df=fit.df)
