"""The specification curve: the headline estimate re-run across the reasonable specifications.

ShowWhy's idea (and Simonsohn, Simmons & Nelson 2020, Nat. Hum. Behav. 4:1208), our code. From the
estimate to examine, the specifications varied one choice at a time are:

- covariates: each covariate left out in turn, and the covariates auto mapping would choose when they
  differ from the ones used;
- trimming (methods with ``trim``): no trimming, 0.01, 0.05 and 0.1;
- calipers (methods with ``caliper``): none, 0.1, 0.2 and 0.5 SD of the logit score;
- learners (parameters ``*_learner``): each other learner the method offers;
- estimators: every other battery method of the same design family (``registry.get(m).design``) that
  estimates the same estimand, on the same roles, with its defaults.

Each specification is an independent task (``cqox_core.tasks``: picklable, seeded with the estimate's own
seed, catching its own typed error), so a large curve can run on an executor. A specification that
cannot run is listed with its error and left out of the curve, never replaced.

The curve is sorted by estimate, with intervals. A specification *agrees* with the headline when it
reaches the same conclusion in sign and significance: significant (its interval excludes zero) in the
same direction when the headline is significant, not significant when the headline is not (the sign
of an estimate indistinguishable from zero says nothing, so it is not asked to match);
``share_agree`` is the share of the alternatives that agree, and feeds the robustness component of
the CAS; ``share_same_sign`` is reported beside it. The *outlier* is the alternative farthest from the
curve's median, in headline standard errors: the choice the answer depends on most.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from . import registry
from .data import Dataset
from .errors import CQOxError, MethodError
from .refuters import Target, refit_target
from .results import EffectResult, to_jsonable
from .roles import Roles
from .tasks import Task, TaskProgress, run_tasks

KINDS: tuple[str, ...] = ("covariates", "trimming", "caliper", "learner", "estimator")
TRIM_LEVELS: tuple[float | None, ...] = (None, 0.01, 0.05, 0.1)
CALIPER_LEVELS: tuple[float | None, ...] = (None, 0.1, 0.2, 0.5)


@dataclass(frozen=True)
class Specification:
    """One way to run the analysis: a method, its roles and parameters, and what changed from the headline."""

    label: str
    kind: str
    method: str
    roles: dict[str, Any]
    params: dict[str, Any]
    estimand: str
    alpha: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"label": self.label, "kind": self.kind, "method": self.method, "params": self.params,
                            "covariates": list(self.roles.get("covariates") or [])})


@dataclass(frozen=True)
class SpecOutcome:
    """A specification's estimate and interval, or its typed error."""

    spec: Specification
    estimate: float = math.nan
    std_error: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    p_value: float = math.nan
    n_obs: int = 0
    error: dict[str, str] | None = None

    @property
    def significant(self) -> bool:
        if math.isfinite(self.ci_lower) and math.isfinite(self.ci_upper):
            return self.ci_lower > 0 or self.ci_upper < 0
        return math.isfinite(self.p_value) and self.p_value < self.spec.alpha


def run_specification(spec: Specification, dataset: Dataset) -> SpecOutcome:
    """Estimate one specification (a task: module-level, picklable, catches its own typed error)."""
    from .api import estimate

    try:
        res = estimate(spec.method, dataset, roles=Roles.from_dict(spec.roles), estimand=spec.estimand,
                       alpha=spec.alpha, seed=spec.seed, with_gates=False, with_sensitivity=False, **spec.params)
    except CQOxError as exc:
        return SpecOutcome(spec, error=exc.to_dict()["error"])
    if not math.isfinite(res.estimate):
        return SpecOutcome(spec, error={"code": "E-EST-001", "message": "The method returned no finite estimate.",
                                        "hint": ""})
    return SpecOutcome(spec, res.estimate, res.std_error, res.ci_lower, res.ci_upper, res.p_value, res.n_obs)


def outcome_of(spec: Specification, result: EffectResult) -> SpecOutcome:
    return SpecOutcome(spec, result.estimate, result.std_error, result.ci_lower, result.ci_upper, result.p_value,
                       result.n_obs)


# --------------------------------------------------------------------------
# which specifications
# --------------------------------------------------------------------------

#: The estimate examined, resolved to the method that is re-run: the refuters' target.
Headline = Target


def resolve(method: str | None, roles: Roles | None, result: EffectResult) -> Headline:
    return refit_target(method, roles, result, "The specification curve needs")


def _spec(head: Headline, label: str, kind: str, *, method: str | None = None, roles: Roles | None = None,
          params: dict[str, Any] | None = None) -> Specification:
    return Specification(label, kind, method or head.method, (roles or head.roles).to_dict(),
                         dict(head.params if params is None else params), head.result.estimand, head.result.alpha,
                         head.seed)


