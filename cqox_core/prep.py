"""Turn (Dataset, Roles) into the arrays an estimator needs, with checks.

Every estimator of the selection-on-observables family starts here, so the
checks (missing columns, constant treatment, all-missing outcome, too few rows)
and their messages are the same everywhere.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import RoleError
from .roles import Roles

TRUTHY = {"1", "true", "yes", "y", "t", "treated", "treatment", "treat", "exposed", "on", "intervention"}
MIN_PER_ARM = 2
#: A text covariate with more levels than this is not turned into indicators: methods that can
#: (regression_adjustment, did) absorb it as fixed effects, the others refuse it (E-ROLE-011).
MAX_INDICATOR_LEVELS = 50


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
    x_terms: tuple[str, ...] = ()     # the covariate each column of X comes from (dummies share one)
    x_dropped: tuple[str, ...] = ()   # covariate terms left out (constant or collinear)
    rows: np.ndarray | None = None    # positions in the original frame of the rows used
    absorbed: tuple[str, ...] = ()    # many-level text covariates kept out of X, to be absorbed as fixed effects
    fixed_effects: np.ndarray | None = None  # n x len(absorbed) integer level codes (0..levels-1)

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


def covariate_columns(frame: pd.DataFrame, covariates: tuple[str, ...]
                      ) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Numeric covariates as they are, categorical ones one-hot (first level dropped), before any
    column is left out: the values (column-major, as pandas lays out a frame), the column names
    and the covariate each column comes from."""
    parts: list[np.ndarray] = []
    names: list[str] = []
    terms: list[str] = []
    for col in covariates:
        s = frame[col]
        if is_numeric_column(s):
            parts.append(s.to_numpy(dtype=float)[:, None])
            names.append(str(col))
        else:
            if s.nunique() > MAX_INDICATOR_LEVELS:
                raise RoleError(f"Covariate '{col}' is text with {s.nunique()} distinct values: too many to "
                                "compare as categories in this method.",
                                "Drop it from the covariates or recode it into fewer categories; "
                                "regression_adjustment and did absorb it as fixed effects (one effect per value).",
                                code="E-ROLE-011")
            dummies = pd.get_dummies(s.astype("string"), prefix=col, drop_first=True, dtype=float)
            parts.append(dummies.to_numpy(dtype=float))
            names.extend(str(c) for c in dummies.columns)
        terms.extend([col] * parts[-1].shape[1])
    values = np.empty((len(frame), len(names)), order="F")
    j = 0
    for part in parts:
        values[:, j:j + part.shape[1]] = part
        j += part.shape[1]
    return values, tuple(names), tuple(terms)


def is_numeric_column(s: pd.Series) -> bool:
    """Booleans and numbers enter a design as they are; anything else becomes dummies."""
    return pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)


