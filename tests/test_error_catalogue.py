"""The error-code catalogue (cqox_core.errors.CATALOGUE): every code raised is listed with one meaning,
every listed code is raised, and docs/ERRORS.md is generated from it."""
from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cqox_core
import cqox_core as cq
from cqox_core.errors import CATALOGUE, FAMILIES, CQOxError, EstimationError, RoleError, catalogue_markdown, family
from cqox_core.estimators import aipw as aipw_module
from cqox_core.inference import least_squares

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "cqox_core"
CODE = re.compile(r"E-[A-Z]+-\d{3}")
#: code="E-..." keyword arguments and class defaults `code = "E-..."` / `code: str = "E-..."`
CODE_LITERAL = re.compile(r"""\bcode\s*(?::\s*str\s*)?=\s*["'](E-[A-Z]+-\d{3})["']""")


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(CORE.rglob("*.py"))}


def _raised_codes() -> dict[str, list[str]]:
    """Every code a module under cqox_core can raise: code= literals, class defaults and any string
    constant that is exactly a code (e.g. params.BAD_VALUE, the CLI's E-INTERNAL-001 payload)."""
    found: dict[str, list[str]] = {}
    for path, text in _sources().items():
        where = str(path.relative_to(ROOT))
        codes = set(CODE_LITERAL.findall(text))
        if path == CORE / "errors.py":
            # the catalogue's own keys are not raises: only the class defaults count here
            for code in codes:
                found.setdefault(code, []).append(where)
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
                codes.add(node.value)
        for code in codes:
            found.setdefault(code, []).append(where)
    return found


def test_every_code_raised_is_in_the_catalogue():
    missing = {code: where for code, where in _raised_codes().items() if code not in CATALOGUE}
    assert not missing, f"codes raised but not catalogued (add them to errors.CATALOGUE): {missing}"


def test_every_catalogued_code_is_raised_somewhere():
    unused = sorted(set(CATALOGUE) - set(_raised_codes()))
    assert not unused, f"catalogued but never raised (remove them, or raise them): {unused}"


def test_each_meaning_is_unique_and_one_line():
    meanings = list(CATALOGUE.values())
    assert len(set(m.lower() for m in meanings)) == len(meanings), "two codes share a meaning"
    for code, meaning in CATALOGUE.items():
        assert CODE.fullmatch(code), code
        assert meaning and "\n" not in meaning and meaning.endswith("."), code
        assert family(code) in FAMILIES, f"{code}: family without a heading in FAMILIES"


def test_codes_mentioned_in_docstrings_and_comments_exist():
    """A comment or docstring citing a code that no longer exists misleads the reader."""
    stale = {(str(p.relative_to(ROOT)), c) for p, text in _sources().items() for c in CODE.findall(text)
             if c not in CATALOGUE}
    assert not stale, sorted(stale)


def _error_classes() -> dict[str, type[CQOxError]]:
    """Every CQOxError subclass defined under cqox_core (all modules imported first)."""
    for info in pkgutil.walk_packages(cqox_core.__path__, "cqox_core."):
        importlib.import_module(info.name)
    out, todo = {}, [CQOxError]
    while todo:
        cls = todo.pop()
        out[cls.__name__] = cls
        todo += cls.__subclasses__()
    return out


def test_class_defaults_are_catalogued_and_only_specific_ones_are_relied_on():
    """Each error class's default code is listed; a raise without code= may only rely on a specific
    default (E-CLI-001), never on a family's catch-all -000."""
    classes = _error_classes()
    for cls in classes.values():
        assert cls.code in CATALOGUE, (cls.__name__, cls.code)
    relying = []
    for path, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes \
                    and not any(k.arg == "code" for k in node.keywords):
                relying.append((str(path.relative_to(ROOT)), node.lineno, classes[node.func.id].code))
    assert relying, "the scan found no raise without code= (UsageError relies on E-CLI-001): is it broken?"
    assert all(not code.endswith("-000") for *_, code in relying), relying


def test_docs_errors_md_is_generated_from_the_catalogue():
    """Regenerate with: python scripts/make_error_docs.py"""
    doc = (ROOT / "docs" / "ERRORS.md").read_text(encoding="utf-8")
    assert doc == catalogue_markdown()
    for code in CATALOGUE:
        assert f"`{code}`" in doc


# ---------------------------------------------------------------------------
# the codes this catalogue split off or introduced are raised by the failure they name
# (the merged ones are asserted in the method tests: E-EST-021/022/024 staggered_did,
# E-EST-028 rd, E-EST-002 iv, E-METHOD-006 psm, E-CLI-001 test_cli)
# ---------------------------------------------------------------------------

def test_collinear_regression_terms_are_e_est_005():
    x = np.random.default_rng(0).normal(size=50)
    with pytest.raises(EstimationError) as info:
        least_squares(np.column_stack([np.ones(50), x, 2 * x + 1]), x)
    assert info.value.code == "E-EST-005"


def test_propensity_of_exactly_zero_is_e_est_006(monkeypatch):
    """Without trimming, an out-of-fold propensity of exactly 0 cannot be weighted: E-EST-006 (was E-EST-003)."""
    def degenerate(prep, *args, **kwargs):
        e = np.full(prep.n, 0.5)
        e[0] = 0.0
        return np.zeros(prep.n), np.zeros(prep.n), e, True  # (m1, m0, e, every fold converged)

    monkeypatch.setattr(aipw_module, "crossfit_nuisances", degenerate)
    example = cq.registry.get("aipw").example(seed=0)
    with pytest.raises(EstimationError) as info:
        # a seed no other test uses, so the shared nuisance cache cannot answer instead of the patched fit
        cq.estimate("aipw", example.frame, trim=None, seed=918273, **example.roles)
    assert info.value.code == "E-EST-006"


def test_mixed_treatment_within_a_group_period_is_e_role_017():
    """Repeated cross-sections whose treatment differs inside a group-period (was E-ROLE-015, which now only
    means a unit repeated within a period of a panel)."""
    rng = np.random.default_rng(1)
    rows = [(g, t, int(g % 2 == 0 and t >= 3 and i < 2), rng.normal())
            for g in range(6) for t in range(1, 5) for i in range(4)]
    frame = pd.DataFrame(rows, columns=["grp", "period", "d", "y"])
    with pytest.raises(RoleError) as info:
        cq.estimate("did", frame, outcome="y", treatment="d", unit="grp", time="period")
    assert info.value.code == "E-ROLE-017"


def test_averaged_series_without_one_start_is_e_est_070():
    """Two sites starting at different months, averaged: no single intervention date (was E-EST-065, which now
    only means several series given without aggregate='mean')."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame([(site, m, int(m >= start), rng.normal()) for site, start in (("a", 10), ("b", 12))
                          for m in range(24)], columns=["site", "month", "policy", "visits"])
    with pytest.raises(EstimationError) as info:
        cq.estimate("its", frame, outcome="visits", treatment="policy", time="month", unit="site",
                    aggregate="mean")
    assert info.value.code == "E-EST-070"
