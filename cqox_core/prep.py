"""Turn (Dataset, Roles) into the arrays an estimator needs, with checks.

Every estimator of the selection-on-observables family starts here, so the
checks (missing columns, constant treatment, all-missing outcome, too few rows)
and their messages are the same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import RoleError
from .roles import Roles

TRUTHY = {"1", "true", "yes", "y", "t", "treated", "treatment", "treat", "exposed", "on", "intervention"}
MIN_PER_ARM = 2


@dataclass(frozen=True)
class Prepared:
    """Complete-case arrays for a binary-treatment analysis."""

    y: np.ndarray
    t: np.ndarray
    X: np.ndarray                     # covariate design (no intercept), float
    x_names: tuple[str, ...]
    covariates: tuple[str, ...]
    cluster: np.ndarray | None
    weight: np.ndarray | None
    index: pd.Index                   # rows of the original frame used
    n_dropped: int
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def n_treated(self) -> int:
        return int(self.t.sum())


def binarize_treatment(col: pd.Series, treated_value: str | None, name: str) -> tuple[np.ndarray, str | None]:
    """0/1 treatment from 0/1 numbers, booleans or two-level labels.

    Returns the 0/1 array and, when labels were mapped, a sentence saying which
    level was taken as treated.
    """
    values = col.dropna()
    levels = pd.unique(values)
    if len(levels) < 2:
        raise RoleError(f"The treatment '{name}' has a single value ({levels[0] if len(levels) else 'none'}): "
                        "there is no one to compare with.",
                        "Choose a treatment column with both treated and untreated rows.",
                        code="E-ROLE-003")
    if treated_value is not None:
        as_text = col.astype("string")
        if treated_value not in set(as_text.dropna()):
            raise RoleError(f"The treated value '{treated_value}' does not occur in '{name}'.",
                            f"Values present include: {', '.join(map(str, levels[:8]))}.", code="E-ROLE-009")
        return np.where(as_text == treated_value, 1, 0).astype(float), None
    if len(levels) > 2:
        raise RoleError(f"The treatment '{name}' has {len(levels)} distinct values; this method needs two groups.",
                        "Pick the treated level with --treated-value V, or use a method for continuous treatment.",
                        code="E-ROLE-010")
    if pd.api.types.is_bool_dtype(values):
        return col.astype(float).to_numpy(), None
    if pd.api.types.is_numeric_dtype(values):
        lo, hi = sorted(float(v) for v in levels)
        if (lo, hi) != (0.0, 1.0):
            note = f"Treatment '{name}' has values {lo:g} and {hi:g}; {hi:g} was taken as treated."
            return (col.astype(float) == hi).astype(float).to_numpy(), note
        return col.astype(float).to_numpy(), None
    labels = [str(v) for v in levels]
    truthy = [v for v in labels if v.strip().lower() in TRUTHY]
    treated = truthy[0] if len(truthy) == 1 else sorted(labels)[-1]
    note = f"Treatment '{name}' has labels {labels[0]!r}/{labels[1]!r}; {treated!r} was taken as treated."
    return (col.astype("string") == treated).astype(float).to_numpy(), note


def design_matrix(frame: pd.DataFrame, covariates: tuple[str, ...],
                  dropped: list[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Numeric covariates as they are, categorical ones one-hot (first level dropped).

    Constant columns and exact linear combinations of earlier columns are left
    out; their names are appended to ``dropped`` when a list is given.
    """
    if not covariates:
        return np.empty((len(frame), 0)), ()
    parts: list[pd.DataFrame] = []
    for col in covariates:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts.append(s.astype(float).to_frame(col))
        else:
            if s.nunique() > 50:
                raise RoleError(f"Covariate '{col}' is text with {s.nunique()} distinct values.",
                                "Drop it from the covariates or recode it into fewer categories.",
                                code="E-ROLE-011")
            dummies = pd.get_dummies(s.astype("string"), prefix=col, drop_first=True, dtype=float)
            parts.append(dummies)
    X = pd.concat(parts, axis=1)
    keep = X.std(ddof=0).to_numpy() > 0
    if dropped is not None:
        dropped.extend(str(c) for c in X.columns[~keep])
    X = X.loc[:, keep]
    values = X.to_numpy(dtype=float)
    independent = independent_columns(values)
    if dropped is not None:
        dropped.extend(str(c) for j, c in enumerate(X.columns) if j not in set(independent))
    return values[:, independent], tuple(str(X.columns[j]) for j in independent)


