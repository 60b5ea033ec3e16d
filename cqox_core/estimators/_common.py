"""Pieces shared by the estimator modules: result and sub-estimate assembly, period labels, treatment kind."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..data import Dataset
from ..inference import wald
from ..results import EffectResult, SubEstimate, default_estimand_label
from ..roles import Roles


def finish(method: str, estimand: str, estimate: float, std_error: float, *, alpha: float, n_obs: int,
           se_method: str, diagnostics: dict[str, Any], warnings: list[str] | tuple[str, ...] = (),
           df: float | None = None, by: tuple = (), estimand_label: str = "") -> EffectResult:
    """Assemble an EffectResult with a Wald interval; warns rather than hiding a NaN.

    ``estimand_label`` says in words what the number is the effect on; empty: the estimand's
    generic label ("ATT: treated units"). Methods whose population differs set their own."""
    lo, hi, p = wald(estimate, std_error, alpha, df)
    warnings = list(warnings)
    if not math.isfinite(estimate):
        warnings.append("The estimate is not a finite number on this data.")
    elif not math.isfinite(std_error) or std_error <= 0:
        warnings.append("No valid standard error could be computed, so there is no confidence interval.")
    return EffectResult(method=method, estimand=estimand, estimate=float(estimate), std_error=float(std_error),
                        ci_lower=lo, ci_upper=hi, alpha=alpha, p_value=p, n_obs=int(n_obs),
                        diagnostics=diagnostics, warnings=tuple(warnings), by=by, se_method=se_method,
                        estimand_label=estimand_label or default_estimand_label(estimand))


def sub_estimate(label: str, estimate: float, std_error: float, alpha: float, /, *, df: float | None = None,
                 n_obs: int | None = None, interval: tuple[float, float] | None = None,
                 extra: dict[str, Any] | None = None, **more: Any) -> SubEstimate:
    """A labelled part of a result (an event time, a cell, a lead) with its Wald interval and p-value.

    ``df`` gives a t(df) reference instead of the normal. ``interval`` replaces
    the Wald interval by one computed elsewhere (e.g. a bootstrap percentile
    interval); the p-value stays the Wald one. ``extra`` (any keys) and the
    keywords left over are the sub-estimate's other fields.
    A NaN standard error gives NaN interval and p-value, never a made-up one.
    """
    lo, hi, p = wald(estimate, std_error, alpha, df)
    if interval is not None:
        lo, hi = interval
    return SubEstimate(label, estimate, std_error, lo, hi, p, n_obs, {**(extra or {}), **more})


def period_label(value: Any) -> str:
    """A period as text: 2006.0 -> "2006", 2.5 -> "2.5", a midnight timestamp -> "2011-07-01", else ISO time."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def period_value(value: Any) -> Any:
    """A period as a plain JSON scalar: whole numbers as int (2006.0 -> 2006), dates as their period_label."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return period_label(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if hasattr(value, "item") else value


def is_binary_treatment(data: Dataset, roles: Roles) -> bool:
    """Two distinct values (or an explicit treated value) means a binary design."""
    if roles.treated_value is not None:
        return True
    col: pd.Series = data.frame[roles.treatment]
    return col.dropna().nunique() <= 2


def cache_key(data: Dataset, roles: Roles, *extra: Any) -> tuple | None:
    """Key for sharing nuisance fits across methods on the same data and roles.

    None (no caching) for bootstrap resamples: each is used once, and caching
    them would evict the analysis' real fits.
    """
    if data.meta.get("resample"):
        return None
    # every role that changes which rows are complete cases belongs in the key
    return (data.sha256, roles.outcome, roles.treatment, roles.covariates, roles.treated_value, roles.cluster,
            roles.weight, *extra)


def group_means(y: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    t = t.astype(bool)
    return float(y[t].mean()), float(y[~t].mean())
