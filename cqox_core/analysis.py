"""analyze: the whole walk (map, detect, select, estimate, gates, CAS, decide)
as one serialisable object."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from . import registry
from .cas import CAS, score
from .comparison import compare
from .data import Dataset, as_dataset
from .decision import Decision, check_min_effect, decide, resolve_direction
from .results import EffectResult, to_jsonable
from .roles import Roles
from .runner import Progress, run_methods
from .selection import Choice, data_structure, select


#: The design the roles point to, in order of precedence.
def pointed_design(roles: Roles) -> str:
    if roles.running and roles.cutoff is not None:
        return "threshold"
    if roles.instrument:
        return "instrument"
    if roles.unit and roles.time:
        return "panel"
    if roles.time:
        return "time_series"
    return "cross_section"


def headline_order(roles: Roles) -> tuple[str, ...]:
    """Which result gives the headline number: the design the roles point to first, then the
    cross-sectional methods; within each, the registry's headline rank (doubly robust first)."""
    ranked = [s for s in registry.methods() if s.headline_rank is not None]
    design = pointed_design(roles)
    first = sorted((s for s in ranked if s.design == design and design != "cross_section"),
                   key=lambda s: s.headline_rank or 0)
    rest = sorted((s for s in ranked if s.design == "cross_section"), key=lambda s: s.headline_rank or 0)
    return tuple(s.id for s in first + rest)




@dataclass(frozen=True)
class Analysis:
    source: str
    sha256: str
    n_rows: int
    n_cols: int
    roles: Roles
    mapping: dict[str, Any]
    domain: dict[str, Any]
    selection: tuple[Choice, ...]
    results: dict[str, EffectResult]
    errors: dict[str, dict[str, str]]
    cas: dict[str, CAS]
    elapsed: dict[str, float]
    headline: str | None
    decision: Decision | None
    params: dict[str, Any] = field(default_factory=dict)
    #: The data's layout (selection.data_structure) and the like-with-like comparison of the estimates.
    structure: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({
            "source": self.source, "sha256": self.sha256, "n_rows": self.n_rows, "n_cols": self.n_cols,
            "roles": self.roles.to_dict(), "mapping": self.mapping, "domain": self.domain,
            "selection": [c.to_dict() for c in self.selection],
            "results": {k: r.to_dict() for k, r in self.results.items()},
            "errors": self.errors, "cas": {k: c.to_dict() for k, c in self.cas.items()},
            "elapsed_seconds": self.elapsed, "headline": self.headline,
            "decision": self.decision.to_dict() if self.decision else None, "params": self.params,
            "structure": self.structure, "comparison": self.comparison,
        })


def analyze(data: Dataset | pd.DataFrame | str | Path, *, roles: Roles | None = None,
            methods: Sequence[str] | None = None, estimand: str = "ate", alpha: float = 0.05, seed: int = 0,
            value_per_unit: float | None = None, cost_per_treated: float = 0.0,
            params: Mapping[str, dict[str, Any]] | None = None, on_progress: Progress | None = None,
            better: str | None = None, min_effect: float | None = None, refute: bool = False,
            specification_curve: bool = False, **role_kw: Any) -> Analysis:
    """Run the whole battery. Roles not given are filled by auto mapping; a method
    that cannot run records its typed error and the others still run. ``params``
    maps a method id to its own parameters. ``better`` ("higher" or "lower") says which
    direction of the outcome is good (None: the default for the outcome's name and the
    domain); ``min_effect`` is the smallest improvement that matters, in outcome units.
    ``refute`` runs the refuters on every estimate (cqox_core.refuters: the refutation gate and the
    score read them); ``specification_curve`` re-runs the headline across the reasonable
    specifications (cqox_core.specification_curve; the score reads it)."""
    resolve_direction(better, None)  # a bad direction or minimum effect fails before any work
    check_min_effect(min_effect)
    from .domain import detect_domain
    from .mapping import infer_roles

    dataset = as_dataset(data)
    fixed = (roles or Roles()).replace(**role_kw)
    mapping = infer_roles(dataset, fixed=fixed)
    resolved = mapping.roles
    domain = detect_domain(dataset, resolved)
    choices = tuple(select(dataset, resolved))
    battery = set(registry.battery())
    # the default battery: what can run, fits the data's structure and is a battery method
    runnable = [c.method for c in choices if c.runnable and c.recommended and c.method in battery]
    todo = list(methods) if methods is not None else runnable
    run = run_methods(dataset, resolved, todo, estimand=estimand, alpha=alpha, seed=seed, params=params,
                      on_progress=on_progress)
    results, errors, elapsed = run.results, run.errors, run.elapsed
    if refute:
        from .refuters import attach_refutations

        results = {m: attach_refutations(r, dataset) for m, r in results.items()}
    head = next((m for m in headline_order(resolved) if m in results), next(iter(results), None))
    if specification_curve and head is not None:
        from .specification_curve import attach_specification_curve
        from .specification_curve import specification_curve as curve_of

        results[head] = attach_specification_curve(results[head], curve_of(results[head], dataset, reuse=results))
    return assemble(dataset, mapping.to_dict(), domain.to_dict(), resolved, choices, results, errors, elapsed,
                    estimand=estimand, alpha=alpha, seed=seed, value_per_unit=value_per_unit,
                    cost_per_treated=cost_per_treated, better=better, min_effect=min_effect)


def assemble(dataset: Dataset, mapping: dict[str, Any], domain: dict[str, Any], roles: Roles,
             choices: Sequence[Choice], results: dict[str, EffectResult], errors: dict[str, dict[str, str]],
             elapsed: dict[str, float], *, estimand: str = "ate", alpha: float = 0.05, seed: int = 0,
             value_per_unit: float | None = None, cost_per_treated: float = 0.0, better: str | None = None,
             min_effect: float | None = None) -> Analysis:
    """Score, pick the headline and decide, given the estimates (the app runs the
    methods itself, one cached call each, then calls this)."""
    resolve_direction(better, None)
    check_min_effect(min_effect)
    all_results = list(results.values())
    structure = data_structure(dataset, roles)
    cas = {m: score(r, others=all_results, data=dataset) for m, r in results.items()}
    headline = next((m for m in headline_order(roles) if m in results), next(iter(results), None))
    decision = None
    if headline:
        decision = decide(results[headline], cas=cas[headline], others=all_results,
                          value_per_unit=value_per_unit, cost_per_treated=cost_per_treated,
                          treated_units=results[headline].diagnostics.get("n_treated"), better=better,
                          min_effect=min_effect, domain=(domain or {}).get("name"))
    return Analysis(source=dataset.source, sha256=dataset.sha256, n_rows=dataset.n_rows, n_cols=dataset.n_cols,
                    roles=roles, mapping=mapping, domain=domain, selection=tuple(choices),
                    results=results, errors=errors, cas=cas, elapsed={k: round(v, 4) for k, v in elapsed.items()},
                    headline=headline, decision=decision,
                    params={"estimand": estimand, "alpha": alpha, "seed": seed,
                            "value_per_unit": value_per_unit, "cost_per_treated": cost_per_treated,
                            "better": better, "min_effect": min_effect},
                    structure=structure.to_dict(), comparison=compare(results, headline, structure.fits).to_dict())