def independent_columns(X: np.ndarray, tol: float = 1e-9) -> list[int]:
    """Indices of a maximal set of linearly independent (centred) columns, in order.

    Exact collinearity (a dummy trap, a column that is a sum of others) makes
    X'X singular; the pivoted QR keeps the earliest columns that span the rest
    (the same choice R's lm makes when it reports NA coefficients).
    """
    if X.shape[1] < 2:
        return list(range(X.shape[1]))
    from scipy.linalg import qr

    Z = X - X.mean(axis=0)
    Z = Z / np.where(Z.std(axis=0) > 0, Z.std(axis=0), 1.0)
    # fast path: a well-conditioned correlation matrix (p x p) means full rank
    if np.linalg.cond(Z.T @ Z / Z.shape[0]) < 1e10:
        return list(range(Z.shape[1]))
    kept: list[int] = []
    basis = np.empty((Z.shape[0], 0))
    _, r, piv = qr(Z, mode="economic", pivoting=True)
    rank = int(np.sum(np.abs(np.diag(r)) > tol * max(1.0, abs(r[0, 0]))))
    if rank == Z.shape[1]:
        return list(range(Z.shape[1]))
    # greedy pass in the original order so the earliest columns are kept
    for j in range(Z.shape[1]):
        candidate = np.column_stack([basis, Z[:, j]])
        if np.linalg.matrix_rank(candidate, tol=tol * np.sqrt(Z.shape[0])) > basis.shape[1]:
            basis = candidate
            kept.append(j)
        if len(kept) == rank:
            break
    return kept


def numeric_outcome(frame: pd.DataFrame, name: str) -> pd.Series:
    s = frame[name]
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if not pd.api.types.is_numeric_dtype(s):
        converted = pd.to_numeric(s, errors="coerce")
        if converted.notna().sum() < 0.9 * s.notna().sum():
            raise RoleError(f"The outcome '{name}' is not numeric (e.g. {s.dropna().astype(str).iloc[0]!r}).",
                            "Choose a numeric outcome column, or recode this one into numbers.",
                            code="E-ROLE-006")
        return converted
    return s.astype(float)


def prepare(data: Dataset, roles: Roles, *, need_covariates: bool = True,
            binary_treatment: bool = True) -> Prepared:
    """Validate roles on ``data`` and return complete-case arrays."""
    frame = data.frame
    roles.require("outcome", "treatment")
    if need_covariates:
        roles.require("covariates")
    roles.check_columns(frame)
    if roles.outcome in roles.covariates or roles.treatment in roles.covariates:
        raise RoleError("The outcome or the treatment is also listed as a covariate.",
                        "Remove it from the covariates: adjusting for it would erase the effect.",
                        code="E-ROLE-012")
    y_all = numeric_outcome(frame, roles.outcome)
    if y_all.notna().sum() == 0:
        raise RoleError(f"The outcome '{roles.outcome}' is missing in every row.",
                        "Choose an outcome column that has values.", code="E-ROLE-004")
    if frame[roles.treatment].notna().sum() == 0:
        raise RoleError(f"The treatment '{roles.treatment}' is missing in every row.",
                        "Choose a treatment column that has values.", code="E-ROLE-003")
    used = [roles.treatment, *roles.covariates] + [c for c in (roles.cluster, roles.weight) if c]
    mask = y_all.notna() & frame[used].notna().all(axis=1)
    sub = frame.loc[mask]
    n_dropped = int((~mask).sum())
    warnings: list[str] = []
    if n_dropped:
        warnings.append(f"{n_dropped} of {len(frame)} rows had missing values in the roles used and were left out "
                        "(complete-case analysis).")
    if binary_treatment:
        t, note = binarize_treatment(sub[roles.treatment], roles.treated_value, roles.treatment)
        if note:
            warnings.append(note)
    else:
        t = pd.to_numeric(sub[roles.treatment], errors="coerce").to_numpy(dtype=float)
    y = y_all.loc[mask].to_numpy(dtype=float)
    if y.size < 2 * MIN_PER_ARM:
        raise RoleError(f"Only {y.size} usable row(s): too few to estimate an effect.",
                        "Provide more rows, or fewer roles with missing values.", code="E-ROLE-005")
    if binary_treatment:
        n1 = int(t.sum())
        n0 = int(t.size - n1)
        if min(n1, n0) < MIN_PER_ARM:
            raise RoleError(f"After removing missing values there are {n1} treated and {n0} untreated rows; "
                            f"each group needs at least {MIN_PER_ARM}.",
                            "Check the treatment coding or the missing values in the covariates.",
                            code="E-ROLE-003")
    elif np.nanstd(t) == 0:
        raise RoleError(f"The treatment '{roles.treatment}' does not vary.",
                        "Choose a treatment column that takes different values.", code="E-ROLE-003")
    if np.nanstd(y) == 0:
        warnings.append(f"The outcome '{roles.outcome}' takes a single value in the rows used.")
    dropped: list[str] = []
    X, x_names = design_matrix(sub, roles.covariates, dropped)
    if dropped:
        warnings.append(f"Covariate term(s) {', '.join(dropped)} were left out: constant in the rows used, or an "
                        "exact combination of other covariates (they add no information).")
    cluster = sub[roles.cluster].to_numpy() if roles.cluster else None
    weight = sub[roles.weight].to_numpy(dtype=float) if roles.weight else None
    return Prepared(y=y, t=t, X=X, x_names=x_names, covariates=roles.covariates, cluster=cluster,
                    weight=weight, index=sub.index, n_dropped=n_dropped, warnings=tuple(warnings))
