"""Adding an estimator is one new module: a toy method written to a fresh file inside the
estimators package appears in `cqox methods --json`, in `analyze`, in the contract suite and
on the app's Estimators page, with no other file edited.

The module is written into a copy of the engine (subprocesses: CLI, analyze, the contract
suite) and, for the in-process AppTest, into a temporary folder added to the estimators
package's search path, which is exactly what discovery scans."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cqox_core import registry

from .conftest import go

ROOT = Path(__file__).resolve().parents[2]
TOY = '''"""A toy method: difference in means after residualising the outcome on the covariates."""
from __future__ import annotations

from typing import Literal

import numpy as np

from ..datasets import examples
from ..prep import prepare
from ..registry import Requirements, register
from ._common import finish


@register("toy_difference", family="selection_on_observables", design="cross_section", estimands=("ate",),
          requires=Requirements(roles=("outcome", "treatment", "covariates"), treatment="binary"),
          title="Toy difference", summary="A test-only method.", inference="OLS classical",
          params={"shrink": "Multiply the estimate by this (1 = unchanged)."},
          headline_rank=None, example=examples.confounded)
def toy_difference(data, roles, *, estimand: Literal["ate"] = "ate", alpha: float = 0.05, seed: int = 0,
                   shrink: float = 1.0):
    prep = prepare(data, roles)
    Z = np.column_stack([np.ones(prep.n), prep.t, prep.X])
    coef, *_ = np.linalg.lstsq(Z, prep.y, rcond=None)
    resid = prep.y - Z @ coef
    cov = resid @ resid / (prep.n - Z.shape[1]) * np.linalg.inv(Z.T @ Z)
    return finish("toy_difference", estimand, shrink * float(coef[1]), float(np.sqrt(cov[1, 1])), alpha=alpha,
                  n_obs=prep.n, se_method="classical OLS", diagnostics={})
'''


@pytest.fixture(scope="module")
def engine_copy(tmp_path_factory) -> Path:
    """A copy of the engine and the contract suite with one new file: the toy module."""
    base = tmp_path_factory.mktemp("engine")
    shutil.copytree(ROOT / "cqox_core", base / "cqox_core", ignore=shutil.ignore_patterns("__pycache__"))
    (base / "tests").mkdir()
    for name in ("conftest.py", "test_contract.py"):
        shutil.copy(ROOT / "tests" / name, base / "tests" / name)
    (base / "tests" / "estimators").mkdir()
    (base / "tests" / "estimators" / "test_toy_difference.py").write_text("")
    (base / "cqox_core" / "estimators" / "toy_difference.py").write_text(TOY)
    return base


def run_in(base: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(base)}
    return subprocess.run([sys.executable, *args], cwd=base, env=env, capture_output=True, text=True, timeout=600)


def test_the_new_module_is_in_methods_json(engine_copy):
    out = run_in(engine_copy, "-m", "cqox_core.cli", "methods", "--json")
    assert out.returncode == 0, out.stderr
    spec = {m["id"]: m for m in json.loads(out.stdout)}["toy_difference"]
    assert spec["params"][0]["name"] == "shrink" and spec["params"][0]["help"]
    assert spec["test"] == "tests/estimators/test_toy_difference.py"


def test_the_new_module_runs_in_analyze(engine_copy):
    code = ("import cqox_core as cq, json\n"
            "from cqox_core import registry\n"
            "ex = registry.get('toy_difference').example()\n"
            "a = cq.analyze(ex.frame, **ex.roles)\n"
            "print(json.dumps({'est': a.results['toy_difference'].estimate, 'truth': ex.truth}))")
    out = run_in(engine_copy, "-c", code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert abs(got["est"] - got["truth"]) < 0.3   # OLS with the confounders on 600 rows: SE ~0.09


def test_the_new_module_passes_the_contract_suite(engine_copy):
    out = run_in(engine_copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-k", "toy_difference",
                 "tests/test_contract.py")
    assert out.returncode == 0, out.stdout[-3000:]
    assert " passed" in out.stdout and "toy_difference" not in out.stdout.split("passed")[-1]


def test_the_new_module_is_offered_on_the_estimators_page(app_as, campaign, tmp_path, monkeypatch):
    import cqox_core.estimators as package

    (tmp_path / "toy_difference.py").write_text(TOY)
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path)])
    monkeypatch.setattr(registry, "_LOADED", False)
    try:
        at = app_as("ana", "mapping", dataset=campaign)
        go(at, "estimators")
        boxes = {c.key.removeprefix("use-"): c.value for c in at.checkbox if c.key and c.key.startswith("use-")}
        assert "toy_difference" in boxes
    finally:
        registry.unregister("toy_difference")
        sys.modules.pop("cqox_core.estimators.toy_difference", None)
