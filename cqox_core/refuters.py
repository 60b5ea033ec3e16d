"""Refuters: re-estimate after a change that a sound estimate should, or should not, react to.

DoWhy's idea (Sharma & Kiciman 2020, arXiv:2011.04216, "refute"), our code: plain functions over
(method, dataset, roles, result), each returning what a sound estimate should give, what this one gave,
pass or fail, and a plain sentence.

refuter             change                                        expected                   passes when
------------------- --------------------------------------------- -------------------------- ---------------------------
placebo_treatment   the treatment permuted (whole treatment       no effect                  no more intervals exclude
                    paths across units on a balanced panel)                                  zero than chance allows
random_common_cause a covariate of pure noise added               the estimate stays         mean estimate within 1
                                                                                             original SE
data_subsets        re-estimated on random 80% subsets            estimates inside the       at least 90% of them inside
                    (of units, on a panel)                        original interval
dummy_outcome       the outcome replaced by noise independent     no effect                  as placebo_treatment
                    of everything

Why these rules. A permuted treatment (or a noise outcome) has no effect, so each replicate's
1 - alpha interval covers zero with probability 1 - alpha when the method's intervals are honest; the
count that exclude zero is then about Binomial(R, alpha), and the refuter fails only when that count
is improbable (its upper tail at most alpha), so a sound method fails it at most about alpha of the
time, while one whose intervals are too narrow (or that finds effects in noise) fails. An 80% subset
estimate differs from the full one by about sqrt(1/0.8 - 1) = 0.5 SE, so it leaves the 95% interval
(1.96 SE) with probability below 1e-4: more than one in ten outside says a few rows drive the answer.
Adding an irrelevant covariate moves a regression by O(SE / sqrt n); matching and machine-learned
nuisance models move more, since the noise reshuffles matches and splits: on the registered example
(600 rows, 30 seeds) psm's mean estimate over 10 noise covariates moved by 0.38 SE at the median and
0.86 SE at the 90th percentile. As DoWhy, the refuter compares the mean of the new estimates with the
original; a shift beyond one SE means noise in the adjustment set moves the answer more than its own
sampling uncertainty does.

Each replicate is an independent, seeded task (``cqox_core.tasks``): replicate r of refuter k
perturbs the data with the random stream SeedSequence([seed, STREAMS[k], r]) and refits the method
with the result's own seed, so only the perturbation differs. A replicate on which the method fails
is counted; above 10% failures the refuter fails and says why (the numbers of the others are not
trusted, as the bootstrap does).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import registry
from .data import Dataset
from .errors import CQOxError, MethodError, RoleError
from .results import EffectResult, to_jsonable
from .roles import Roles
from .tasks import Task, TaskProgress, run_tasks

REFUTERS: tuple[str, ...] = ("placebo_treatment", "random_common_cause", "data_subsets", "dummy_outcome")
TITLES = {"placebo_treatment": "Placebo treatment", "random_common_cause": "Random common cause",
          "data_subsets": "Data subsets", "dummy_outcome": "Dummy outcome"}
DEFAULT_REPLICATES = {"placebo_treatment": 20, "random_common_cause": 10, "data_subsets": 10, "dummy_outcome": 10}
#: Random streams, one per refuter, so no two refuters share random numbers.
STREAMS = {"placebo_treatment": 0x91AC, "random_common_cause": 0xCA05, "data_subsets": 0x5B5E,
           "dummy_outcome": 0xD0D0}
SUBSET_FRACTION = 0.8
#: Share of subset estimates that must lie inside the original interval (module docstring).
SUBSET_INSIDE = 0.9
#: Largest shift of the mean estimate, in original standard errors, from adding a noise covariate (module docstring).
RANDOM_CAUSE_SHARE = 1.0
MAX_FAILED_SHARE = 0.10
MIN_REPLICATES = 2
RANDOM_CAUSE = "_cqox_random_common_cause"
NUMERICAL_FAILURES = (ValueError, ArithmeticError, IndexError, KeyError, TypeError, MemoryError)


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Refit:
    """One replicate's estimate and interval, or why the method failed on it."""

    estimate: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    error: str | None = None


