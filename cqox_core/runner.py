"""The one run loop: run a list of methods on one dataset, with progress callbacks and
per-method typed errors. ``analyze``, the CLI and the app all go through
:func:`run_methods`; a method that cannot run records its error and the others still run."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import registry
from .data import Dataset
from .errors import CQOxError
from .results import EffectResult
from .roles import Roles

#: on_progress(method, finished, total, status, detail): status is "running", "done" or "failed";
#: detail is the result (done), the error dict (failed) or None (running).
Progress = Callable[[str, int, int, str, Any], None]
#: estimate_one(method, estimand, params) -> EffectResult, raising CQOxError when the method cannot run.
EstimateOne = Callable[[str, str, dict[str, Any]], EffectResult]


@dataclass
class RunOutcome:
    results: dict[str, EffectResult] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    elapsed: dict[str, float] = field(default_factory=dict)


def estimand_for(method: str, wanted: str) -> str:
    """The estimand a method is run for: the one asked for when it has it, else its own first."""
    spec = registry.get(method)
    return wanted if wanted in spec.estimands else spec.estimands[0]


def _record(method: str, outcome: RunOutcome) -> None:
    """One run in the structured log and the metrics (CQOX_METRICS_PORT), whoever ran it."""
    from . import observability

    error = outcome.errors.get(method)
    observability.record_run(method, "error" if error else "ok", outcome.elapsed[method],
                             code=error.get("code") if error else None)


def run_methods(dataset: Dataset, roles: Roles, methods: Sequence[str], *, estimand: str = "ate",
                alpha: float = 0.05, seed: int = 0, params: Mapping[str, dict[str, Any]] | None = None,
                on_progress: Progress | None = None, estimate_one: EstimateOne | None = None) -> RunOutcome:
    """Estimate every method in ``methods`` in order; typed errors are recorded, not raised."""
    if estimate_one is None:
        from .api import estimate

        def estimate_one(method: str, use: str, kw: dict[str, Any]) -> EffectResult:
            return estimate(method, dataset, roles=roles, estimand=use, alpha=alpha, seed=seed, **kw)

    outcome = RunOutcome()
    total = len(methods)
    for i, method in enumerate(methods):
        if on_progress:
            on_progress(method, i, total, "running", None)
        start = time.perf_counter()
        try:
            outcome.results[method] = estimate_one(method, estimand_for(method, estimand),
                                                   dict((params or {}).get(method, {})))
        except CQOxError as exc:
            outcome.errors[method] = exc.to_dict()["error"]
        outcome.elapsed[method] = time.perf_counter() - start
        _record(method, outcome)
        if on_progress:
            failed = method in outcome.errors
            on_progress(method, i + 1, total, "failed" if failed else "done",
                        outcome.errors[method] if failed else outcome.results[method])
    return outcome
