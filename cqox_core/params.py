"""Method parameter values checked from the method's own signature, once, for every method.

``api.estimate`` calls :func:`check_values` after the names are checked, so each
estimator receives only values its signature allows (scikit-learn's habit: fail
early, naming the bad argument). What the signature says is what is checked:

    Literal["a", "b"]     one of the listed values
    int                   a whole number (int or numpy integer, not a bool)
    float                 a finite real number (ints allowed, not a bool)
    bool                  True or False
    str, dict             an instance of that type
    X | None              None, or an X
    Annotated[X, Range]   an X within the bounds a type cannot express
    Any, Sequence, ...    not checked here (the method checks what it needs)

Every failure is a MethodError with one code, E-METHOD-005, naming the
parameter, the value given and the values allowed. Checks no signature can
express (one parameter against another, the estimand or the data) stay in the
method and use E-METHOD-006 when parameters conflict.
"""
from __future__ import annotations

import functools
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

import numpy as np

from .errors import MethodError

#: The one code for a parameter value the method does not accept.
BAD_VALUE = "E-METHOD-005"


@dataclass(frozen=True)
class Range:
    """Bounds of a number, for ``typing.Annotated``: ``n_folds: Annotated[int, at_least(2)] = 5``.

    ``also`` lists values allowed outside the bounds (``n_boot`` 0 = no bootstrap).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    also: tuple[Any, ...] = ()

    def __contains__(self, value: Any) -> bool:
        if any(value == a for a in self.also):
            return True
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def describe(self) -> str:
        """Plain words: '2 or more', 'above 0', 'from 0 to 4', 'from 0 up to (not including) 0.5'."""
        low, high = (f"{v:g}" if v is not None else "" for v in (self.low, self.high))
        if self.high is None:
            text = f"above {low}" if self.low_open else f"{low} or more"
        elif self.low is None:
            text = f"below {high}" if self.high_open else f"{high} or less"
        else:
            text = (f"from {low}" if not self.low_open else f"above {low}") + \
                   (f" up to (not including) {high}" if self.high_open else f" to {high}")
        return (", ".join(f"{a!r}" for a in self.also) + " or " + text) if self.also else text


def at_least(low: float) -> Range:
    return Range(low=low)


def above(low: float) -> Range:
    return Range(low=low, low_open=True)


def between(low: float, high: float) -> Range:
    return Range(low=low, high=high)


#: A share trimmed from each end of the propensity-score range: 0 (no trimming) up to one half.
TRIM_SHARE = Range(low=0.0, high=0.5, high_open=True)


# ---------------------------------------------------------------------------
# reading the signature
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """What one parameter accepts, read from its annotation."""

    optional: bool = False
    kind: str = "any"                           # any | int | float | bool | str | dict | choice
    choices: tuple[Any, ...] = ()
    ranges: tuple[Range, ...] = ()

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is allowed, else what is allowed (for the message)."""
        if value is None and self.optional:
            return None
        wanted = self.describe()
        if self.kind == "choice":
            ok = any(isinstance(value, type(c)) and value == c for c in self.choices)
        elif self.kind == "int":
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        elif self.kind == "float":
            ok = isinstance(value, (int, float, np.integer, np.floating)) \
                and not isinstance(value, (bool, np.bool_)) and math.isfinite(float(value))
        elif self.kind == "bool":
            ok = isinstance(value, (bool, np.bool_))
        elif self.kind == "str":
            ok = isinstance(value, str)
        elif self.kind == "dict":
            ok = isinstance(value, dict)
        else:
            ok = True
        if ok and self.kind in ("int", "float"):
            ok = all(value in r for r in self.ranges)
        return None if ok else wanted

    def describe(self) -> str:
        base = {"int": "a whole number", "float": "a finite number", "bool": "true or false", "str": "text",
                "dict": "a mapping of names to values", "any": "any value"}.get(self.kind, "")
        if self.kind == "choice":
            base = "one of " + ", ".join(repr(c) for c in self.choices)
        text = ", ".join([base] + [r.describe() for r in self.ranges])
        return text + (" (or None)" if self.optional else "")


_SIMPLE = {int: "int", float: "float", bool: "bool", str: "str", dict: "dict"}


def rule_for(hint: Any) -> Rule:
    """The Rule of one type hint (with its Annotated metadata)."""
    ranges: tuple[Range, ...] = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *meta = typing.get_args(hint)
        ranges = tuple(m for m in meta if isinstance(m, Range))
    optional = False
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        if len(args) != 1:
            return Rule(optional=optional)           # a union of several types: not checked here
        inner = rule_for(args[0])
        return Rule(optional=optional or inner.optional, kind=inner.kind, choices=inner.choices,
                    ranges=ranges + inner.ranges)
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        optional = None in choices
        return Rule(optional=optional, kind="choice", choices=tuple(c for c in choices if c is not None))
    kind = _SIMPLE.get(typing.get_origin(hint) or hint, "any")
    return Rule(optional=optional, kind=kind, ranges=ranges)


@functools.lru_cache(maxsize=None)
def rules(func: Callable[..., Any]) -> dict[str, Rule]:
    """Keyword-only parameters of a method and what each accepts (cached: signatures do not change)."""
    import inspect

    hints = typing.get_type_hints(func, include_extras=True)
    sig = inspect.signature(func)
    return {name: rule_for(hints[name]) for name, p in sig.parameters.items()
            if p.kind == p.KEYWORD_ONLY and name in hints}


# ---------------------------------------------------------------------------
# the check
# ---------------------------------------------------------------------------

def check_values(method_id: str, func: Callable[..., Any], params: dict[str, Any],
                 help_text: dict[str, str] | None = None, defaults: dict[str, Any] | None = None) -> None:
    """Raise E-METHOD-005 naming every parameter in ``params`` whose value its signature does not allow."""
    table = rules(func)
    bad = [(name, value, table[name].problem(value)) for name, value in params.items() if name in table]
    bad = [(name, value, wanted) for name, value, wanted in bad if wanted is not None]
    if not bad:
        return
    message = "; ".join(f"{name}={value!r} is not allowed, {name} must be {wanted}" for name, value, wanted in bad)
    help_text, defaults = help_text or {}, defaults or {}
    hints = []
    for name, _, _ in bad:
        about = help_text.get(name, "").rstrip(".")
        default = f"Default: {defaults[name]!r}" if name in defaults else ""
        hints.append(f"{name}: " + ". ".join(part for part in (about, default) if part) + ".")
    raise MethodError(f"Method '{method_id}': {message}.",
                      " ".join(hints) + " Leave a parameter out to use its default.", code=BAD_VALUE)