@dataclass(frozen=True)
class Refutation:
    """One refuter's verdict: what a sound estimate should give, what this one gave, and whether it passed."""

    name: str
    status: str                     # "pass" | "fail" | "not_applicable"
    expected: str
    observed: str
    text: str
    metric: float | None = None
    threshold: float | None = None
    replicates: int = 0
    failed: int = 0
    estimates: tuple[float, ...] = ()
    seed: int = 0

    @property
    def passed(self) -> bool | None:
        return None if self.status == "not_applicable" else self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"name": self.name, "title": TITLES[self.name], "status": self.status,
                            "passed": self.passed, "expected": self.expected, "observed": self.observed,
                            "text": self.text, "metric": self.metric, "threshold": self.threshold,
                            "replicates": self.replicates, "failed": self.failed,
                            "estimates": list(self.estimates), "seed": self.seed})


@dataclass(frozen=True)
class RefutationReport:
    refutations: tuple[Refutation, ...]
    method: str
    seed: int

    @property
    def applicable(self) -> list[Refutation]:
        return [r for r in self.refutations if r.status != "not_applicable"]

    @property
    def share_passed(self) -> float:
        run = self.applicable
        return sum(r.status == "pass" for r in run) / len(run) if run else math.nan

    def text(self) -> str:
        run = self.applicable
        if not run:
            return "No refuter applies to this estimate."
        failed = [TITLES[r.name].lower() for r in run if r.status == "fail"]
        head = f"{len(run) - len(failed)} of {len(run)} refuters passed"
        return head + (f"; failed: {', '.join(failed)}." if failed else ".")

    def to_dict(self) -> dict[str, Any]:
        run = self.applicable
        return to_jsonable({"method": self.method, "seed": self.seed,
                            "refuters": [r.to_dict() for r in self.refutations],
                            "passed": sum(r.status == "pass" for r in run), "applicable": len(run),
                            "share_passed": self.share_passed, "text": self.text()})


# --------------------------------------------------------------------------
# what is refitted (picklable tasks)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RefitJob:
    """Everything one replicate needs besides the data: the method call and the perturbation's seed."""

    method: str
    roles: dict[str, Any]
    estimand: str
    alpha: float
    seed: int
    params: dict[str, Any]
    refuter: str
    replicate: int
    base_seed: int
    design: str


def replicate_rng(job: RefitJob) -> np.random.Generator:
    return np.random.default_rng([int(job.base_seed), STREAMS[job.refuter], int(job.replicate)])


