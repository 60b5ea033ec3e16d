"""`bootstrap`: a nonparametric bootstrap around any other registered method.

The point estimate is the wrapped method's own number on the full data (never a
bootstrap mean). Its uncertainty comes from re-running the method on resamples:

- rows are resampled with replacement (Efron & Tibshirani 1993, ch. 6); with a
  cluster role whole clusters are resampled (the pairs cluster bootstrap of
  Cameron, Gelbach & Miller 2008, REStat 90:414), so within-cluster dependence
  is kept, and each drawn copy of a cluster gets its own label (as Stata's
  ``bootstrap, cluster() idcluster()``); a panel method without a cluster role
  is resampled by unit for the same reason;
- the standard error is the standard deviation of the replicates
  (Efron & Tibshirani 1993, eq. 6.6);
- the interval is the percentile interval (Efron & Tibshirani 1993, eq. 13.5)
  or the bias-corrected and accelerated (BCa) interval (Efron 1987, JASA
  82:171; Efron & Tibshirani 1993, eqs. 14.9-14.15). BCa's acceleration comes
  from a jackknife: delete-one over rows (or clusters) when there are at most
  500 of them, otherwise delete-a-group with 20 random groups (Kott 2001, J.
  Off. Stat. 17:521). The acceleration is a ratio of summed cubed to summed
  squared deviations, and a group's deviation is about the sum of its members'
  influence values, so grouping keeps its expectation and only adds noise
  (about 0.4 / groups in absolute terms: some 0.1 SE on an interval end with 20 groups);
- the p-value is the normal approximation 2 * (1 - Phi(|estimate| / SE)) with
  the bootstrap SE, so it can resolve values below 1/B; the percentile p-value
  (twice the share of replicates on the far side of zero) is reported beside it
  in the diagnostics.

A resample on which the wrapped method fails (a typed error, a numerical
failure or a non-finite number) is counted and reported, never replaced by
another draw: replacing it would keep only the resamples the method can handle
and understate the uncertainty. Above 10% failures the bootstrap refuses.

A replicate needs only the wrapped method's numbers, not its diagnostics. A
method whose registry spec has a ``resampling`` hook gives its point estimate as a function of
prepared arrays, so its replicates take rows of the arrays prepared once
(prep.RowSampler) instead of preparing a resampled frame; every resample the
arrays cannot reproduce exactly, and every failure, goes through the frame as
before, so the numbers and the failure messages are the same either way.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .. import registry
from ..data import Dataset
from ..datasets import examples
from ..datasets.public import NSW_ROLES
from ..errors import CQOxError, EstimationError, MethodError
from ..inference import bootstrap_draws
from ..params import at_least
from ..prep import Prepared, RowSampler
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles, role_names
from ._common import finish, sub_estimate

CIMethod = Literal["percentile", "bca"]
CI_METHODS: tuple[str, ...] = ("percentile", "bca")
MIN_BOOT = 20
FEW_BOOT = 200
MAX_FAILED_SHARE = 0.10
JACKKNIFE_FULL_MAX_UNITS = 500
JACKKNIFE_GROUPS = 20
#: Efron & Tibshirani (1993, ch. 10): a bias below 0.25 SE can be ignored; above, it is worth a look.
BIAS_WARN_RATIO = 0.25
SUMMARY_QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
#: The same failures `api.estimate` turns into an EstimationError.
NUMERICAL_FAILURES = (ValueError, ArithmeticError, IndexError, KeyError, TypeError, MemoryError)
#: Stream labels so row draws, inner seeds and jackknife groups never share random numbers.
INNER_SEED_STREAM = 0xB0075
GROUP_STREAM = 0x1ACC
RESERVED_INNER = frozenset({"estimand", "alpha", "seed", "roles", "with_gates", "with_sensitivity"})

InnerCall = Callable[[Dataset, int], EffectResult]
ArrayEstimate = Callable[[Prepared, int], float]
#: Methods whose point estimate is a function of prepared arrays: id -> a builder called as
#: builder(data, roles, estimand=..., **method_params), returning (RowSampler, estimate) or None.
@dataclass(frozen=True)
class Replicate:
    """What the bootstrap keeps of one fit: the estimate and the labelled sub-estimates."""

    estimate: float
    by: dict[str, float] = field(default_factory=dict)


Outcome = Replicate | str             # a replicate's numbers, or why it failed


# --------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------

def check_bootstrap_params(of: str | None, inner_params: dict[str, Any] | None) -> dict[str, Any]:
    """What the signature cannot say about ``of`` and ``inner_params`` (types, n_boot and ci are checked
    by params.check_values); returns the inner parameters as a dict."""
    if of is None or (isinstance(of, str) and not of.strip()):
        raise MethodError("The bootstrap needs to know which method to wrap, and none was given.",
                          "Name it with of=METHOD, e.g. --param of=psm (CLI) or of=\"ipw\" (Python).",
                          code="E-METHOD-005")
    if of == "bootstrap":
        raise MethodError("The bootstrap cannot wrap itself.",
                          "Name the method whose estimate you want resampled, e.g. of=psm.", code="E-METHOD-005")
    if inner_params is None:
        return {}
    clash = sorted(set(inner_params) & (RESERVED_INNER | set(role_names())))
    if clash:
        raise MethodError(f"inner_params may only hold the wrapped method's own parameters; "
                          f"{', '.join(clash)} belong to the bootstrap call itself.",
                          "Give roles, estimand, alpha and seed on the bootstrap call; they are passed on.",
                          code="E-METHOD-005")
    return dict(inner_params)


def check_inner_estimand(spec: registry.MethodSpec, estimand: str) -> None:
    if estimand not in spec.estimands:
        raise MethodError(f"The bootstrap of '{spec.id}' cannot give the {estimand.upper()}: '{spec.id}' "
                          f"estimates {', '.join(e.upper() for e in spec.estimands)}.",
                          f"Pass estimand=\"{spec.estimands[0]}\" (--estimand {spec.estimands[0]}), "
                          "or wrap a method that estimates the "
                          f"{estimand.upper()}.", code="E-METHOD-003")


def replicate_seeds(seed: int, count: int) -> np.ndarray:
    """Per-replicate seeds for the wrapped method, derived from the outer seed."""
    return np.random.SeedSequence([int(seed), INNER_SEED_STREAM]).generate_state(count).astype(np.int64)


# --------------------------------------------------------------------------
# what is resampled
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ResamplingPlan:
    """Rows, or whole clusters of ``column`` (integer ``codes`` per row)."""

    column: str | None
    codes: np.ndarray | None
    first_rows: np.ndarray | None       # the first row of each cluster marks where a drawn copy starts
    relabel_cluster: bool
    unit: str | None                    # a unit id column kept distinct across drawn copies
    unit_codes: np.ndarray | None

    @property
    def n_units(self) -> int:
        return int(self.first_rows.size) if self.first_rows is not None else -1

    def describe(self, n_rows: int) -> str:
        if self.column is None:
            return f"{n_rows} rows"
        return f"{self.n_units} clusters of '{self.column}'"


def resampling_plan(frame: pd.DataFrame, roles: Roles, spec: registry.MethodSpec) -> ResamplingPlan:
    column = roles.cluster or (roles.unit if spec.requires.panel else None)
    if column is None or column not in frame.columns:
        return ResamplingPlan(None, None, None, False, None, None)
    codes = pd.factorize(frame[column], use_na_sentinel=True)[0].astype(np.int64)
    # rows with a missing label form one cluster (code -1); the wrapped method drops them anyway
    codes = np.where(codes < 0, codes.max() + 1, codes)
    order = np.argsort(codes, kind="stable")
    first_rows = order[np.concatenate([[0], np.flatnonzero(np.diff(codes[order])) + 1])]
    # A cluster column that is also a covariate keeps its values: new labels would change the model.
    relabel = column not in roles.covariates
    unit = roles.unit if roles.unit and roles.unit != column and roles.unit not in roles.covariates else None
    unit_codes = pd.factorize(frame[unit])[0].astype(np.int64) if unit else None
    return ResamplingPlan(column, codes, first_rows, relabel, unit, unit_codes)


def draw_labels(idx: np.ndarray, plan: ResamplingPlan) -> np.ndarray:
    """Label each drawn copy of a cluster 0, 1, 2 ... (a cluster drawn twice becomes two clusters).

    ``bootstrap_draws`` lays each drawn cluster out as a block that starts with
    the cluster's first row, so block starts are where that row appears.
    """
    starts = idx == plan.first_rows[plan.codes[idx]]
    return np.cumsum(starts) - 1


def replicate_frame(frame: pd.DataFrame, idx: np.ndarray, plan: ResamplingPlan) -> pd.DataFrame:
    out = frame.take(idx).reset_index(drop=True)
    if plan.column is not None:
        labels = draw_labels(idx, plan)
        if plan.relabel_cluster:
            out[plan.column] = labels
        if plan.unit is not None:
            out[plan.unit] = labels * (int(plan.unit_codes.max()) + 2) + plan.unit_codes[idx]
    return out


def child_dataset(parent: Dataset, frame: pd.DataFrame, tag: str) -> Dataset:
    """A resample as a Dataset without hashing it: its id says where it came from."""
    return Dataset(frame=frame, sha256=f"{parent.sha256}:{tag}", source=parent.source,
                   meta={"parent_sha256": parent.sha256, "resample": tag})


# --------------------------------------------------------------------------
# running the wrapped method
# --------------------------------------------------------------------------

def run_once(call: InnerCall, dataset: Dataset, seed: int) -> Outcome:
    """The wrapped method on one resample, or the reason it failed."""
    try:
        with np.errstate(all="ignore"):
            result = call(dataset, seed)
    except CQOxError as exc:
        return exc.message
    except NUMERICAL_FAILURES as exc:
        return f"{type(exc).__name__}: {exc}"
    if not math.isfinite(result.estimate):
        return "the method returned no finite estimate"
    return Replicate(result.estimate, by_estimates(result))


@dataclass(frozen=True)
class ArrayPath:
    """Replicates computed on rows of the prepared arrays: no frame, no role checks, no diagnostics."""

    sampler: RowSampler
    estimate: ArrayEstimate

    def run(self, rows: np.ndarray, cluster: np.ndarray | None, seed: int) -> Replicate | None:
        """The replicate on frame rows ``rows``; None when it must go through the frame instead
        (the arrays cannot reproduce that resample, or the method fails: the frame path then
        reports the failure in the method's own words)."""
        sample = self.sampler.take(rows, cluster)
        if sample is None:
            return None
        try:
            with np.errstate(all="ignore"):
                value = self.estimate(sample, seed)
        except (CQOxError, *NUMERICAL_FAILURES):
            return None
        return Replicate(value) if math.isfinite(value) else None


def array_path(spec: registry.MethodSpec, data: Dataset, roles: Roles, estimand: str, params: dict[str, Any],
               plan: ResamplingPlan) -> ArrayPath | None:
    """The fast path for ``spec``, or None: the method has none, or relabelling the drawn clusters
    would change which rows count as complete (a missing cluster label gets a label) or what is read."""
    build = spec.resampling
    if build is None or not relabelling_is_neutral(data.frame, roles, plan):
        return None
    built = build(data, roles, estimand=estimand, **params)
    return ArrayPath(*built) if built is not None else None


def relabelling_is_neutral(frame: pd.DataFrame, roles: Roles, plan: ResamplingPlan) -> bool:
    """New labels for drawn clusters (and units) touch no column prepare reads, and no row's
    completeness: a row missing its cluster label would get one in the resampled frame."""
    if plan.column is None:
        return True
    read = {roles.outcome, roles.treatment, roles.weight, *roles.covariates}
    if plan.unit is not None and plan.unit in read | {roles.cluster}:
        return False
    return not plan.relabel_cluster or (plan.column not in read and not frame[plan.column].isna().any())


def bootstrap_outcomes(call: InnerCall, data: Dataset, plan: ResamplingPlan, n_boot: int,
                       seed: int, fast: ArrayPath | None = None) -> list[Outcome]:
    n = data.n_rows
    seeds = replicate_seeds(seed, n_boot)
    out: list[Outcome] = []
    for b, idx in enumerate(bootstrap_draws(n, n_boot, seed, plan.codes)):
        labels = draw_labels(idx, plan) if plan.column is not None and plan.relabel_cluster else None
        outcome = fast.run(idx, labels, int(seeds[b])) if fast is not None else None
        if outcome is None:
            outcome = run_once(call, child_dataset(data, replicate_frame(data.frame, idx, plan), f"boot{b}"),
                               int(seeds[b]))
        out.append(outcome)
    return out


def jackknife_groups(plan: ResamplingPlan, n_rows: int, seed: int) -> tuple[list[np.ndarray], str]:
    """Row indices deleted by each jackknife fit, and a sentence saying which jackknife."""
    units = n_rows if plan.column is None else plan.n_units
    what = "rows" if plan.column is None else f"clusters of '{plan.column}'"
    if units <= JACKKNIFE_FULL_MAX_UNITS:
        unit_groups = [np.array([u]) for u in range(units)]
        text = f"delete-one jackknife over {units} {what}"
    else:
        perm = np.random.default_rng([int(seed), GROUP_STREAM]).permutation(units)
        unit_groups = np.array_split(perm, JACKKNIFE_GROUPS)
        text = f"grouped jackknife: {JACKKNIFE_GROUPS} random groups of the {units} {what}, each left out in turn"
    if plan.column is None:
        return unit_groups, text
    # cluster codes run 0 .. G-1 (resampling_plan), so a group of clusters is a set of codes
    return [np.flatnonzero(np.isin(plan.codes, g)) for g in unit_groups], text


def jackknife_outcomes(call: InnerCall, data: Dataset, deleted: list[np.ndarray], seed: int,
                       fast: ArrayPath | None = None) -> list[Outcome]:
    """Leave-out fits use the outer seed, so only the deleted rows differ from the full fit."""
    out: list[Outcome] = []
    for g, rows in enumerate(deleted):
        keep = np.setdiff1d(np.arange(data.n_rows), rows, assume_unique=True)
        outcome = fast.run(keep, None, seed) if fast is not None else None
        if outcome is None:
            outcome = run_once(call, child_dataset(data, data.frame.take(keep).reset_index(drop=True), f"jack{g}"),
                               seed)
        out.append(outcome)
    return out


# --------------------------------------------------------------------------
# intervals (pure functions of the replicates)
# --------------------------------------------------------------------------

def percentile_interval(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    """Efron & Tibshirani (1993) eq. 13.5: the alpha/2 and 1-alpha/2 quantiles of the replicates."""
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bias_correction(draws: np.ndarray, estimate: float) -> float:
    """z0 = Phi^-1(share of replicates below the estimate) (Efron & Tibshirani 1993, eq. 14.14).

    Ties count one half, so a discrete statistic (e.g. matching) is not pushed one way.
    """
    share = (np.sum(draws < estimate) + 0.5 * np.sum(draws == estimate)) / draws.size
    return float(stats.norm.ppf(share))


def acceleration(jackknife: np.ndarray) -> float:
    """a = sum(d^3) / (6 (sum d^2)^1.5), d = mean(theta_(i)) - theta_(i) (Efron & Tibshirani 1993, eq. 14.15)."""
    d = jackknife.mean() - jackknife
    denom = 6.0 * float(np.sum(d ** 2)) ** 1.5
    return float(np.sum(d ** 3) / denom) if denom > 0 else 0.0


def bca_levels(z0: float, accel: float, alpha: float) -> tuple[float, float]:
    """The percentile levels BCa reads off (Efron & Tibshirani 1993, eq. 14.10)."""
    levels = []
    for q in (alpha / 2, 1 - alpha / 2):
        z = z0 + float(stats.norm.ppf(q))
        levels.append(float(stats.norm.cdf(z0 + z / (1 - accel * z))))
    return levels[0], levels[1]


def bca_interval(draws: np.ndarray, estimate: float, jackknife: np.ndarray,
                 alpha: float) -> tuple[float, float, float, float]:
    """(lower, upper, z0, acceleration); NaN bounds when the bias correction is infinite."""
    z0 = bias_correction(draws, estimate)
    accel = acceleration(jackknife)
    if not math.isfinite(z0):
        return math.nan, math.nan, z0, accel
    lo_level, hi_level = bca_levels(z0, accel, alpha)
    lo, hi = np.quantile(draws, [lo_level, hi_level])
    return float(lo), float(hi), z0, accel


def percentile_p_value(draws: np.ndarray) -> float:
    """Two-sided Monte Carlo p-value for "no effect" that inverts the percentile interval.

    (1 + replicates on the far side of zero) / (B + 1), doubled (Davison & Hinkley 1997, Sec. 4.2.1),
    so it is never reported as exactly 0 when it is merely below the resolution 1/B.
    """
    far_side = min(int(np.sum(draws <= 0)), int(np.sum(draws >= 0)))
    return float(min(1.0, 2 * (1 + far_side) / (draws.size + 1)))


def replicates_summary(draws: np.ndarray, estimate: float) -> dict[str, Any]:
    q = np.quantile(draws, SUMMARY_QUANTILES)
    return {"mean": float(draws.mean()), "sd": float(draws.std(ddof=1)), "bias": float(draws.mean() - estimate),
            "min": float(draws.min()), "max": float(draws.max()),
            "quantiles": {f"{p:g}": float(v) for p, v in zip(SUMMARY_QUANTILES, q)}}


# --------------------------------------------------------------------------
# assembling the result
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    extra: dict[str, Any]
    warning: str | None = None


def headline_interval(draws: np.ndarray, estimate: float, jack: list[Outcome] | None, ci: str,
                      alpha: float, jack_text: str, label: str = "") -> Interval:
    """Percentile or BCa interval for one quantity (the headline or one `by` label)."""
    if ci == "percentile":
        lo, hi = percentile_interval(draws, alpha)
        return Interval(lo, hi, {})
    if jack is None:
        raise ValueError("a BCa interval needs the jackknife fits")
    values = jackknife_values(jack, label)
    what = f" for '{label}'" if label else ""
    if values is None:
        failed = [o for o in jack if isinstance(o, str)]
        reason = failed[0] if failed else "the quantity is missing from some leave-out fits"
        return Interval(math.nan, math.nan, {"jackknife": jack_text},
                        f"No BCa interval{what}: {len(failed)} of {len(jack)} jackknife fits failed "
                        f"(first reason: {reason}). Use ci=\"percentile\" instead.")
    lo, hi, z0, accel = bca_interval(draws, estimate, values, alpha)
    extra = {"jackknife": jack_text, "bias_correction_z0": z0, "acceleration": accel}
    if not math.isfinite(z0):
        return Interval(lo, hi, extra, f"No BCa interval{what}: every resample fell on one side of the full-data "
                                       "estimate, so the bias correction is infinite. Look at the replicates; "
                                       "the wrapped method may be badly biased on resamples.")
    return Interval(lo, hi, extra)


def jackknife_values(jack: list[Outcome], label: str = "") -> np.ndarray | None:
    values = []
    for o in jack:
        if isinstance(o, str):
            return None
        v = o.estimate if not label else o.by.get(label, math.nan)
        if not math.isfinite(v):
            return None
        values.append(v)
    return np.asarray(values, dtype=float)


def by_estimates(result: EffectResult) -> dict[str, float]:
    return {str(b.label): float(b.estimate) for b in result.by if getattr(b, "label", None) is not None}


def bootstrap_by(full: EffectResult, reps: list[Replicate], jack: list[Outcome] | None, ci: str,
                 alpha: float, jack_text: str) -> tuple[tuple[SubEstimate, ...], list[str]]:
    """Bootstrap every labelled sub-estimate of the wrapped method the same way as the headline."""
    out: list[SubEstimate] = []
    notes: list[str] = []
    rep_by = [r.by for r in reps]
    for b in full.by:
        label = getattr(b, "label", None)
        if label is None:
            continue
        draws = np.array([d.get(str(label), math.nan) for d in rep_by], dtype=float)
        draws = draws[np.isfinite(draws)]
        extra = dict(getattr(b, "extra", {}) or {})
        if draws.size < (1 - MAX_FAILED_SHARE) * len(reps) or draws.size < 2:
            notes.append(f"No bootstrap standard error for '{label}': it could be computed on only "
                         f"{draws.size} of {len(reps)} resamples.")
            out.append(sub_estimate(str(label), b.estimate, math.nan, alpha, n_obs=b.n_obs,
                                    extra={**extra, "bootstrap_replicates": int(draws.size)}))
            continue
        se = float(draws.std(ddof=1))
        interval = headline_interval(draws, b.estimate, jack, ci, alpha, jack_text, str(label))
        if interval.warning:
            notes.append(interval.warning)
        out.append(sub_estimate(str(label), b.estimate, se, alpha, n_obs=b.n_obs,
                                interval=(interval.lower, interval.upper),
                                extra={**extra, "bootstrap_replicates": int(draws.size)}))
    return tuple(out), notes


def failure_check(outcomes: list[Outcome], of: str, plan_text: str) -> tuple[list[Replicate], list[str]]:
    """Successful replicates, or EstimationError when more than 10% failed."""
    reps = [o for o in outcomes if isinstance(o, Replicate)]
    failed = [o for o in outcomes if isinstance(o, str)]
    if not failed:
        return reps, []
    reasons = [r.rstrip(". ") for r in dict.fromkeys(failed)][:3]
    summary = f"{len(failed)} of {len(outcomes)} resamples of {plan_text}"
    if len(failed) > MAX_FAILED_SHARE * len(outcomes):
        raise EstimationError(
            f"The bootstrap stopped: '{of}' could not be estimated on {summary} (more than "
            f"{MAX_FAILED_SHARE:.0%}). A standard error from the remaining resamples would describe only the "
            f"easy ones. Reasons: {'; '.join(reasons)}",
            "This usually means a resample has too few treated or untreated rows (or clusters). Use more data, "
            "fewer covariates, or the method's own standard error.", code="E-EST-020")
    return reps, [f"'{of}' could not be estimated on {summary}; they are left out of the standard error and "
                  f"interval, not redrawn. Reasons: {'; '.join(reasons)}"]


def inner_call(spec: registry.MethodSpec, roles: Roles, estimand: str, alpha: float,
               params: dict[str, Any]) -> InnerCall:
    """The wrapped method called directly (roles already resolved, no gates or sensitivity)."""
    def call(dataset: Dataset, seed: int) -> EffectResult:
        return spec.func(dataset, roles, estimand=estimand, alpha=alpha, seed=seed, **params)
    return call


@dataclass(frozen=True)
class BootstrapRun:
    """Everything the resampling produced, before it is summarised."""

    of: str
    n_boot: int
    ci: str
    clustered: bool
    plan_text: str
    reps: list[Replicate]
    jack: list[Outcome] | None
    jack_text: str
    warnings: list[str]

    @property
    def failed(self) -> int:
        return self.n_boot - len(self.reps)


def resample(spec: registry.MethodSpec, data: Dataset, roles: Roles, estimand: str, alpha: float, seed: int,
             n_boot: int, ci: str, params: dict[str, Any]) -> BootstrapRun:
    call = inner_call(spec, roles, estimand, alpha, params)
    plan = resampling_plan(data.frame, roles, spec)
    plan_text = plan.describe(data.n_rows)
    fast = array_path(spec, data, roles, estimand, params, plan)
    reps, warnings = failure_check(bootstrap_outcomes(call, data, plan, n_boot, seed, fast), spec.id, plan_text)
    jack, jack_text = None, ""
    if ci == "bca":
        deleted, jack_text = jackknife_groups(plan, data.n_rows, seed)
        jack = jackknife_outcomes(call, data, deleted, seed, fast)
    return BootstrapRun(spec.id, n_boot, ci, plan.column is not None, plan_text, reps, jack, jack_text, warnings)


def describe_se(run: BootstrapRun) -> str:
    kind = "cluster bootstrap" if run.clustered else "nonparametric bootstrap"
    interval = (f"BCa interval (Efron 1987), acceleration from a {run.jack_text}" if run.ci == "bca"
                else "percentile interval")
    return (f"{kind} of {run.of}: standard deviation of {len(run.reps)} estimates on {run.n_boot} resamples of "
            f"{run.plan_text} ({run.failed} failed); {interval}; p-value from the normal approximation with the "
            "bootstrap standard error")


def bootstrap_diagnostics(full: EffectResult, run: BootstrapRun, draws: np.ndarray,
                          interval: Interval) -> dict[str, Any]:
    """The wrapped method's diagnostics (so its gates still apply) plus a "bootstrap" entry."""
    info = {
        "of": run.of, "n_boot": run.n_boot, "failed": run.failed, "ci_method": run.ci,
        "resampling": run.plan_text, "replicates_summary": replicates_summary(draws, full.estimate),
        "p_value_percentile": percentile_p_value(draws),
        "p_value_method": "normal approximation with the bootstrap standard error",
        "inner_std_error": full.std_error, "inner_se_method": full.se_method,
        "inner_ci": [full.ci_lower, full.ci_upper], "inner_params": full.params,
        "roles_used": {k: v for k, v in full.roles.items() if v not in (None, [], ())},
        "seed_scheme": "rows drawn with the outer seed; replicate b runs the method with seed "
                       "SeedSequence([seed, 0xB0075]).generate_state(n_boot)[b]; the full-data and jackknife fits "
                       "use the outer seed",
        **interval.extra,
    }
    return {**full.diagnostics, "bootstrap": info}


def summarise(full: EffectResult, run: BootstrapRun, alpha: float) -> EffectResult:
    draws = np.array([r.estimate for r in run.reps], dtype=float)
    se = float(draws.std(ddof=1))
    interval = headline_interval(draws, full.estimate, run.jack, run.ci, alpha, run.jack_text)
    by, by_notes = bootstrap_by(full, run.reps, run.jack, run.ci, alpha, run.jack_text)
    diagnostics = bootstrap_diagnostics(full, run, draws, interval)
    bias = diagnostics["bootstrap"]["replicates_summary"]["bias"]
    warnings = [*full.warnings, *run.warnings, *([interval.warning] if interval.warning else []), *by_notes,
                *advice(run.n_boot, bias, se)]
    result = finish("bootstrap", full.estimand, full.estimate, se, alpha=alpha, n_obs=full.n_obs,
                    estimand_label=full.estimand_label,
                    se_method=describe_se(run), diagnostics=diagnostics, warnings=warnings, by=by)
    return result.replace(ci_lower=interval.lower, ci_upper=interval.upper)


@register("bootstrap", family="resampling", design="wrapper", estimands=("ate", "att", "atc", "late"),
          requires=Requirements(roles=("outcome", "treatment"), treatment="any"),
          title="Bootstrap (wraps another method)",
          summary="Re-runs a chosen method on many resampled copies of the data (whole clusters when a cluster "
                  "is set) and reads the uncertainty off the spread of its answers.",
          inference="bootstrap (percentile or BCa; clusters resampled whole)",
          params={
              "of": "The method whose uncertainty the bootstrap measures.",
              "n_boot": "Bootstrap replications; 200 gives standard errors within about 5%.",
              "ci": "Bootstrap interval: percentile, or BCa (corrects bias and skew).",
              "inner_params": "Parameters passed on to the wrapped method (a dictionary; API only).",
          },
          battery=False, example=lambda seed=0: examples.confounded(seed, of="regression_adjustment", n_boot=30),
          transparency=0.9, cost_exponent=1.0,
          references=(
              # bootstrap of regression_adjustment (Lin's estimate) on the NSW experimental sample
              Reference("estimate", 1621.5830818958075, 1e-8, data="causaldata:nsw_mixtape", roles=NSW_ROLES,
                        params={"of": "regression_adjustment", "n_boot": 2000, "seed": 0},
                        source="statsmodels 0.15 OLS of re78 on [1, treat, Xc, treat*Xc] (Lin 2013) on the NSW "
                               "experimental sample: the point estimate is the wrapped method's own",
                        script="tests/estimators/references/scripts/nsw_statsmodels_lin.py",
                        why_tolerance="the same normal equations: 1e-8 (the headline is the full-data fit, not "
                                      "a mean of resamples)"),
              Reference("std_error", 693.97551708102, 0.10, relative=True, data="causaldata:nsw_mixtape",
                        roles=NSW_ROLES, params={"of": "regression_adjustment", "n_boot": 2000, "seed": 0},
                        source="scipy 1.16 stats.bootstrap (pairs, 20,000 resamples) of Lin's estimate on the NSW "
                               "experimental sample: standard_error",
                        script="tests/estimators/references/scripts/bootstrap_nsw_scipy.py",
                        why_tolerance="Monte Carlo error of two independent sets of resamples: over seeds 0-5 "
                                      "ours (B = 2,000) ranged 663-689 against scipy's 694, an sd of 1.3% "
                                      "(heavy-tailed earnings); 10% leaves 4 such sds beyond seed 0's 4.4%"),
          ))
def bootstrap(data: Dataset, roles: Roles, *, estimand: str = "ate", alpha: float = 0.05, seed: int = 0,
              of: str | None = None, n_boot: Annotated[int, at_least(MIN_BOOT)] = 200, ci: CIMethod = "percentile",
              inner_params: dict[str, Any] | None = None) -> EffectResult:
    """Bootstrap standard error and interval for method ``of`` (Efron & Tibshirani 1993; Efron 1987).

    The full-data fit goes through the public verb (role filling, estimand and
    parameter checks, typed errors); the resamples call the registered function
    directly on the roles it resolved, skipping gates, sensitivity and hashing.
    The estimand is passed on unchanged; it defaults to the ATE, so a method that
    estimates only the ATT or LATE (did, iv ...) needs it named (estimand="att").
    """
    params = check_bootstrap_params(of, inner_params)
    spec = registry.get(of)
    check_inner_estimand(spec, estimand)
    from ..api import estimate  # at call time: api imports the registry, which discovers this module

    full = estimate(of, data, roles=roles, estimand=estimand, alpha=alpha, seed=seed,
                        with_gates=False, with_sensitivity=False, **params)
    inner_roles = dataclasses.replace(Roles.from_dict(full.roles), extra=roles.extra)
    run = resample(spec, data, inner_roles, estimand, alpha, seed, int(n_boot), ci, params)
    return summarise(full, run, alpha)


def advice(n_boot: int, bias: float, se: float) -> list[str]:
    notes = []
    if n_boot < FEW_BOOT:
        notes.append(f"Only {n_boot} resamples: the standard error is rough (about {100 / math.sqrt(2 * n_boot):.0f}% "
                     "Monte Carlo error) and the interval ends more so; use n_boot=1000 or more for numbers "
                     "you report.")
    if se > 0 and abs(bias) > BIAS_WARN_RATIO * se:
        notes.append(f"The resampled estimates average {bias:+.4g} away from the full-data estimate "
                     f"(more than {BIAS_WARN_RATIO} standard errors): the method may be biased at this sample "
                     "size; the percentile interval inherits that bias, BCa corrects part of it.")
    return notes