def covariate_specs(head: Headline, dataset: Dataset, mapper: bool) -> list[Specification]:
    covariates = tuple(head.roles.covariates)
    out = []
    if len(covariates) >= 2:
        out += [_spec(head, f"without {c}", "covariates", roles=head.roles.replace(
            covariates=tuple(x for x in covariates if x != c))) for c in covariates]
    if mapper and covariates:
        from .mapping import infer_roles

        try:
            chosen = tuple(infer_roles(dataset, fixed=head.roles.replace(covariates=())).roles.covariates)
        except CQOxError:
            chosen = ()
        if chosen and set(chosen) != set(covariates):
            out.append(_spec(head, "covariates chosen by auto mapping", "covariates",
                             roles=head.roles.replace(covariates=chosen)))
    return out


def level_specs(head: Headline, name: str, kind: str, levels: tuple[Any, ...], unit: str) -> list[Specification]:
    spec = registry.get(head.method)
    if name not in spec.defaults:
        return []
    current = head.params.get(name, spec.defaults[name])
    return [_spec(head, f"{name} {'none' if v is None else f'{v:g}{unit}'}", kind, params={**head.params, name: v})
            for v in levels if v != current]


def learner_specs(head: Headline) -> list[Specification]:
    spec = registry.get(head.method)
    out = []
    for p in spec.params:
        if p.name.endswith("_learner") and p.choices:
            current = head.params.get(p.name, p.default)
            out += [_spec(head, f"{p.name.replace('_', ' ')} {c}", "learner", params={**head.params, p.name: c})
                    for c in p.choices if c is not None and c != current]
    return out


def estimator_specs(head: Headline, methods: Sequence[str] | None) -> list[Specification]:
    pool = ([registry.get(m) for m in methods] if methods is not None else
            [m for m in registry.methods() if m.battery])
    return [_spec(head, f"estimator {m.id}", "estimator", method=m.id, params={})
            for m in pool if m.id != head.method and m.design == head.design and m.design != "wrapper"
            and head.result.estimand in m.estimands]


def specifications(head: Headline, dataset: Dataset, *, include: Sequence[str] = KINDS,
                   methods: Sequence[str] | None = None, mapper: bool = True) -> list[Specification]:
    """The alternatives to the headline, one choice varied at a time (see the module docstring)."""
    out: list[Specification] = []
    if "covariates" in include:
        out += covariate_specs(head, dataset, mapper)
    if "trimming" in include:
        out += level_specs(head, "trim", "trimming", TRIM_LEVELS, "")
    if "caliper" in include:
        out += level_specs(head, "caliper", "caliper", CALIPER_LEVELS, " SD")
    if "learner" in include:
        out += learner_specs(head)
    if "estimator" in include:
        out += estimator_specs(head, methods)
    return out


# --------------------------------------------------------------------------
# the curve
# --------------------------------------------------------------------------

def sign(x: float) -> int:
    return 0 if x == 0 or not math.isfinite(x) else (1 if x > 0 else -1)