def unit_path_matrix(frame: pd.DataFrame, roles: Roles) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(unit codes, period codes, treatment matrix units x periods) of a balanced panel; None otherwise."""
    units = pd.factorize(frame[roles.unit])[0]
    times = pd.factorize(frame[roles.time])[0]
    n_units, n_times = units.max() + 1, times.max() + 1
    if (units < 0).any() or (times < 0).any() or frame.shape[0] != n_units * n_times:
        return None
    matrix = np.full((n_units, n_times), np.nan, dtype=object)
    matrix[units, times] = frame[roles.treatment].to_numpy()
    if pd.isna(matrix).any():
        return None
    return units, times, matrix


def permuted_treatment(frame: pd.DataFrame, roles: Roles, design: str, rng: np.random.Generator) -> pd.Series:
    """The treatment column permuted: over rows, or (panel) whole treatment paths over units."""
    if design == "panel":
        found = unit_path_matrix(frame, roles)
        if found is None:
            raise ValueError("the panel is not balanced, so treatment paths cannot be exchanged between units")
        units, times, matrix = found
        perm = rng.permutation(matrix.shape[0])
        return pd.Series(matrix[perm[units], times], index=frame.index, name=roles.treatment)
    return pd.Series(rng.permutation(frame[roles.treatment].to_numpy()), index=frame.index, name=roles.treatment)


def subset_rows(frame: pd.DataFrame, roles: Roles, design: str, rng: np.random.Generator) -> np.ndarray:
    """Positions of a random 80% of the rows, or (panel) of the rows of 80% of the units, drawn within
    ever-treated and never-treated units so a panel keeps both."""
    if design != "panel":
        size = max(int(round(SUBSET_FRACTION * frame.shape[0])), 1)
        return np.sort(rng.choice(frame.shape[0], size=size, replace=False))
    units = pd.factorize(frame[roles.unit])[0]
    treated = pd.to_numeric(frame[roles.treatment], errors="coerce").fillna(0).to_numpy() != 0
    ever = np.bincount(units, treated.astype(float), units.max() + 1) > 0
    keep = []
    for group in (np.flatnonzero(ever), np.flatnonzero(~ever)):
        if group.size:
            keep.append(rng.choice(group, size=max(int(round(SUBSET_FRACTION * group.size)), 1), replace=False))
    return np.flatnonzero(np.isin(units, np.concatenate(keep)))


def noise_outcome(frame: pd.DataFrame, roles: Roles, rng: np.random.Generator) -> pd.Series:
    """Noise with the outcome's mean and SD (a 0/1 outcome: Bernoulli with its rate); missing stays missing."""
    y = pd.to_numeric(frame[roles.outcome], errors="coerce")
    observed = y.notna().to_numpy()
    values = y.to_numpy(dtype=float)
    present = values[observed]
    if present.size and set(np.unique(present).tolist()) <= {0.0, 1.0}:
        draw = rng.binomial(1, float(present.mean()), size=values.size).astype(float)
    else:
        draw = rng.normal(float(present.mean()) if present.size else 0.0,
                          float(present.std(ddof=1)) if present.size > 1 else 1.0, size=values.size)
    return pd.Series(np.where(observed, draw, np.nan), index=frame.index, name=roles.outcome)


def perturbed(job: RefitJob, dataset: Dataset) -> tuple[Dataset, Roles]:
    """The replicate's data and roles."""
    roles = Roles.from_dict(job.roles)
    rng = replicate_rng(job)
    frame = dataset.frame
    if job.refuter == "placebo_treatment":
        frame = frame.assign(**{str(roles.treatment): permuted_treatment(frame, roles, job.design, rng)})
    elif job.refuter == "random_common_cause":
        frame = frame.assign(**{RANDOM_CAUSE: rng.standard_normal(frame.shape[0])})
        roles = roles.replace(covariates=(*roles.covariates, RANDOM_CAUSE))
    elif job.refuter == "data_subsets":
        frame = frame.take(subset_rows(frame, roles, job.design, rng)).reset_index(drop=True)
    elif job.refuter == "dummy_outcome":
        frame = frame.assign(**{str(roles.outcome): noise_outcome(frame, roles, rng)})
    tag = f"{job.refuter}{job.replicate}"
    return Dataset(frame=frame, sha256=f"{dataset.sha256}:{tag}", source=dataset.source,
                   meta={"parent_sha256": dataset.sha256, "resample": tag}), roles


def refit(job: RefitJob, dataset: Dataset) -> Refit:
    """One replicate (a task: module-level, picklable, catches its own failures)."""
    try:
        data, roles = perturbed(job, dataset)
        spec = registry.get(job.method)
        with np.errstate(all="ignore"):
            result = spec.func(data, roles, estimand=job.estimand, alpha=job.alpha, seed=job.seed, **job.params)
    except CQOxError as exc:
        return Refit(error=exc.message)
    except NUMERICAL_FAILURES as exc:
        return Refit(error=f"{type(exc).__name__}: {exc}")
    if not math.isfinite(result.estimate):
        return Refit(error="the method returned no finite estimate")
    return Refit(result.estimate, result.ci_lower, result.ci_upper)


