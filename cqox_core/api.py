"""The verbs: estimate (one method) — the others live in their own modules and
are re-exported by the package.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pandas as pd

from . import registry
from .data import Dataset, as_dataset
from .errors import CQOxError, EstimationError, MethodError
from .params import check_values
from .results import EffectResult
from .roles import Roles, role_names

ROLE_KEYWORDS = frozenset(role_names())


def split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate role keywords (outcome=, treatment= ...) from method parameters."""
    roles = {k: v for k, v in kwargs.items() if k in ROLE_KEYWORDS}
    params = {k: v for k, v in kwargs.items() if k not in ROLE_KEYWORDS}
    return roles, params


def fill_roles(dataset: Dataset, roles: Roles, needed: tuple[str, ...]) -> tuple[Roles, list[str]]:
    """Fill roles the method needs but the caller left out, from auto mapping."""
    missing = [r for r in needed if r not in roles.assigned()]
    if not missing:
        return roles, []
    from .mapping import infer_roles

    inferred = infer_roles(dataset, fixed=roles).roles
    filled = {r: getattr(inferred, r) for r in missing if r in inferred.assigned()}
    notes = [f"{r.replace('_', ' ').capitalize()} taken from auto mapping: "
             f"{', '.join(v) if isinstance(v, tuple) else v}." for r, v in filled.items()]
    return roles.replace(**filled), notes


def check_params(spec: registry.MethodSpec, params: dict[str, Any]) -> None:
    """Every parameter is the method's own (E-METHOD-002) and has a value its signature allows (E-METHOD-005)."""
    sig = inspect.signature(spec.func)
    accepted = {n for n, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY}
    has_var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = sorted(set(params) - accepted)
    if unknown and not has_var_kw:
        raise MethodError(f"Method '{spec.id}' has no parameter(s) {', '.join(unknown)}.",
                          f"Its parameters are: {', '.join(sorted(accepted)) or 'none'}.", code="E-METHOD-002")
    check_values(spec.id, spec.func, params, help_text={p.name: p.help for p in spec.params},
                 defaults=spec.defaults)


def estimate(method: str, data: Dataset | pd.DataFrame | str | Path, *, roles: Roles | None = None,
             estimand: str | None = None, alpha: float = 0.05, seed: int = 0,
             with_gates: bool = True, with_sensitivity: bool = True, **kwargs: Any) -> EffectResult:
    """Run one registered method and attach gates and sensitivity.

    ``data`` is a DataFrame, a Dataset or a path; role names given as keywords
    fill or override ``roles``; other keywords are the method's parameters.
    Roles the method requires but nobody named are filled by auto mapping (and
    the result says so in its warnings).
    """
    spec = registry.get(method)
    dataset = as_dataset(data)
    role_kw, params = split_kwargs(kwargs)
    resolved = (roles or Roles()).replace(**role_kw)
    resolved, notes = fill_roles(dataset, resolved, spec.requires.roles)
    estimand = (estimand or spec.estimands[0]).lower()
    if estimand not in spec.estimands:
        raise MethodError(f"Method '{method}' does not estimate the {estimand.upper()}.",
                          f"It estimates: {', '.join(e.upper() for e in spec.estimands)}.", code="E-METHOD-003")
    if not 0 < alpha < 1:
        raise MethodError(f"alpha must lie between 0 and 1, got {alpha}.", "Use e.g. --alpha 0.05.",
                          code="E-METHOD-004")
    check_params(spec, params)
    try:
        result: EffectResult = spec.func(dataset, resolved, estimand=estimand, alpha=alpha, seed=seed, **params)
    except CQOxError:
        raise
    except (ValueError, ArithmeticError, IndexError, KeyError, TypeError, MemoryError) as exc:
        # A numerical failure inside a method is reported, never replaced by another number.
        raise EstimationError(f"Method '{method}' failed on this data: {exc}",
                              "Check the roles (e.g. too few rows per group or a constant covariate), "
                              "or try another method.", code="E-EST-001") from exc
    from .selection import structure_caution

    # a method whose design ignores the data's layout (e.g. cross-sectional on a panel) says so in its result
    caution = structure_caution(spec, dataset, resolved)
    result = result.replace(roles=resolved.to_dict(), warnings=tuple(notes) + result.warnings
                            + ((caution,) if caution else ()), params={**spec.defaults, **params, "seed": seed})
    if with_sensitivity:
        from .sensitivity import attach_sensitivity

        result = attach_sensitivity(result, dataset, resolved)
    if with_gates:
        from .gates import evaluate_gates

        result = result.replace(gates=tuple(evaluate_gates(result)))
    return result