@dataclass(frozen=True)
class SpecificationCurve:
    headline: SpecOutcome
    alternatives: tuple[SpecOutcome, ...]
    failed: tuple[SpecOutcome, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def agrees(self, o: SpecOutcome) -> bool:
        """The same conclusion: significant in the same direction, or not significant like the headline."""
        h = self.headline
        if not h.significant:
            return not o.significant
        return o.significant and sign(o.estimate) == sign(h.estimate)

    @property
    def share_same_sign(self) -> float:
        alts = self.alternatives
        return sum(sign(o.estimate) == sign(self.headline.estimate) for o in alts) / len(alts) if alts else math.nan

    @property
    def share_agree(self) -> float:
        alts = self.alternatives
        return sum(self.agrees(o) for o in alts) / len(alts) if alts else math.nan

    @property
    def outlier(self) -> SpecOutcome | None:
        if not self.alternatives:
            return None
        middle = float(np.median([o.estimate for o in (self.headline, *self.alternatives)]))
        return max(self.alternatives, key=lambda o: abs(o.estimate - middle))

    def text(self) -> str:
        h, alts = self.headline, self.alternatives
        failed = f" {len(self.failed)} could not run and are listed apart." if self.failed else ""
        if not alts:
            return "No alternative specification could be estimated." + failed
        agree = sum(self.agrees(o) for o in alts)
        estimates = [o.estimate for o in (h, *alts)]
        verdict = ("its direction and significance do not hinge on these choices" if agree == len(alts) else
                   "the conclusion depends on the specification" if agree < 0.8 * len(alts) else
                   "a few choices change the conclusion")
        sig = "significant" if h.significant else "not significant"
        text = (f"Of {len(alts)} alternative specifications, {agree} ({agree / len(alts):.0%}) agree with the headline "
                f"({h.estimate:.4g}, {sig}) in sign and significance, so {verdict}. Estimates range from "
                f"{min(estimates):.4g} to {max(estimates):.4g}.")
        out = self.outlier
        if out is not None and math.isfinite(h.std_error) and h.std_error > 0:
            text += (f" The farthest from the others is '{out.spec.label}' ({out.estimate:.4g}, "
                     f"{abs(out.estimate - h.estimate) / h.std_error:.1f} headline SEs from the headline).")
        return text + failed

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for o in sorted((self.headline, *self.alternatives), key=lambda o: o.estimate):
            is_head = o is self.headline
            rows.append({**o.spec.to_dict(), "estimate": o.estimate, "std_error": o.std_error,
                         "ci_lower": o.ci_lower, "ci_upper": o.ci_upper, "p_value": o.p_value, "n_obs": o.n_obs,
                         "significant": o.significant, "headline": is_head,
                         "agrees": True if is_head else self.agrees(o)})
        out = self.outlier
        return to_jsonable({
            "specs": rows, "failed": [{**o.spec.to_dict(), "error": o.error} for o in self.failed],
            "headline_label": self.headline.spec.label, "headline_estimate": self.headline.estimate,
            "n_alternatives": len(self.alternatives), "n_failed": len(self.failed),
            "share_same_sign": self.share_same_sign, "share_agree": self.share_agree,
            "outlier": out.spec.label if out is not None else None, "text": self.text(), **self.extra})


def check_include(include: Sequence[str]) -> tuple[str, ...]:
    if isinstance(include, str):
        include = (include,)
    unknown = [k for k in include if k not in KINDS]
    if unknown or not include:
        raise MethodError(f"Unknown kind(s) of specification: {', '.join(map(str, unknown)) or 'none given'}.",
                          f"Choose from {', '.join(KINDS)}.", code="E-METHOD-005")
    return tuple(include)


def specification_tasks(specs: Sequence[Specification], dataset: Dataset) -> list[Task]:
    return [Task(run_specification, (s, dataset), label=s.label) for s in specs]


def specification_curve(result: EffectResult, dataset: Dataset | Any, roles: Roles | None = None, *,
                        method: str | None = None, include: Sequence[str] = KINDS,
                        methods: Sequence[str] | None = None, mapper: bool = True,
                        reuse: Mapping[str, EffectResult] | None = None,
                        on_progress: TaskProgress | None = None) -> SpecificationCurve:
    """The curve around ``result`` (see the module docstring).

    ``methods`` restricts the other estimators (default: the battery methods of the same design);
    ``reuse`` maps a method id to an estimate already computed on these roles with its defaults (an
    analysis' other results), used instead of re-running that estimator; ``on_progress(done, total, label)``.
    """
    kinds = check_include(include)
    if not isinstance(dataset, Dataset):
        from .data import as_dataset

        dataset = as_dataset(dataset)
    head = resolve(method, roles, result)
    head.roles.check_columns(dataset.frame)
    specs = specifications(head, dataset, include=kinds, methods=methods, mapper=mapper)
    reused = {s.label: outcome_of(s, reuse[s.method]) for s in specs
              if s.kind == "estimator" and reuse and s.method in reuse and reuse[s.method].estimand == s.estimand
              and math.isfinite(reuse[s.method].estimate)}
    todo = [s for s in specs if s.label not in reused]
    ran = dict(zip((s.label for s in todo), run_tasks(specification_tasks(todo, dataset), on_progress)))
    outcomes = [reused.get(s.label) or ran[s.label] for s in specs]
    headline = outcome_of(_spec(head, f"headline: {head.method}", "headline"), result)
    return SpecificationCurve(headline, tuple(o for o in outcomes if o.error is None),
                              tuple(o for o in outcomes if o.error is not None),
                              {"method": head.method, "design": head.design, "kinds": list(kinds),
                               "reused": sorted(reused)})


def attach_specification_curve(result: EffectResult, curve: SpecificationCurve) -> EffectResult:
    """The result with ``diagnostics["specification_curve"]``, which the CAS robustness component and the
    "specification_curve" figure read."""
    return result.replace(diagnostics={**result.diagnostics, "specification_curve": curve.to_dict()})


__all__ = ["KINDS", "Specification", "SpecificationCurve", "specification_curve", "attach_specification_curve",
           "specifications", "run_specification"]
