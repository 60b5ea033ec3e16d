"""The entry point: :func:`infer_roles` runs the guessers in order on one shared state.

The order matters: the panel structure (time, unit, cohort) comes first because
adoption within units is evidence for the treatment; the treatment comes before
the running variable (where it switches) and the outcome (columns derived from
the treatment are not outcomes); the covariates come last, from what is left.
"""
from __future__ import annotations

import pandas as pd

from ..data import Dataset, as_dataset
from ..roles import Roles
from .guess_covariates import _infer_covariates
from .guess_extras import _infer_cluster, _infer_lat_lon, _infer_named_extras, _infer_weight
from .guess_instrument import _infer_instrument
from .guess_outcome import _infer_outcome
from .guess_panel import _infer_cohort, _infer_time, _infer_unit
from .guess_running import _infer_running
from .guess_treatment import _infer_treatment
from .leakage import _block_unusable
from .profile import _profile_frame
from .result import ROLE_ORDER, Mapping
from .state import _State


def infer_roles(data: Dataset | pd.DataFrame, *, fixed: Roles | None = None) -> Mapping:
    """Guess every role from column names and value patterns.

    ``fixed`` roles are the user's choices: they are kept as given, their
    columns are never reused for another role, and inference fills only the
    roles left empty.
    """
    dataset = as_dataset(data)
    frame = dataset.frame
    fixed = fixed or Roles()
    fixed.check_columns(frame)
    state = _State(frame=frame, profiles=_profile_frame(frame), fixed=fixed)
    _apply_fixed(state)
    _block_unusable(state)
    for step in (_infer_time, _infer_unit, _infer_cohort, _infer_weight, _infer_lat_lon, _infer_cluster,
                 _infer_treatment, _infer_running, _infer_outcome, _infer_instrument,
                 _infer_named_extras, _infer_covariates):
        step(state)
    return _finish(state)


def _apply_fixed(state: _State) -> None:
    for role in state.fixed.assigned():
        value = getattr(state.fixed, role)
        state.roles[role] = value
        state.confidence[role] = 1.0
        state.reasons[role] = "set by you"
        if isinstance(value, tuple):
            state.taken.update(value)
        elif isinstance(value, str) and value in state.profiles:
            state.taken.add(value)


def _finish(state: _State) -> Mapping:
    values = {k: v for k, v in state.roles.items() if v is not None and v != ()}
    roles = Roles(**values)
    order = {r: i for i, r in enumerate(ROLE_ORDER)}
    assigned = roles.assigned()
    confidence = {k: state.confidence[k] for k in sorted(state.confidence, key=lambda r: order.get(r, 99))
                  if k in assigned}
    reasons = {k: state.reasons[k] for k in sorted(state.reasons, key=lambda r: order.get(r, 99))
               if k in assigned}
    excluded = {k: v for k, v in state.excluded.items() if k not in roles.columns()}
    return Mapping(roles=roles, confidence=confidence, reasons=reasons, excluded=excluded,
                   candidates=dict(state.candidates))