# --------------------------------------------------------------------------
# which method, which roles, which refuters apply
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """The estimate to refute, resolved: the method refitted (a sensitivity panel refits what it wraps)."""

    method: str
    design: str
    roles: Roles
    params: dict[str, Any]
    result: EffectResult
    seed: int


def refit_target(method: str | None, roles: Roles | None, result: EffectResult, needs: str) -> Target:
    """The method to re-run for ``result``, with its own parameters, design, roles and seed (a sensitivity
    panel does not change the estimate: what it wraps is re-run). Shared by the refuters and the
    specification curve; ``needs`` names the caller in the error ("Refuters need", ...)."""
    if not isinstance(result, EffectResult):
        raise MethodError(f"{needs} the result of an estimate to start from.",
                          "Pass the EffectResult returned by cqox_core.estimate(...).", code="E-METHOD-005")
    spec = registry.get(method or result.method)
    params = {k: v for k, v in (result.params or {}).items() if k in spec.defaults}
    if spec.id == "sensitivity":
        spec = registry.get(str(params.get("of") or result.diagnostics.get("sensitivity_of")))
        params = {k: v for k, v in dict(params.get("inner_params") or {}).items() if k in spec.defaults}
    from .cas import design_of

    design = design_of(result.replace(method=spec.id)) or spec.design
    resolved = roles if roles is not None else Roles.from_dict(result.roles or {})
    return Target(spec.id, design, resolved, params, result, int((result.params or {}).get("seed", 0)))


def resolve(method: str | None, dataset: Dataset, roles: Roles | None, result: EffectResult) -> Target:
    target = refit_target(method, roles, result, "Refuters need")
    if not isinstance(dataset, Dataset):
        from .data import as_dataset

        dataset = as_dataset(dataset)
    spec = registry.get(target.method)
    for role in ("outcome", "treatment"):
        if role in spec.requires.roles and not getattr(target.roles, role):
            raise RoleError(f"Refuters need the {role} the estimate used, and none is set.",
                            f"Pass roles=Roles({role}=...) or a result whose roles name the {role}.",
                            code="E-ROLE-001")
    target.roles.check_columns(dataset.frame)     # E-ROLE-002: refuted on other data than it was estimated on
    return target


def not_applicable_reason(name: str, target: Target, dataset: Dataset) -> str | None:
    roles, result = target.roles, target.result
    has_interval = math.isfinite(result.ci_lower) and math.isfinite(result.ci_upper)
    if name in ("placebo_treatment", "dummy_outcome") and not has_interval:
        return "The estimate has no confidence interval, so the replicates' intervals cannot be judged."
    if name == "placebo_treatment":
        if target.design not in ("cross_section", "panel") or not roles.treatment:
            return ("Permuting the treatment applies to designs that compare treated and untreated units; this "
                    f"design ({target.design}) has its own placebo (a fake cutoff, instrument or date).")
        if target.design == "panel" and (not roles.unit or not roles.time
                                         or unit_path_matrix(dataset.frame, roles) is None):
            return ("Treatment paths can be exchanged between units only on a balanced panel (every unit in "
                    "every period).")
    if name == "random_common_cause" and not roles.covariates:
        return "The estimate uses no covariates, so there is no adjustment set to add a random one to."
    if name == "data_subsets" and target.design == "time_series":
        return "A single time series cannot be subsampled without breaking its order."
    if name == "data_subsets" and target.design == "panel" and not roles.unit:
        return "A panel is subsampled by unit, and no unit column is set."
    if name == "dummy_outcome" and not roles.outcome:
        return "There is no outcome column to replace."
    return None


# --------------------------------------------------------------------------
# verdicts (pure functions of the refits)
# --------------------------------------------------------------------------

