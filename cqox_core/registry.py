"""The estimator registry: the single description of every method.

A method is one module ``cqox_core/estimators/<method_id>.py`` whose function is
decorated with :func:`register`. The decorator carries the whole spec: the roles
it needs and recommends, data conditions, estimands, parameters with their help
text (read from the signature: one source for the CLI's ``methods``, the app's
widgets and the docs), its rank as the headline number, whether it belongs to the
default battery, its design, its resampling hook, a small ``example`` with a known
effect and its references (a published or peer number with source, tolerance and
the script that produced it). Nothing about a method lives in a table elsewhere.

Modules are discovered with :mod:`pkgutil` (private helpers start with ``_``), so
adding a method means adding one module and one test file
(``tests/estimators/test_<method_id>.py``).
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from .errors import MethodError

TreatmentKind = Literal["binary", "continuous", "any"]
#: The data structure a design is built for (which selection reads to pre-select it).
Design = Literal["cross_section", "threshold", "instrument", "panel", "time_series", "wrapper"]
#: Parameters every method takes; documented once here rather than per method.
COMMON_PARAMS = {
    "estimand": "Which average effect: ATE (everyone), ATT (the treated), ATC (the untreated), LATE (compliers).",
    "alpha": "One minus the confidence level of the interval (0.05 gives a 95% interval).",
    "seed": "Seed of every random step (folds, resamples, tie-breaking): the same seed gives the same number.",
}
ESTIMATORS_PACKAGE = "cqox_core.estimators"


@dataclass(frozen=True)
class Requirements:
    """What a method needs from the roles and the data."""

    roles: tuple[str, ...] = ("outcome", "treatment")
    recommended: tuple[str, ...] = ()
    treatment: TreatmentKind = "binary"
    panel: bool = False
    min_rows: int = 4
    min_per_arm: int = 2
    #: The design compares one treated unit with the others (selection refuses it on data with several).
    one_treated_unit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "recommended": list(self.recommended), "treatment": self.treatment,
                "panel": self.panel, "min_rows": self.min_rows, "min_per_arm": self.min_per_arm,
                "one_treated_unit": self.one_treated_unit}


@dataclass(frozen=True)
class Param:
    """One method parameter as the CLI, the app and the docs show it."""

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    annotation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "default": self.default, "help": self.help,
                "choices": list(self.choices) if self.choices is not None else None, "type": self.annotation}


@dataclass(frozen=True)
class Example:
    """A small dataset with a known effect, the roles and parameters to run the method on it."""

    frame: Any  # pandas.DataFrame (kept untyped so the registry imports no pandas)
    roles: dict[str, Any]
    truth: float
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def kwargs(self) -> dict[str, Any]:
        """Roles and parameters as keywords of :func:`cqox_core.estimate`."""
        return {**self.roles, **self.params}


@dataclass(frozen=True)
class Reference:
    """A number the method must reproduce: published, or computed by a peer library.

    ``data`` names the dataset, loadable offline (cqox_core.datasets.public.load):
    ``causaldata:<module>``, ``woo:<name>``, ``file:<path>[#key]``, ``cqox:<function>`` (a
    named preparation of a public dataset) or ``example:<seed>`` (the method's own example);
    ``quantity`` is ``estimate``, ``std_error``, ``ci_lower``/``ci_upper``, ``p_value``,
    ``n_obs``, ``diagnostics.<key>`` or ``by.<label>[.field]``. ``script`` is the command or
    file that produced ``value``; tests/test_references.py reproduces every reference.
    """

    quantity: str
    value: float
    tolerance: float
    source: str
    script: str
    data: str
    roles: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    relative: bool = False
    why_tolerance: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "value": self.value, "tolerance": self.tolerance,
                "relative": self.relative, "why_tolerance": self.why_tolerance, "source": self.source,
                "script": self.script, "data": self.data, "roles": self.roles, "params": self.params}


@dataclass(frozen=True)
class MethodSpec:
    """A registered estimator: everything the CLI, the app, selection and the tests need to know."""

    id: str
    func: Callable[..., Any]
    family: str
    design: Design
    estimands: tuple[str, ...]
    requires: Requirements
    title: str
    summary: str
    params: tuple[Param, ...] = ()
    #: Where the standard error comes from (influence function, sandwich, bootstrap ...), one line.
    inference: str = ""
    #: Lower ranks are preferred as the headline among results of the design the roles point to;
    #: None: never the headline.
    headline_rank: int | None = None
    #: Run by default in ``analyze`` and pre-selected in the app.
    battery: bool = True
    #: Whether an E-value applies (designs with one treated series have no outcome spread to convert).
    e_value: bool = True
    #: Fast path for the bootstrap: (data, roles, estimand, **params) -> (RowSampler, ArrayEstimate) | None.
    resampling: Callable[..., Any] | None = None
    example: Callable[..., Example] | None = None
    references: tuple[Reference, ...] = ()
    version: str = "1"
    #: How readily an analyst can explain the model (0..1); used by the interpretability score.
    transparency: float = 1.0
    #: Exponent b in cost ~ n^b (1 = linear, 1.1 ~ n log n); used by the scalability score.
    cost_exponent: float = 1.0
    module: str = ""

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    @property
    def test_path(self) -> str:
        return f"tests/estimators/test_{self.id}.py"

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "family": self.family, "design": self.design, "estimands": list(self.estimands),
                "title": self.title, "summary": self.summary, "requires": self.requires.to_dict(),
                "version": self.version, "defaults": self.defaults,
                "params": [p.to_dict() for p in self.params], "inference": self.inference,
                "headline_rank": self.headline_rank,
                "battery": self.battery, "references": [r.to_dict() for r in self.references],
                "test": self.test_path, "module": self.module}


_REGISTRY: dict[str, MethodSpec] = {}


def _choices(func: Callable, name: str) -> tuple[Any, ...] | None:
    """The allowed values of a ``Literal``-typed parameter (also inside ``Literal[...] | None``)."""
    hint = typing.get_type_hints(func).get(name)
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    for arg in typing.get_args(hint):
        if typing.get_origin(arg) is Literal:
            return typing.get_args(arg) + ((None,) if type(None) in typing.get_args(hint) else ())
    return None


def _signature_params(method_id: str, func: Callable, help_text: dict[str, str]) -> tuple[Param, ...]:
    """The method's own keyword parameters, their defaults and help, read from its signature.

    Every parameter must have help text: the docs, the CLI and the app show it.
    """
    sig = inspect.signature(func)
    own = [p for n, p in sig.parameters.items()
           if p.kind == p.KEYWORD_ONLY and n not in COMMON_PARAMS and p.default is not p.empty]
    missing = [p.name for p in own if p.name not in help_text]
    unknown = sorted(set(help_text) - {p.name for p in own})
    if missing or unknown:
        raise ValueError(f"method {method_id!r}: parameters without help {missing}, help for no parameter {unknown}")
    return tuple(Param(name=p.name, default=p.default, help=help_text[p.name], choices=_choices(func, p.name),
                       annotation=_shown_type(p.annotation)) for p in own)


def _shown_type(annotation: Any) -> str:
    """The annotation as written, without ``Annotated[...]``'s bounds (params.check_values reads those)."""
    text = str(annotation)
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Annotated" \
            and isinstance(node.slice, ast.Tuple):
        return ast.unparse(node.slice.elts[0])
    return text


def register(method_id: str, *, family: str, design: Design, estimands: tuple[str, ...], requires: Requirements,
             title: str, summary: str, params: dict[str, str] | None = None, inference: str = "",
             headline_rank: int | None = None,
             battery: bool = True, e_value: bool = True, resampling: Callable[..., Any] | None = None,
             example: Callable[..., Example] | None = None, references: tuple[Reference, ...] = (),
             version: str = "1", transparency: float = 1.0, cost_exponent: float = 1.0) -> Callable:
    """Decorator adding an estimator function and its whole spec to the registry."""

    def wrap(func: Callable) -> Callable:
        if method_id in _REGISTRY:
            raise ValueError(f"method {method_id!r} registered twice")
        _REGISTRY[method_id] = MethodSpec(
            id=method_id, func=func, family=family, design=design, estimands=estimands, requires=requires,
            title=title, summary=summary, params=_signature_params(method_id, func, params or {}), inference=inference,
            headline_rank=headline_rank, battery=battery, e_value=e_value, resampling=resampling,
            example=example, references=references, version=version, transparency=transparency,
            cost_exponent=cost_exponent, module=func.__module__)
        return func

    return wrap


_LOADED = False


def _load_all() -> None:
    """Import every public module of the estimators package (each registers its method)."""
    global _LOADED
    if _LOADED:
        return
    package = importlib.import_module(ESTIMATORS_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{ESTIMATORS_PACKAGE}.{info.name}")
    _LOADED = True


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


def battery() -> list[str]:
    """Methods run by default (``analyze``; pre-selected in the app)."""
    return [m.id for m in methods() if m.battery]


def unregister(method_id: str) -> None:
    """Remove a method (tests that register a toy estimator clean up with this)."""
    _REGISTRY.pop(method_id, None)
