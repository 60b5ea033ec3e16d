"""The estimator registry: every method registers its id, family, estimands and
Requirements; selection, the CLI and the app read it from here.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from .errors import MethodError

TreatmentKind = Literal["binary", "continuous", "any"]


@dataclass(frozen=True)
class Requirements:
    """What a method needs from the roles and the data."""

    roles: tuple[str, ...] = ("outcome", "treatment")
    recommended: tuple[str, ...] = ()
    treatment: TreatmentKind = "binary"
    panel: bool = False
    min_rows: int = 4
    min_per_arm: int = 2

    def to_dict(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "recommended": list(self.recommended), "treatment": self.treatment,
                "panel": self.panel, "min_rows": self.min_rows, "min_per_arm": self.min_per_arm}


@dataclass(frozen=True)
class MethodSpec:
    """A registered estimator."""

    id: str
    func: Callable[..., Any]
    family: str
    estimands: tuple[str, ...]
    requires: Requirements
    title: str
    summary: str
    version: str = "1"
    #: How readily an analyst can explain the model (0..1); used by the interpretability score.
    transparency: float = 1.0
    #: Exponent b in cost ~ n^b (1 = linear, 1.1 ~ n log n); used by the scalability score.
    cost_exponent: float = 1.0
    defaults: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "family": self.family, "estimands": list(self.estimands), "title": self.title,
                "summary": self.summary, "requires": self.requires.to_dict(), "version": self.version,
                "defaults": self.defaults}


_REGISTRY: dict[str, MethodSpec] = {}
_COMMON = {"estimand", "alpha", "seed"}


def _keyword_defaults(func: Callable) -> dict[str, Any]:
    """The method's own parameters and their defaults, read from its signature."""
    sig = inspect.signature(func)
    return {n: p.default for n, p in sig.parameters.items()
            if p.kind == p.KEYWORD_ONLY and n not in _COMMON and p.default is not p.empty}


def register(method_id: str, *, family: str, estimands: tuple[str, ...], requires: Requirements,
             title: str, summary: str, version: str = "1", transparency: float = 1.0,
             cost_exponent: float = 1.0) -> Callable:
    """Decorator adding an estimator function to the registry."""

    def wrap(func: Callable) -> Callable:
        if method_id in _REGISTRY:
            raise ValueError(f"method {method_id!r} registered twice")
        _REGISTRY[method_id] = MethodSpec(id=method_id, func=func, family=family, estimands=estimands,
                                          requires=requires, title=title, summary=summary, version=version,
                                          transparency=transparency, cost_exponent=cost_exponent,
                                          defaults=_keyword_defaults(func))
        return func

    return wrap


def _load_all() -> None:
    from . import estimators  # noqa: F401  (importing registers every method)


def get(method_id: str) -> MethodSpec:
    _load_all()
    try:
        return _REGISTRY[method_id]
    except KeyError:
        raise MethodError(f"Unknown method '{method_id}'.",
                          f"Available methods: {', '.join(sorted(_REGISTRY))}. See `cqox methods`.",
                          code="E-METHOD-001") from None


def methods() -> list[MethodSpec]:
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