def chance_exclusions(replicates: int, alpha: float) -> int:
    """The largest count of intervals excluding zero that chance explains: P(Binomial(R, alpha) >= k) > alpha."""
    k = 0
    while k < replicates and stats.binom.sf(k, replicates, alpha) > alpha:  # sf(k) = P(X >= k + 1)
        k += 1
    return k


def excludes_zero(fit: Refit) -> bool:
    return fit.ci_lower > 0 or fit.ci_upper < 0


def too_many_failures(name: str, fits: list[Refit], seed: int, expected: str) -> Refutation | None:
    failed = [f for f in fits if f.error is not None]
    if len(failed) <= MAX_FAILED_SHARE * len(fits):
        return None
    reasons = "; ".join(dict.fromkeys(f.error.rstrip(". ") for f in failed if f.error))
    return Refutation(name, "fail", expected,
                      f"The method could not be estimated on {len(failed)} of {len(fits)} replicates.",
                      f"{TITLES[name]}: the method failed on {len(failed)} of {len(fits)} changed copies of the data "
                      f"(more than {MAX_FAILED_SHARE:.0%}), so the refuter cannot vouch for it. Reasons: {reasons}.",
                      replicates=len(fits), failed=len(failed), seed=seed)


def judge_null(name: str, fits: list[Refit], result: EffectResult, seed: int) -> Refutation:
    """placebo_treatment and dummy_outcome: the count of intervals excluding zero against chance."""
    change = ("the treatment shuffled at random" if name == "placebo_treatment"
              else "the outcome replaced by random noise")
    good = [f for f in fits if f.error is None]
    allowed = chance_exclusions(len(good), result.alpha)
    level = f"{1 - result.alpha:.0%}"
    expected = (f"With {change}, there is no effect: about {result.alpha:.0%} of the {level} intervals exclude zero "
                f"by chance, at most {allowed} of {len(good)}.")
    failure = too_many_failures(name, fits, seed, expected)
    if failure is not None:
        return failure
    estimates = np.array([f.estimate for f in good])
    excluded = sum(excludes_zero(f) for f in good)
    observed = (f"{excluded} of {len(good)} intervals exclude zero; the {TITLES[name].lower()} estimates average "
                f"{estimates.mean():.4g} (the real estimate is {result.estimate:.4g}).")
    passed = excluded <= allowed
    text = (f"{TITLES[name]}: with {change}, the method finds no effect, as it should ({excluded} of {len(good)} "
            f"intervals exclude zero, within chance)." if passed else
            f"{TITLES[name]}: with {change}, the method still finds effects ({excluded} of {len(good)} intervals "
            f"exclude zero, chance allows {allowed}): its intervals are too narrow or it finds effects in noise.")
    return Refutation(name, "pass" if passed else "fail", expected, observed, text,
                      metric=excluded / len(good), threshold=allowed / len(good), replicates=len(fits),
                      failed=len(fits) - len(good), estimates=tuple(estimates.tolist()), seed=seed)


def judge_random_cause(fits: list[Refit], result: EffectResult, seed: int) -> Refutation:
    name = "random_common_cause"
    expected = (f"Adding a covariate of pure noise leaves the estimate where it was: the new estimates average "
                f"within {RANDOM_CAUSE_SHARE:g} standard error ({RANDOM_CAUSE_SHARE * result.std_error:.4g}) of "
                f"{result.estimate:.4g}.")
    failure = too_many_failures(name, fits, seed, expected)
    if failure is not None:
        return failure
    good = [f for f in fits if f.error is None]
    estimates = np.array([f.estimate for f in good])
    if not (math.isfinite(result.std_error) and result.std_error > 0):
        return Refutation(name, "not_applicable", expected, "The estimate has no standard error to measure shifts by.",
                          "Random common cause: no standard error to judge the shifts against.", seed=seed)
    shift = float(abs(estimates.mean() - result.estimate) / result.std_error)
    largest = float(np.max(np.abs(estimates - result.estimate)) / result.std_error)
    observed = (f"With a noise covariate the estimates average {estimates.mean():.4g}, {shift:.2f} standard errors "
                f"from the original (the largest single shift is {largest:.2f}).")
    passed = shift <= RANDOM_CAUSE_SHARE
    text = (f"Random common cause: adding an irrelevant covariate leaves the estimate within its uncertainty "
            f"({shift:.2f} SE), as it should." if passed else
            f"Random common cause: adding an irrelevant covariate moves the estimate by {shift:.2f} SE: the answer "
            "depends on noise in the adjustment set (an unstable outcome or propensity model, or matches that "
            "change with it) more than on sampling.")
    return Refutation(name, "pass" if passed else "fail", expected, observed, text, metric=shift,
                      threshold=RANDOM_CAUSE_SHARE, replicates=len(fits), failed=len(fits) - len(good),
                      estimates=tuple(estimates.tolist()), seed=seed)