def many_level_covariates(frame: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[str, ...]:
    """Text covariates with more than MAX_INDICATOR_LEVELS levels (a store, village or school id):
    the ones a fixed-effects method absorbs instead of expanding into indicators."""
    return tuple(c for c in covariates
                 if not is_numeric_column(frame[c]) and frame[c].nunique() > MAX_INDICATOR_LEVELS)


def level_codes(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Integer codes 0..levels-1 of each column (rows x columns); missing values must be gone."""
    return np.column_stack([pd.factorize(frame[c], sort=True)[0] for c in columns]).astype(np.int64)


def singleton_rows(codes: np.ndarray) -> np.ndarray:
    """Rows whose level of some factor occurs only once, found repeatedly (dropping one can make another).

    Such a row is fitted exactly by its own fixed effect: it leaves every slope unchanged, has leverage 1
    (no HC3 residual) and would only inflate n in small-sample factors (Correia 2015; fixest and pyfixest
    drop them by default).
    """
    keep = np.ones(codes.shape[0], dtype=bool)
    while True:
        single = np.zeros_like(keep)
        for j in range(codes.shape[1]):
            counts = np.bincount(codes[keep, j], minlength=int(codes[:, j].max()) + 1)
            single |= keep & (counts[codes[:, j]] == 1)
        if not single.any():
            return ~keep
        keep &= ~single


def varying_columns(values: np.ndarray) -> np.ndarray:
    """Columns whose standard deviation is above 0.

    A column with two different values always is. For one that holds a single value the
    standard deviation is taken as pandas computes it, whose rounding decides (as it always has)
    whether a value like 0.1 repeated n times counts as constant.
    """
    keep = values.max(axis=0, initial=-np.inf) != values.min(axis=0, initial=np.inf)
    for j in np.flatnonzero(~keep):
        keep[j] = bool(pd.Series(values[:, j]).std(ddof=0) > 0)
    return keep


def design_matrix(frame: pd.DataFrame, covariates: tuple[str, ...],
                  dropped: list[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Numeric covariates as they are, categorical ones one-hot (first level dropped).

    Constant columns and exact linear combinations of earlier columns are left
    out; their names are appended to ``dropped`` when a list is given.
    """
    X, names, _ = design_with_terms(frame, covariates, dropped)
    return X, names


def design_with_terms(frame: pd.DataFrame, covariates: tuple[str, ...],
                      dropped: list[str] | None = None) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """``design_matrix`` and, per kept column, the covariate it comes from."""
    if not covariates:
        return np.empty((len(frame), 0)), (), ()
    values, names, terms = covariate_columns(frame, covariates)
    keep = varying_columns(values)
    if not keep.all():
        if dropped is not None:
            dropped.extend(name for name, k in zip(names, keep) if not k)
        values = np.asfortranarray(values[:, keep])
        names = tuple(name for name, k in zip(names, keep) if k)
        terms = tuple(term for term, k in zip(terms, keep) if k)
    independent = independent_columns(values)
    if dropped is not None:
        dropped.extend(name for j, name in enumerate(names) if j not in set(independent))
    return values[:, independent], tuple(names[j] for j in independent), tuple(terms[j] for j in independent)


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
    sd = Z.std(axis=0)
    Z = Z / np.where(sd > 0, sd, 1.0)
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


#: prepare()'s arrays per Dataset, so the method, its diagnostics and its sensitivity analysis build
#: them once. Keyed weakly on the Dataset object (not its sha256: a method may wrap a subset of the
#: frame under its parent's sha256), so they go when the Dataset goes. A Dataset is treated as
#: immutable, as its sha256 already is; the cached arrays are read-only.
_PREPARED: "weakref.WeakKeyDictionary[Dataset, dict[tuple, Prepared]]" = weakref.WeakKeyDictionary()


def prepare(data: Dataset, roles: Roles, *, need_covariates: bool = True,
            binary_treatment: bool = True, absorb: bool = False) -> Prepared:
    """Validate roles on ``data`` and return complete-case arrays (built once per Dataset and roles).

    With ``absorb`` (for methods that absorb fixed effects) a text covariate with more than
    MAX_INDICATOR_LEVELS levels is left out of X and returned as level codes in ``fixed_effects``,
    and rows alone in their level are left out (``singleton_rows``); without it such a covariate
    is refused (E-ROLE-011).
    """
    frame = data.frame
    roles.require("outcome", "treatment")
    if need_covariates:
        roles.require("covariates")
    roles.check_columns(frame)
    if roles.outcome in roles.covariates or roles.treatment in roles.covariates:
        raise RoleError("The outcome or the treatment is also listed as a covariate.",
                        "Remove it from the covariates: adjusting for it would erase the effect.",
                        code="E-ROLE-012")
    # every role the arrays depend on; need_covariates only decides the check above
    absorbed = many_level_covariates(frame, roles.covariates) if absorb else ()
    key = (roles.outcome, roles.treatment, roles.covariates, roles.treated_value, roles.cluster, roles.weight,
           binary_treatment, absorbed)
    built = _PREPARED.setdefault(data, {})
    if key not in built:
        built[key] = complete_cases(frame, roles, binary_treatment, absorbed)
    return built[key]


def complete_cases(frame: pd.DataFrame, roles: Roles, binary_treatment: bool,
                   absorbed: tuple[str, ...] = ()) -> Prepared:
    """The arrays of ``prepare`` (roles already checked against ``frame``)."""
    y_all = numeric_outcome(frame, roles.outcome)
    if y_all.notna().sum() == 0:
        raise RoleError(f"The outcome '{roles.outcome}' is missing in every row.",
                        "Choose an outcome column that has values.", code="E-ROLE-004")
    if frame[roles.treatment].notna().sum() == 0:
        raise RoleError(f"The treatment '{roles.treatment}' is missing in every row.",
                        "Choose a treatment column that has values.", code="E-ROLE-003")
    used = [roles.treatment, *roles.covariates] + [c for c in (roles.cluster, roles.weight) if c]
    mask = complete_rows(frame, y_all, used)
    warnings: list[str] = []
    n_missing = int(mask.size - np.count_nonzero(mask))
    if n_missing:
        warnings.append(f"{n_missing} of {len(frame)} rows had missing values in the roles used and were left out "
                        "(complete-case analysis).")
    if absorbed:
        mask = drop_singletons(frame, mask, absorbed, warnings)
    n_dropped = int(mask.size - np.count_nonzero(mask))
    sub = frame.loc[mask] if n_dropped else frame
    if binary_treatment:
        t, note = binarize_treatment(sub[roles.treatment], roles.treated_value, roles.treatment)
        if note:
            warnings.append(note)
    else:
        t = pd.to_numeric(sub[roles.treatment], errors="coerce").to_numpy(dtype=float)
    y = y_all.to_numpy(dtype=float)[mask]
    check_arms(y.size, t, binary_treatment, roles.treatment)
    if np.nanstd(y) == 0:
        warnings.append(f"The outcome '{roles.outcome}' takes a single value in the rows used.")
    dropped: list[str] = []
    X, x_names, x_terms = design_with_terms(sub, tuple(c for c in roles.covariates if c not in absorbed), dropped)
    if absorbed:
        warnings.append(absorbed_note(sub, absorbed))
    if dropped:
        warnings.append(f"Covariate term(s) {', '.join(dropped)} were left out: constant in the rows used, or an "
                        "exact combination of other covariates (they add no information).")
    cluster = sub[roles.cluster].to_numpy() if roles.cluster else None
    weight = sub[roles.weight].to_numpy(dtype=float) if roles.weight else None
    return Prepared(y=read_only(y), t=read_only(t), X=read_only(X), x_names=x_names, covariates=roles.covariates,
                    cluster=read_only(cluster), weight=read_only(weight), index=sub.index, n_dropped=n_dropped,
                    warnings=tuple(warnings), x_terms=x_terms, x_dropped=tuple(dropped),
                    rows=read_only(np.flatnonzero(mask)), absorbed=absorbed,
                    fixed_effects=read_only(level_codes(sub, absorbed)) if absorbed else None)


def drop_singletons(frame: pd.DataFrame, mask: np.ndarray, absorbed: tuple[str, ...],
                    warnings: list[str]) -> np.ndarray:
    """``mask`` without the complete rows that are alone in their level of an absorbed covariate."""
    rows = np.flatnonzero(mask)
    single = singleton_rows(level_codes(frame.iloc[rows], absorbed))
    if not single.any():
        return mask
    warnings.append(f"{int(single.sum())} row(s) alone in their level of {', '.join(repr(c) for c in absorbed)} "
                    "were left out: their own fixed effect fits them exactly, so they carry no information about "
                    "the effect (as fixest/pyfixest do).")
    out = mask.copy()
    out[rows[single]] = False
    return out


def absorbed_note(sub: pd.DataFrame, absorbed: tuple[str, ...]) -> str:
    parts = ", ".join(f"'{c}' ({sub[c].nunique()} values)" for c in absorbed)
    return (f"{parts} entered as fixed effects (one intercept per value, absorbed rather than estimated): too "
            f"many values to enter as indicators (more than {MAX_INDICATOR_LEVELS}).")


def complete_rows(frame: pd.DataFrame, outcome: pd.Series, columns: list[str]) -> np.ndarray:
    """Rows with the outcome and every column present, column by column (a list lookup in a
    frame with text column labels costs more than the whole test)."""
    mask = outcome.notna().to_numpy()
    for col in dict.fromkeys(columns):
        present = frame[col].notna()          # a frame when the label is duplicated
        mask = mask & np.asarray(present).reshape(len(frame), -1).all(axis=1)
    return mask


def check_arms(n: int, t: np.ndarray, binary_treatment: bool, treatment: str) -> None:
    """Enough rows, and both arms (or a varying treatment), or a RoleError."""
    if n < 2 * MIN_PER_ARM:
        raise RoleError(f"Only {n} usable row(s): too few to estimate an effect.",
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
        raise RoleError(f"The treatment '{treatment}' does not vary.",
                        "Choose a treatment column that takes different values.", code="E-ROLE-003")


def read_only(values: np.ndarray | None) -> np.ndarray | None:
    """A read-only view: the arrays are shared by every method run on the Dataset, so none may
    change them in place (a view, so the frame's own buffers, if shared, stay as they were)."""
    if values is None:
        return None
    view = values.view()
    view.flags.writeable = False
    return view


# --------------------------------------------------------------------------
# resampled rows without a resampled frame (the bootstrap's fast path)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RowSampler:
    """``prepare`` on resampled rows of a frame, taken from the arrays prepared once on the whole frame.

    ``take(rows)`` returns what ``prepare`` would return on ``frame.take(rows)`` (rows may repeat),
    or None whenever that is not certain, and the caller then prepares the resampled frame as usual:
    a resample that leaves an arm with too few rows, loses a category level (prepare would pick
    another reference level), makes a column constant, or makes columns collinear. Complete cases,
    0/1 treatment codes and design columns are row-wise, so on every other resample the arrays are
    the same numbers. Only the arrays are reproduced; ``warnings`` is empty.
    """

    prep: Prepared
    binary_treatment: bool
    position: np.ndarray                  # frame row -> row of ``prep``; -1 when not a complete case
    dummy_groups: tuple[np.ndarray, ...]  # X columns of each categorical covariate with 3+ levels

    def take(self, rows: np.ndarray, cluster: np.ndarray | None = None) -> Prepared | None:
        """Resampled arrays for frame positions ``rows``; ``cluster`` relabels them (one label per row)."""
        full = self.prep
        position = self.position[rows]
        complete = position >= 0
        position = position[complete]
        t = full.t[position]
        if not has_both_arms(t, self.binary_treatment):
            return None
        # prepare's X is column-major (pandas' layout); keep it, so sums over rows round the same way
        X = np.take(full.X.T, position, axis=1).T
        if X.shape[1] and not self.same_columns(X):
            return None
        if cluster is not None:
            cluster = cluster[complete]
        elif full.cluster is not None:
            cluster = full.cluster[position]
        used = np.flatnonzero(complete)
        return Prepared(y=full.y[position], t=t, X=X, x_names=full.x_names, covariates=full.covariates,
                        cluster=cluster, weight=None if full.weight is None else full.weight[position],
                        index=pd.Index(used), n_dropped=int(rows.size - position.size), x_terms=full.x_terms,
                        rows=used)

    def same_columns(self, X: np.ndarray) -> bool:
        """Would prepare build exactly these columns on the resample (none left out, same dummies)?"""
        if np.any(X.max(axis=0) == X.min(axis=0)):
            return False
        # every level present: a dummy that varies shows its level; rows with all dummies 0 show the reference
        if any(not np.any(X[:, cols].sum(axis=1) == 0) for cols in self.dummy_groups):
            return False
        return len(independent_columns(X)) == X.shape[1]


def has_both_arms(t: np.ndarray, binary_treatment: bool) -> bool:
    """The conditions of ``check_arms``, as a test."""
    if t.size < 2 * MIN_PER_ARM:
        return False
    if binary_treatment:
        n1 = int(t.sum())
        return min(n1, int(t.size - n1)) >= MIN_PER_ARM
    return bool(np.nanstd(t) != 0)


def row_sampler(data: Dataset, roles: Roles, *, binary_treatment: bool = True) -> RowSampler | None:
    """A RowSampler for ``data``; None when resamples must be prepared from the frame: a covariate
    term was left out on the full data (a resample would start again from all terms), or the
    outcome is text read as numbers (prepare checks the share it can read on each resample)."""
    prep = prepare(data, roles, binary_treatment=binary_treatment)
    frame = data.frame
    if prep.x_dropped or prep.rows is None or not is_numeric_column(frame[roles.outcome]):
        return None
    position = np.full(len(frame), -1, dtype=np.int64)
    position[prep.rows] = np.arange(prep.n)
    terms = np.asarray(prep.x_terms, dtype=object)
    groups = tuple(np.flatnonzero(terms == col) for col in prep.covariates if not is_numeric_column(frame[col]))
    return RowSampler(prep, binary_treatment, position, tuple(g for g in groups if g.size > 1))
