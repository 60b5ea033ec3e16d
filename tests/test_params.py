"""params.check_values: one set of parameter checks read from each method's signature."""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
import pytest

import cqox_core as cq
from cqox_core import registry
from cqox_core.errors import MethodError
from cqox_core.params import TRIM_SHARE, Range, above, at_least, between, check_values, rule_for, rules

COMMON = {"estimand", "alpha", "seed"}


def toy(data: Any, roles: Any, *, estimand: str = "ate", alpha: float = 0.05, seed: int = 0,
        k: Annotated[int, at_least(1)] = 1, share: Annotated[float | None, TRIM_SHARE] = 0.01,
        kind: Literal["a", "b"] = "a", window: Literal["x"] | None = None, flag: bool = True,
        n_boot: Annotated[int, Range(low=99, also=(0,))] = 999, p: Annotated[int, between(0, 4)] = 1,
        h: Annotated[float | None, above(0)] = None, options: dict[str, Any] | None = None,
        anything: Any = None) -> None:
    """A method signature with every kind of rule."""


@pytest.mark.parametrize("name, value", [
    ("k", 1), ("k", np.int64(3)), ("share", 0.0), ("share", None), ("share", 0.49), ("kind", "b"),
    ("window", None), ("window", "x"), ("flag", False), ("flag", np.bool_(True)), ("n_boot", 0), ("n_boot", 99),
    ("p", 0), ("p", 4), ("h", 2), ("h", 0.5), ("options", {"a": 1}), ("anything", object()),
])
def test_allowed_values_pass(name, value):
    check_values("toy", toy, {name: value})


@pytest.mark.parametrize("name, value, allowed", [
    ("k", 0, "a whole number, 1 or more"),
    ("k", 1.5, "a whole number, 1 or more"),
    ("k", True, "a whole number, 1 or more"),                 # a bool is not a count
    ("share", 0.5, "a finite number, from 0 up to (not including) 0.5 (or None)"),
    ("share", -0.01, "a finite number, from 0 up to (not including) 0.5 (or None)"),
    ("share", math.nan, "a finite number"),
    ("kind", "c", "one of 'a', 'b'"),
    ("window", "y", "one of 'x' (or None)"),
    ("flag", "no", "true or false"),                           # a string would be truthy: refuse it
    ("flag", 1, "true or false"),
    ("n_boot", 50, "0 or 99 or more"),
    ("p", 5, "from 0 to 4"),
    ("h", 0.0, "above 0"),
    ("h", math.inf, "a finite number"),
    ("options", "a=1", "a mapping of names to values"),
])
def test_bad_values_name_parameter_value_and_what_is_allowed(name, value, allowed):
    with pytest.raises(MethodError) as info:
        check_values("toy", toy, {name: value}, help_text={name: "What it does."}, defaults={name: 7})
    err = info.value
    assert err.code == "E-METHOD-005"
    assert f"{name}={value!r}" in err.message and allowed in err.message
    assert "What it does" in err.hint and "Default: 7" in err.hint


def test_several_bad_values_are_reported_together():
    with pytest.raises(MethodError) as info:
        check_values("toy", toy, {"k": 0, "kind": "z", "flag": True})
    assert "k=0" in info.value.message and "kind='z'" in info.value.message and "flag" not in info.value.message


def test_rules_read_annotated_optional_and_literal():
    assert rule_for(Annotated[float | None, TRIM_SHARE]).optional
    assert rule_for(Literal["a"] | None).choices == ("a",)
    assert rule_for(Any).kind == "any" and rule_for(int | str).kind == "any"   # unions of types: not checked
    assert set(rules(toy)) >= {"k", "share", "kind", "window", "flag"}


@pytest.mark.parametrize("spec", registry.methods(), ids=lambda s: s.id)
def test_every_default_passes_its_own_check(spec):
    """The defaults in each signature satisfy the rules read from it (a wrong bound would refuse them)."""
    check_values(spec.id, spec.func, {p.name: p.default for p in spec.params})


def _bad_choices_and_bool_counts() -> list[tuple[str, str, Any]]:
    """(method, parameter, bad value): an unknown choice for each Literal, a bool for each whole number."""
    cases = []
    for spec in registry.methods():
        for name, r in rules(spec.func).items():
            if name not in COMMON and r.kind in ("choice", "int"):
                cases.append((spec.id, name, "no-such-choice" if r.kind == "choice" else True))
    return cases


@pytest.mark.parametrize("method, name, value", _bad_choices_and_bool_counts())
def test_every_method_refuses_a_bad_choice_and_a_bool_count(method, name, value):
    """Through cq.estimate, before the method runs: E-METHOD-005 naming the parameter."""
    frame = registry.get(method).example().frame
    with pytest.raises(MethodError) as info:
        cq.estimate(method, frame, **{name: value})
    assert info.value.code == "E-METHOD-005" and f"{name}={value!r}" in info.value.message


def test_registry_shows_the_type_without_the_bounds():
    """`cqox methods --json` keeps showing the plain type ('int'), not the Annotated bounds."""
    assert registry.get("aipw").param("n_folds").annotation == "int"
    assert registry.get("ipw").param("trim").annotation == "float | None"
    assert registry.get("staggered_did").param("n_boot").annotation == "int"


def test_unknown_parameter_keeps_its_own_code():
    frame = registry.get("psm").example().frame
    with pytest.raises(MethodError) as info:
        cq.estimate("psm", frame, nonsense=1)
    assert info.value.code == "E-METHOD-002"