def judge_subsets(fits: list[Refit], result: EffectResult, seed: int) -> Refutation:
    name = "data_subsets"
    level = f"{1 - result.alpha:.0%}"
    expected = (f"Re-estimated on random {SUBSET_FRACTION:.0%} subsets, the estimates stay inside the original "
                f"{level} interval ({result.ci_lower:.4g} to {result.ci_upper:.4g}): at least "
                f"{SUBSET_INSIDE:.0%} of them.")
    failure = too_many_failures(name, fits, seed, expected)
    if failure is not None:
        return failure
    good = [f for f in fits if f.error is None]
    estimates = np.array([f.estimate for f in good])
    if not (math.isfinite(result.ci_lower) and math.isfinite(result.ci_upper)):
        return Refutation(name, "not_applicable", expected, "The estimate has no interval to compare with.",
                          "Data subsets: no interval to compare the subset estimates with.", seed=seed)
    inside = float(np.mean((estimates >= result.ci_lower) & (estimates <= result.ci_upper)))
    observed = (f"{inside:.0%} of {len(good)} subset estimates lie inside the original interval (they range "
                f"{estimates.min():.4g} to {estimates.max():.4g}).")
    passed = inside >= SUBSET_INSIDE
    text = (f"Data subsets: on random {SUBSET_FRACTION:.0%} subsets the estimate stays inside its interval "
            f"({inside:.0%} of them), as it should." if passed else
            f"Data subsets: on random {SUBSET_FRACTION:.0%} subsets the estimate often leaves its interval (only "
            f"{inside:.0%} inside): a few rows drive the answer.")
    return Refutation(name, "pass" if passed else "fail", expected, observed, text, metric=inside,
                      threshold=SUBSET_INSIDE, replicates=len(fits), failed=len(fits) - len(good),
                      estimates=tuple(estimates.tolist()), seed=seed)


def judge(name: str, fits: list[Refit], result: EffectResult, seed: int) -> Refutation:
    if name in ("placebo_treatment", "dummy_outcome"):
        return judge_null(name, fits, result, seed)
    if name == "random_common_cause":
        return judge_random_cause(fits, result, seed)
    return judge_subsets(fits, result, seed)


# --------------------------------------------------------------------------
# the verbs
# --------------------------------------------------------------------------

def check_replicates(name: str, replicates: Any) -> int:
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < MIN_REPLICATES:
        raise MethodError(f"The {TITLES[name].lower()} refuter needs a whole number of replicates of at least "
                          f"{MIN_REPLICATES}, got {replicates!r}.",
                          f"Use e.g. replicates={DEFAULT_REPLICATES[name]}.", code="E-METHOD-005")
    return int(replicates)


def check_names(which: Sequence[str]) -> tuple[str, ...]:
    if isinstance(which, str):
        which = (which,)
    unknown = [w for w in which if w not in REFUTERS]
    if unknown or not which:
        raise MethodError(f"Unknown refuter(s): {', '.join(map(str, unknown)) or 'none given'}.",
                          f"Choose from {', '.join(REFUTERS)}.", code="E-METHOD-005")
    return tuple(dict.fromkeys(which))


def plan(name: str, target: Target, dataset: Dataset, replicates: int, seed: int) -> list[Task]:
    roles = target.roles.to_dict()
    return [Task(refit, (RefitJob(target.method, roles, target.result.estimand, target.result.alpha, target.seed,
                                  target.params, name, r, seed, target.design), dataset),
                 label=f"{TITLES[name]} {r + 1}/{replicates}") for r in range(replicates)]


def refute(result: EffectResult, dataset: Dataset | pd.DataFrame, roles: Roles | None = None, *,
           method: str | None = None, which: Sequence[str] = REFUTERS,
           replicates: int | dict[str, int] | None = None, seed: int | None = None,
           on_progress: TaskProgress | None = None) -> RefutationReport:
    """Run the refuters ``which`` on ``result`` (all of them by default) as one list of seeded tasks.

    ``replicates``: one count for every refuter or a dict per refuter (DEFAULT_REPLICATES otherwise);
    ``seed``: the perturbations' seed (default: the estimate's own); ``on_progress(done, total, label)``.
    """
    names = check_names(which)
    counts = {n: check_replicates(n, (replicates.get(n, DEFAULT_REPLICATES[n]) if isinstance(replicates, dict)
                                      else DEFAULT_REPLICATES[n] if replicates is None else replicates))
              for n in names}
    if not isinstance(dataset, Dataset):
        from .data import as_dataset

        dataset = as_dataset(dataset)
    target = resolve(method, dataset, roles, result)
    base = target.seed if seed is None else int(seed)
    skipped = {n: not_applicable_reason(n, target, dataset) for n in names}
    tasks: list[Task] = []
    spans: dict[str, tuple[int, int]] = {}
    for n in names:
        if skipped[n] is None:
            start = len(tasks)
            tasks += plan(n, target, dataset, counts[n], base)
            spans[n] = (start, len(tasks))
    fits = run_tasks(tasks, on_progress)
    out = []
    for n in names:
        if skipped[n] is not None:
            out.append(Refutation(n, "not_applicable", "", "", f"{TITLES[n]}: not applicable. {skipped[n]}",
                                  seed=base))
        else:
            lo, hi = spans[n]
            out.append(judge(n, fits[lo:hi], result, base))
    return RefutationReport(tuple(out), target.method, base)


def _one(name: str) -> Callable[..., Refutation]:
    def run(method: str | None, dataset: Dataset | pd.DataFrame, roles: Roles | None, result: EffectResult, *,
            replicates: int = DEFAULT_REPLICATES[name], seed: int | None = None,
            on_progress: TaskProgress | None = None) -> Refutation:
        return refute(result, dataset, roles, method=method, which=(name,), replicates=replicates, seed=seed,
                      on_progress=on_progress).refutations[0]

    run.__name__ = name
    run.__doc__ = f"{TITLES[name]} refuter on ``result`` (see the module docstring)."
    return run


placebo_treatment = _one("placebo_treatment")
random_common_cause = _one("random_common_cause")
data_subsets = _one("data_subsets")
dummy_outcome = _one("dummy_outcome")


def attach_refutations(result: EffectResult, dataset: Dataset | pd.DataFrame, roles: Roles | None = None,
                       **kwargs: Any) -> EffectResult:
    """The result with ``diagnostics["refutation"]`` (the report) and its gates re-evaluated, so the
    ``refutation`` gate and the score's robustness read it."""
    report = refute(result, dataset, roles, **kwargs)
    out = result.replace(diagnostics={**result.diagnostics, "refutation": report.to_dict()})
    if result.gates:
        from .gates import evaluate_gates

        out = out.replace(gates=tuple(evaluate_gates(out)))
    return out


__all__ = ["REFUTERS", "Refutation", "RefutationReport", "refute", "attach_refutations", "placebo_treatment",
           "random_common_cause", "data_subsets", "dummy_outcome"]
